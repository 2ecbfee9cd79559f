#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Users' tables are theirs: every way ADQL can name a table is tried, as another user and
//! anonymously, on a table uploaded from a real Gaia DR3 answer; sharing opens exactly one
//! table to exactly one group; what a crash leaves behind is swept; all of it survives a
//! restart.

use skyglass_archive::{Archive, QueryError};

struct Data(std::path::PathBuf);

impl Drop for Data {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn gaia_source() -> skyglass_votable::TableData {
    let path = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let bytes = std::fs::read(path).unwrap();
    skyglass_archive::user_tables::read_upload(bytes, Some("votable")).unwrap()
}

async fn rows(archive: &Archive, caller: Option<&str>, adql: &str) -> Result<usize, QueryError> {
    archive.query_with_uploads(caller, adql, 1000, Vec::new()).await.map(|r| r.rows())
}

/// The ways a query can reach a table, each naming `table`.
fn reaching(table: &str) -> Vec<String> {
    vec![
        format!("SELECT * FROM {table}"),
        format!("SELECT h.hip FROM catalogs.hipparcos AS h JOIN {table} AS g ON h.hip = g.source_id"),
        format!("SELECT hip FROM catalogs.hipparcos WHERE hip IN (SELECT source_id FROM {table})"),
        format!("SELECT hip FROM catalogs.hipparcos WHERE EXISTS (SELECT 1 FROM {table})"),
        format!("WITH g AS (SELECT source_id FROM {table}) SELECT * FROM g"),
        format!("SELECT ra FROM catalogs.bsc5 UNION SELECT ra FROM {table}"),
        format!("SELECT * FROM (SELECT ra, dec FROM {table}) AS inner_table"),
        format!("SELECT COUNT(*) FROM {table}"),
    ]
}

#[test]
fn another_users_table_is_unreachable_until_shared() {
    let data = Data(std::env::temp_dir().join(format!("skyglass-access-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&data.0);
    runtime().block_on(async {
        let archive = Archive::open(&data.0).await.unwrap();
        archive.ensure_samples().await.unwrap();
        for (name, password) in [("alice", "alice password"), ("bob", "bobby password"), ("carol", "carol password")] {
            archive.add_user(name, password).unwrap();
        }
        let report =
            archive.upload_table("alice", "gaia_star", &gaia_source(), "A Gaia DR3 source", None).await.unwrap();
        assert_eq!(report.rows, 1);
        assert_eq!(report.position, Some(("ra".to_owned(), "dec".to_owned())), "positions found by UCD");

        // Alice reaches her table every way; bob and anonymous by none, and are told just
        // what they are told of a table that does not exist.
        for (own, missing) in reaching("user_alice.gaia_star").iter().zip(reaching("user_alice.no_such_table")) {
            assert!(rows(&archive, Some("alice"), own).await.is_ok(), "alice: {own}");
            for caller in [Some("bob"), None] {
                let hidden = rows(&archive, caller, own).await.expect_err(own).to_string();
                let absent = rows(&archive, caller, &missing).await.expect_err(&missing).to_string();
                assert_eq!(hidden.replace("gaia_star", "X"), absent.replace("no_such_table", "X"), "{caller:?}: {own}");
                assert!(hidden.contains("not found"), "{hidden}");
            }
        }
        let quoted = r#"SELECT * FROM "user_alice"."gaia_star""#;
        assert!(rows(&archive, Some("bob"), quoted).await.is_err());
        // The metadata tells nothing either.
        let metadata = "SELECT table_name FROM TAP_SCHEMA.tables WHERE table_name LIKE 'user_%'";
        assert_eq!(rows(&archive, Some("alice"), metadata).await.unwrap(), 1);
        assert_eq!(rows(&archive, Some("bob"), metadata).await.unwrap(), 0);
        assert_eq!(rows(&archive, None, metadata).await.unwrap(), 0);
        let columns = "SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = 'user_alice.gaia_star'";
        assert_eq!(rows(&archive, Some("bob"), columns).await.unwrap(), 0);
        let listed = |caller: Option<&str>| {
            archive.tables_for(caller).unwrap().iter().map(|t| t.qualified()).collect::<Vec<_>>()
        };
        assert!(listed(Some("alice")).contains(&"user_alice.gaia_star".to_owned()));
        assert!(!listed(Some("bob")).iter().any(|t| t.starts_with("user_alice")));
        assert!(!listed(None).iter().any(|t| t.starts_with("user_")));
        // Nor does the crossmatch service read it for them, or write into alice's schema.
        let steal =
            "SELECT crossmatch_positional('user_alice','gaia_star','catalogs','hipparcos',5,'stolen') FROM dual";
        let refused = rows(&archive, Some("bob"), steal).await.unwrap_err().to_string();
        assert!(refused.contains("no table user_alice.gaia_star"), "{refused}");
        assert!(archive.upload_table("bob", "user_alice.mine", &gaia_source(), "", None).await.is_err());
        assert!(archive.delete_user_table("bob", "user_alice.gaia_star").await.is_err());

        // Shared with a group bob is in: bob reads it, carol and anonymous still do not.
        let group = archive.create_group("alice", "observers", "Night shift").unwrap();
        archive.update_group("alice", group, "observers", "Night shift", Some(&["bob".to_owned()])).unwrap();
        assert!(archive.update_group("bob", group, "mine now", "", None).is_err(), "only its owner changes a group");
        let table = archive.user_table_name("alice", "gaia_star").unwrap();
        let item = archive.share_table("alice", &table, "for the night", &[group]).unwrap();
        for query in reaching("user_alice.gaia_star") {
            assert!(rows(&archive, Some("bob"), &query).await.is_ok(), "bob, shared: {query}");
            assert!(rows(&archive, Some("carol"), &query).await.is_err(), "carol: {query}");
            assert!(rows(&archive, None, &query).await.is_err(), "anonymous: {query}");
        }
        assert_eq!(rows(&archive, Some("bob"), metadata).await.unwrap(), 1);
        assert!(archive.stop_sharing("bob", item).is_err(), "only the owner stops sharing");
        // Out of the group, out of the table; back in, back in.
        archive.update_group("alice", group, "observers", "Night shift", Some(&[])).unwrap();
        assert!(rows(&archive, Some("bob"), "SELECT * FROM user_alice.gaia_star").await.is_err());
        archive.update_group("alice", group, "observers", "Night shift", Some(&["bob".to_owned()])).unwrap();

        // What a crash mid-upload leaves (a table file no metadata names, an unfinished write)
        // is swept when the archive opens again; everything else survives the restart.
        drop(archive);
        let schema = data.0.join("tables/user_alice");
        std::fs::copy(schema.join("gaia_star.parquet"), schema.join("half.parquet")).unwrap();
        std::fs::write(schema.join("next.parquet.partial"), b"PAR1 cut short").unwrap();
        let archive = Archive::open(&data.0).await.unwrap();
        assert!(!schema.join("half.parquet").exists() && !schema.join("next.parquet.partial").exists());
        assert!(!archive.tables_for(Some("alice")).unwrap().iter().any(|t| t.name == "half"));
        assert_eq!(rows(&archive, Some("bob"), "SELECT * FROM user_alice.gaia_star").await.unwrap(), 1);
        assert_eq!(archive.groups_for("bob").unwrap()[0].title, "observers");

        // Renaming ends the sharing under the old name; stopping it closes the table again.
        archive.rename_user_table("alice", "gaia_star", "star").await.unwrap();
        assert_eq!(rows(&archive, Some("alice"), "SELECT * FROM user_alice.star").await.unwrap(), 1);
        assert!(rows(&archive, Some("bob"), "SELECT * FROM user_alice.star").await.is_err());
        let star = archive.user_table_name("alice", "star").unwrap();
        let item = archive.share_table("alice", &star, "", &[group]).unwrap();
        assert!(rows(&archive, Some("bob"), "SELECT * FROM user_alice.star").await.is_ok());
        archive.stop_sharing("alice", item).unwrap();
        assert!(rows(&archive, Some("bob"), "SELECT * FROM user_alice.star").await.is_err());
        // Shared, deleted, uploaded again under the name: the new table starts unshared.
        archive.share_table("alice", &star, "", &[group]).unwrap();
        archive.delete_user_table("alice", "star").await.unwrap();
        assert!(!schema.join("star.parquet").exists());
        archive.upload_table("alice", "star", &gaia_source(), "", None).await.unwrap();
        assert!(rows(&archive, Some("bob"), "SELECT * FROM user_alice.star").await.is_err());
        assert!(archive.shared_items("alice").unwrap().is_empty());
        archive.delete_user_table("alice", "star").await.unwrap();

        // A removed user takes their tables and groups along: a later namesake finds none.
        archive.upload_table("alice", "kept", &gaia_source(), "", None).await.unwrap();
        archive.share_table("alice", &archive.user_table_name("alice", "kept").unwrap(), "", &[group]).unwrap();
        archive.remove_user("alice").await.unwrap();
        assert!(archive.groups_for("bob").unwrap().is_empty());
        assert!(!schema.join("kept.parquet").exists());
        archive.add_user("alice", "another password").unwrap();
        assert!(archive.user_tables_of("alice").unwrap().is_empty());
        assert!(rows(&archive, Some("alice"), "SELECT * FROM user_alice.kept").await.is_err());
    });
}

#[test]
fn table_names_are_plain_identifiers_in_the_users_own_schema() {
    let data = Data(std::env::temp_dir().join(format!("skyglass-access-names-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&data.0);
    runtime().block_on(async {
        let archive = Archive::open(&data.0).await.unwrap();
        archive.add_user("alice", "alice password").unwrap();
        for bad in ["../../etc/passwd", "a/b", "x; DROP TABLE tables", "t\"", "", "1table", "tap_schema.tables"] {
            let refused = archive.upload_table("alice", bad, &gaia_source(), "", None).await;
            assert!(refused.is_err(), "{bad:?} was taken");
        }
        assert!(archive.user_tables_of("alice").unwrap().is_empty());
        assert!(!data.0.join("etc").exists());
        // A qualified name of one's own schema is the same name.
        archive.upload_table("alice", "user_alice.Stars", &gaia_source(), "", None).await.unwrap();
        assert_eq!(archive.user_tables_of("alice").unwrap()[0].qualified(), "user_alice.stars");
        let again = archive.upload_table("alice", "stars", &gaia_source(), "", None).await.unwrap_err();
        assert!(again.to_string().contains("already"), "{again}");
        // The quota on the count of tables, as the capabilities state it, for uploads and
        // crossmatch results alike.
        let most = skyglass_archive::quota::PER_USER.tables;
        for n in 1..most {
            archive.upload_table("alice", &format!("t{n}"), &gaia_source(), "", None).await.unwrap();
        }
        let over = archive.upload_table("alice", "one_too_many", &gaia_source(), "", None).await.unwrap_err();
        assert!(over.to_string().contains(&format!("{most} tables")), "{over}");
        assert_eq!(archive.usage("alice").unwrap().tables, most);
        let crossmatch = |result: &str| {
            format!("SELECT crossmatch_positional('user_alice','t1','user_alice','t2',1,'{result}') FROM dual")
        };
        let over = rows(&archive, Some("alice"), &crossmatch("pairs")).await.unwrap_err();
        assert!(over.to_string().contains(&format!("{most} tables")), "{over}");
        // Anonymous callers share the results schema, held to the same count.
        for n in 0..most {
            let table = skyglass_archive::TableName::parse(&format!("results.r{n}")).unwrap();
            archive.ingest(&gaia_source(), &table, &skyglass_archive::IngestOptions::default()).await.unwrap();
        }
        let public = "SELECT crossmatch_positional('results','r1','results','r2',1,'more') FROM dual";
        let over = rows(&archive, None, public).await.unwrap_err();
        assert!(over.to_string().contains("log in"), "{over}");
    });
}

#[test]
fn uploads_come_as_votable_csv_fits_or_parquet() {
    let data = Data(std::env::temp_dir().join(format!("skyglass-access-formats-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&data.0);
    let shared = skyglass_test_support::shared_data();
    let csv = std::fs::read(shared.join("votable/astroquery/esa/1714556098855O-result.csv")).unwrap();
    let fits = std::fs::read(shared.join("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits")).unwrap();
    let mut parquet = Vec::new();
    skyglass_votable::write_table(&mut parquet, &gaia_source(), skyglass_votable::TableFormat::Parquet, Vec::new())
        .unwrap();
    let mut gzipped = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut gzipped,
        &std::fs::read(shared.join("votable/astroquery/esa/1714556098855O-result.vot")).unwrap(),
    )
    .unwrap();
    let gzipped = gzipped.finish().unwrap();
    let gzipped_again = gzipped.clone();
    runtime().block_on(async {
        let archive = Archive::open(&data.0).await.unwrap();
        archive.add_user("alice", "alice password").unwrap();
        // The format named, or found from the bytes when it is not.
        for (name, bytes, format) in [
            ("from_csv", csv.clone(), Some("csv")),
            ("sniffed_csv", csv, None),
            ("from_parquet", parquet, None),
            ("from_gzip", gzipped, None),
        ] {
            let table = skyglass_archive::user_tables::read_upload(bytes, format).unwrap();
            archive.upload_table("alice", name, &table, "", None).await.unwrap();
            let found = archive
                .query_with_uploads(
                    Some("alice"),
                    &format!("SELECT source_id, ra FROM user_alice.{name}"),
                    10,
                    Vec::new(),
                )
                .await
                .unwrap();
            assert_eq!(found.rows(), 1, "{name}");
        }
        let eve = skyglass_archive::user_tables::read_upload(fits, None).unwrap();
        let rows: usize = eve.batches.iter().map(|b| b.num_rows()).sum();
        let report = archive.upload_table("alice", "eve", &eve, "SDO/EVE ESP", None).await.unwrap();
        assert_eq!(report.rows as usize, rows);
        assert_eq!(report.position, None, "a light curve has no positions");
        // Its owner plots it through /timeseries; another user finds no such table.
        archive.add_user("bob", "bobby password").unwrap();
        let series = skyglass_archive::timeseries::SeriesRequest {
            table: archive.user_table_name("alice", "eve").unwrap(),
            x: "sod".to_owned(),
            y: vec!["qd".to_owned()],
            start: None,
            end: None,
            width: 100,
            method: skyglass_archive::timeseries::Method::MinMaxLttb,
        };
        let plotted = archive.timeseries(&series, Some("alice")).await.unwrap();
        assert_eq!(plotted.rows as usize, rows);
        let hidden = archive.timeseries(&series, Some("bob")).await.unwrap_err().to_string();
        assert!(hidden.contains("no table user_alice.eve"), "{hidden}");
        // Gzip within gzip is no table.
        let mut twice = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut twice, &gzipped_again).unwrap();
        assert!(skyglass_archive::user_tables::read_upload(twice.finish().unwrap(), None).is_err());
        // Bytes that are no table are refused with the reason, and nothing is kept.
        let refused = skyglass_archive::user_tables::read_upload(b"SIMPLE  = T\nnot a FITS file".to_vec(), None);
        assert!(refused.is_err());
        assert_eq!(archive.user_tables_of("alice").unwrap().len(), 5);
    });
}

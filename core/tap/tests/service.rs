#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The TAP client against a real service: the archive server with its sample catalogues,
//! started here on a free port, and STILTS's tapquery asked the same as the anchor.

use arrow_array::Array;
use skyglass_tap::{Query, TapError, TapService, Upload};
use std::sync::Arc;
use std::time::Duration;

struct Running {
    base: String,
    _runtime: tokio::runtime::Runtime,
    data: std::path::PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn archive() -> Running {
    let data = std::env::temp_dir().join(format!("skyglass-tapclient-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let address = runtime.block_on(async {
        let archive = skyglass_archive::Archive::open(&data).await.unwrap();
        archive.ensure_samples().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = skyglass_archive::http::router(Arc::new(archive)).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    Running { base: format!("http://{address}/tap"), _runtime: runtime, data }
}

fn ints(answer: &skyglass_tap::Answer, column: &str) -> Vec<i64> {
    let index = answer.table.schema.index_of(column).unwrap();
    answer
        .table
        .batches
        .iter()
        .flat_map(|batch| {
            let cast = arrow_cast::cast(batch.column(index), &arrow_schema::DataType::Int64).unwrap();
            let values = cast.as_any().downcast_ref::<arrow_array::Int64Array>().unwrap().clone();
            (0..values.len()).map(move |i| values.value(i))
        })
        .collect()
}

#[test]
fn queries_run_sync_and_async_with_uploads_limits_and_errors() {
    let running = archive();
    let service = TapService::new(&running.base).unwrap();
    let query = |adql| Query { adql, maxrec: None, uploads: &[] };

    // Sync: the same stars as STILTS's tapquery on the same service.
    let adql = "SELECT TOP 7 hip, ra, dec FROM catalogs.hipparcos WHERE dec > 80 ORDER BY hip";
    let ours = service.sync(&query(adql)).unwrap();
    assert!(!ours.overflow);
    let theirs = skyglass_test_support::stilts(&[
        "tapquery",
        &format!("tapurl={}", running.base),
        &format!("adql={adql}"),
        "ofmt=csv",
    ]);
    let stilts_hips: Vec<i64> = theirs.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(ints(&ours, "hip"), stilts_hips);
    assert_eq!(stilts_hips.len(), 7);

    // MAXREC: cut, and said so.
    let limited =
        service.sync(&Query { adql: "SELECT hip FROM catalogs.hipparcos", maxrec: Some(10), uploads: &[] }).unwrap();
    assert_eq!(ints(&limited, "hip").len(), 10);
    assert!(limited.overflow);

    // Async: submitted, waited for, read, deleted.
    let job = service.submit(&query("SELECT COUNT(*) AS n FROM catalogs.hipparcos")).unwrap();
    assert_eq!(job.wait(Duration::from_secs(60)).unwrap(), "COMPLETED");
    assert_eq!(ints(&job.result().unwrap(), "n"), [117_955]);
    job.delete().unwrap();
    assert!(job.result().is_err(), "a deleted job has no result");

    // A failing job: the service's message, not a bare status.
    let failing = service.submit(&query("SELECT nothing FROM catalogs.hipparcos")).unwrap();
    assert_eq!(failing.wait(Duration::from_secs(60)).unwrap(), "ERROR");
    match failing.result() {
        Err(TapError::Service(message)) => assert!(message.contains("nothing"), "{message}"),
        other => panic!("{:?}", other.map(|a| a.table.batches.len())),
    }

    // An upload: a local table queried as TAP_UPLOAD.mine, joined with a catalogue.
    let file = skyglass_test_support::shared_file("votable/astroquery/esa/1714556098855O-result.vot");
    let upload = Upload::from_file("mine", &file).unwrap();
    let counted = service
        .sync(&Query {
            adql: "SELECT COUNT(*) AS n FROM TAP_UPLOAD.mine",
            maxrec: None,
            uploads: std::slice::from_ref(&upload),
        })
        .unwrap();
    let local = skyglass_votable::read_table(
        std::io::BufReader::new(std::fs::File::open(&file).unwrap()),
        skyglass_votable::TableFormat::VoTable,
    )
    .unwrap();
    let rows: usize = local.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(ints(&counted, "n"), [rows as i64]);

    // Errors: bad ADQL in the service's words; a table that is not there.
    match service.sync(&query("SELECT ra FROM catalogs.hipparcos WHERE")) {
        Err(TapError::Service(message)) => assert!(!message.is_empty()),
        other => panic!("{:?}", other.map(|a| a.overflow)),
    }
    match service.sync(&query("SELECT * FROM catalogs.nothing")) {
        Err(TapError::Service(message)) => assert!(message.contains("nothing"), "{message}"),
        other => panic!("{:?}", other.map(|a| a.overflow)),
    }

    // VOSI capabilities: ADQL 2.0 and 2.1, the formats, uploads, the row limits.
    let capabilities = service.capabilities().unwrap();
    assert_eq!(capabilities.languages, [("ADQL".to_owned(), vec!["2.0".to_owned(), "2.1".to_owned()])]);
    assert!(capabilities.output_formats.iter().any(|f| f == "application/x-votable+xml"));
    assert!(capabilities.upload_methods.iter().any(|m| m.ends_with("#upload-inline")));
    let (default, most) = (capabilities.default_rows.unwrap(), capabilities.most_rows.unwrap());
    assert!(default > 0 && default <= most, "{default} {most}");
    assert!(capabilities.upload_limit.unwrap() > 1 << 20);

    // VOSI tables: names, units and UCDs.
    let tables = service.tables().unwrap();
    let hipparcos = tables.iter().find(|t| t.name == "catalogs.hipparcos").expect("catalogs.hipparcos");
    assert_eq!(hipparcos.schema, "catalogs");
    let ra = hipparcos.columns.iter().find(|c| c.name == "ra").unwrap();
    assert_eq!((ra.unit.as_str(), ra.ucd.as_str()), ("deg", "pos.eq.ra;meta.main"));
}

#[test]
fn a_dead_service_or_a_wrong_url_is_a_clear_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tap", closed.local_addr().unwrap());
    drop(closed);
    let service = TapService::new(&url).unwrap();
    let error = service.sync(&Query { adql: "SELECT 1", maxrec: None, uploads: &[] }).err().unwrap();
    assert!(matches!(error, TapError::Unreachable { .. }), "{error}");
    // Said so that a user knows what to check, not as the network library's chain.
    let port = url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/tap");
    assert!(error.to_string().contains(&format!("nothing answers at 127.0.0.1:{port}")), "{error}");
    assert!(TapService::new("ftp://example.org/tap").is_err());
}

/// The archive with a user who has a table (a real Gaia DR3 source), served as it is, and,
/// when `form` is false, with its login forms answering 404 (a service that takes HTTP
/// Basic only).
fn archive_with_user(form: bool) -> Running {
    let data = std::env::temp_dir().join(format!("skyglass-tapclient-login-{form}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let address = runtime.block_on(async {
        let archive = skyglass_archive::Archive::open(&data).await.unwrap();
        archive.add_user("alice", "alice password").unwrap();
        let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
        let table = skyglass_archive::user_tables::read_upload(std::fs::read(gaia).unwrap(), None).unwrap();
        archive.upload_table("alice", "star", &table, "", None).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut app = skyglass_archive::http::router(Arc::new(archive)).unwrap();
        if !form {
            app = app.layer(axum::middleware::from_fn(
                |request: axum::extract::Request, next: axum::middleware::Next| async move {
                    if request.uri().path().ends_with("/login") {
                        return axum::response::IntoResponse::into_response(axum::http::StatusCode::NOT_FOUND);
                    }
                    next.run(request).await
                },
            ));
        }
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    Running { base: format!("http://{address}/tap-server/tap"), _runtime: runtime, data }
}

#[test]
fn a_logged_in_client_reads_its_users_tables_sync_and_async() {
    for form in [true, false] {
        let running = archive_with_user(form);
        let mut service = TapService::new(&running.base).unwrap();
        let query = Query { adql: "SELECT source_id FROM user_alice.star", maxrec: None, uploads: &[] };
        let Err(hidden) = service.sync(&query) else { panic!("an anonymous client read alice's table") };
        assert!(matches!(&hidden, TapError::Service(m) if m.contains("not found")), "{hidden}");

        // Refused through the form, or, as Basic credentials, by the request that checks them.
        let wrong = service.log_in("alice", "not her password");
        assert!(matches!(&wrong, Err(TapError::Login { message, .. }) if message.contains("wrong")), "{wrong:?}");
        assert!(!service.is_logged_in());
        service.log_in("alice", "alice password").unwrap();
        assert!(service.is_logged_in());
        assert_eq!(ints(&service.sync(&query).unwrap(), "source_id"), vec![5_929_246_508_730_155_392], "form {form}");
        // The job's every request (phase, wait, result) carries the login too.
        let job = service.submit(&query).unwrap();
        assert_eq!(job.wait(Duration::from_secs(60)).unwrap(), "COMPLETED");
        assert_eq!(ints(&job.result().unwrap(), "source_id"), vec![5_929_246_508_730_155_392]);
        assert!(service.tables().unwrap().iter().any(|t| t.name == "user_alice.star"));
        // A table kept in her space (TAP+ Upload) is queried like the others.
        let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
        let kept = service.keep_table(&Upload::from_file("kept", &gaia).unwrap(), "a copy").unwrap();
        assert!(kept.contains("user_alice.kept (1 rows)"), "{kept}");
        let again = Query { adql: "SELECT source_id FROM user_alice.kept", maxrec: None, uploads: &[] };
        assert_eq!(ints(&service.sync(&again).unwrap(), "source_id"), vec![5_929_246_508_730_155_392]);
        let anonymous = TapService::new(&running.base).unwrap();
        assert!(anonymous.keep_table(&Upload::from_file("kept2", &gaia).unwrap(), "").is_err());
    }
}

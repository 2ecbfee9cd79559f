#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The TAP service end to end over a loopback socket: a fresh archive with its sample
//! catalogues, queried as clients query it.

use skyglass_archive::Archive;
use std::net::SocketAddr;
use std::sync::Arc;

struct Service {
    base: String,
    _runtime: tokio::runtime::Runtime,
    data: std::path::PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn start(name: &str) -> Service {
    let data = std::env::temp_dir().join(format!("skyglass-tap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let address: SocketAddr = runtime.block_on(async {
        let archive = Archive::open(&data).await.unwrap();
        archive.ensure_samples().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = skyglass_archive::tap::router(Arc::new(archive));
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    Service { base: format!("http://{address}/tap"), _runtime: runtime, data }
}

fn sync(service: &Service, params: &[(&str, &str)]) -> (u16, String) {
    let client = reqwest::blocking::Client::new();
    let response = client.post(format!("{}/sync", service.base)).form(params).send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn csv(service: &Service, adql: &str) -> Vec<Vec<String>> {
    let (status, body) = sync(service, &[("LANG", "ADQL"), ("QUERY", adql), ("RESPONSEFORMAT", "csv")]);
    assert_eq!(status, 200, "{adql}: {body}");
    body.lines().skip(1).map(|line| line.split(',').map(str::to_owned).collect()).collect()
}

/// Stars of the bundled Hipparcos within `radius` degrees of (ra, dec), by brute force
/// with astropy over the same file.
fn astropy_count(ra: f64, dec: f64, radius: f64) -> usize {
    let script = format!(
        "import gzip, io\n\
         from astropy.io.votable import parse_single_table\n\
         from astropy.coordinates import SkyCoord\n\
         import astropy.units as u\n\
         t = parse_single_table(io.BytesIO(gzip.open('{}').read())).to_table()\n\
         c = SkyCoord(t['ra'], t['dec'], unit='deg')\n\
         print(int((c.separation(SkyCoord({ra}, {dec}, unit='deg')) <= {radius} * u.deg).sum()))",
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/catalogs/hipparcos.vot.gz").display()
    );
    let output = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap()
}

#[test]
fn a_fresh_archive_serves_its_samples_and_answers_cone_searches_like_astropy() {
    let service = start("cone");
    let tables: Vec<String> =
        csv(&service, "SELECT table_name FROM TAP_SCHEMA.tables").into_iter().map(|r| r[0].clone()).collect();
    for expected in ["catalogs.hipparcos", "catalogs.openngc", "catalogs.bsc5", "TAP_SCHEMA.columns"] {
        assert!(tables.iter().any(|t| t == expected), "{expected} missing from {tables:?}");
    }
    let rows = csv(&service, "SELECT COUNT(*) FROM catalogs.hipparcos");
    assert_eq!(rows[0][0], "117955");
    for (ra, dec, radius) in [(83.82, -5.39, 1.0), (10.68, 41.27, 2.5), (0.0, 89.5, 3.0), (180.0, -30.0, 0.5)] {
        let adql = format!(
            "SELECT COUNT(*) FROM catalogs.hipparcos \
             WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, {radius}))"
        );
        let ours: usize = csv(&service, &adql)[0][0].parse().unwrap();
        assert_eq!(ours, astropy_count(ra, dec, radius), "cone at ({ra}, {dec}) r={radius}");
    }
    // Units (as astropy wrote them, in VOUnit form), UCDs and descriptions reach the
    // result's FIELDs and TAP_SCHEMA.
    let (_, votable) = sync(&service, &[("LANG", "ADQL"), ("QUERY", "SELECT TOP 1 ra, plx FROM catalogs.hipparcos")]);
    assert!(votable.contains(r#"<FIELD name="plx" datatype="float" unit="mas" ucd="pos.parallax.trig""#), "{votable}");
    let columns = csv(
        &service,
        "SELECT column_name, unit FROM TAP_SCHEMA.columns \
         WHERE table_name = 'catalogs.hipparcos' AND column_name = 'pmra'",
    );
    assert_eq!(columns, vec![vec!["pmra".to_owned(), "mas.yr**-1".to_owned()]]);
}

#[test]
fn maxrec_cuts_results_with_the_overflow_marker() {
    let service = start("maxrec");
    let query = [("LANG", "ADQL"), ("QUERY", "SELECT hip FROM catalogs.hipparcos")];
    let (status, body) = sync(&service, &[query[0], query[1], ("MAXREC", "5")]);
    assert_eq!(status, 200);
    assert_eq!(body.matches("<TR>").count(), 5);
    assert!(body.contains(r#"<INFO name="QUERY_STATUS" value="OVERFLOW"/>"#), "{body}");
    let (_, body) =
        sync(&service, &[("LANG", "ADQL"), ("QUERY", "SELECT TOP 3 hip FROM catalogs.hipparcos"), ("MAXREC", "5")]);
    assert!(!body.contains("OVERFLOW"), "{body}");
    let (_, body) = sync(&service, &[query[0], query[1], ("MAXREC", "0")]);
    assert!(body.contains("<FIELD name=\"hip\"") && !body.contains("<TR>"), "MAXREC=0 gives the metadata only");
}

#[test]
fn bad_requests_get_error_documents_and_the_service_stays_up() {
    let service = start("errors");
    for (params, expected) in [
        (vec![("LANG", "ADQL"), ("QUERY", "SELEC hip FROM catalogs.hipparcos")], "syntax error"),
        (vec![("LANG", "ADQL"), ("QUERY", "SELECT nope FROM catalogs.hipparcos")], "nope"),
        (vec![("LANG", "ADQL"), ("QUERY", "SELECT * FROM catalogs.nothing")], "nothing"),
        (vec![("LANG", "ADQL"), ("QUERY", "DELETE FROM catalogs.hipparcos")], "only SELECT"),
        (vec![("LANG", "SQL"), ("QUERY", "SELECT 1")], "LANG=SQL"),
        (vec![("LANG", "ADQL")], "QUERY is missing"),
        (vec![("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("MAXREC", "-4")], "MAXREC=-4"),
        (vec![("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("RESPONSEFORMAT", "pdf")], "RESPONSEFORMAT=pdf"),
    ] {
        let (status, body) = sync(&service, &params);
        assert_eq!(status, 400, "{params:?}: {body}");
        assert!(
            body.contains(r#"<INFO name="QUERY_STATUS" value="ERROR">"#) && body.contains(expected),
            "{params:?}: {body}"
        );
    }
    // Still answering.
    assert_eq!(csv(&service, "SELECT COUNT(*) FROM catalogs.bsc5")[0][0], "9096");
}

#[test]
fn results_come_in_every_format() {
    let service = start("formats");
    let adql = "SELECT TOP 4 hr, name, vmag FROM catalogs.bsc5 ORDER BY vmag";
    for (format, marker) in [
        ("votable", "<TABLEDATA>"),
        ("votable/b2", "<BINARY2>"),
        ("csv", "hr,name,vmag"),
        ("tsv", "hr\tname\tvmag"),
        ("text/csv", "hr,name,vmag"),
    ] {
        let (status, body) = sync(&service, &[("LANG", "ADQL"), ("QUERY", adql), ("RESPONSEFORMAT", format)]);
        assert_eq!(status, 200, "{format}: {body}");
        assert!(body.contains(marker), "{format}: {body}");
    }
    let client = reqwest::blocking::Client::new();
    let parquet = client
        .get(format!("{}/sync", service.base))
        .query(&[("LANG", "ADQL"), ("QUERY", adql), ("RESPONSEFORMAT", "parquet")])
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    // Sirius (alpha CMa) is the brightest star of the catalogue.
    let brightest = csv(&service, adql);
    assert!(brightest[0][1].contains("Alp CMa"), "{brightest:?}");
}

#[test]
fn vosi_resources_describe_the_service() {
    let service = start("vosi");
    let get = |path: &str| reqwest::blocking::get(format!("{}/{path}", service.base)).unwrap().text().unwrap();
    assert!(get("availability").contains("<vosi:available>true</vosi:available>"));
    let capabilities = get("capabilities");
    assert!(capabilities.contains("ivo://ivoa.net/std/ADQL#v2.1") && capabilities.contains("<hard unit=\"row\">"));
    let tables = get("tables");
    assert!(
        tables.contains("<name>catalogs.hipparcos</name>") && tables.contains("<unit>mas.yr**-1</unit>"),
        "{tables}"
    );
}

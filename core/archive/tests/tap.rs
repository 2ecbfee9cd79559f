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

/// The service as `skyglass serve` runs it on loopback (uploads by URL from local hosts).
fn start(name: &str) -> Service {
    start_with(name, skyglass_archive::http::Options { private_fetches: true, ..Default::default() })
}

fn start_with(name: &str, options: skyglass_archive::http::Options) -> Service {
    let data = std::env::temp_dir().join(format!("skyglass-tap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (runtime, base) = start_on(&data, options);
    Service { base, _runtime: runtime, data }
}

/// The service on an archive in `data` (kept), on a free loopback port: the runtime that
/// runs it, and its TAP base URL.
fn start_on(data: &std::path::Path, options: skyglass_archive::http::Options) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let address: SocketAddr = runtime.block_on(async {
        let archive = Archive::open(data).await.unwrap();
        archive.ensure_samples().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = skyglass_archive::http::router_with(Arc::new(archive), options).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    (runtime, format!("http://{address}/tap"))
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
    // Bodies over the 16 MiB limit, as a form (with and without a declared length), as a
    // multipart upload and as a job's new parameters.
    let client = reqwest::blocking::Client::new();
    let huge = format!("LANG=ADQL&QUERY=SELECT%201%20--{}", "x".repeat(17 << 20));
    let form = client
        .post(format!("{}/sync", service.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge.clone())
        .send()
        .unwrap();
    let streamed = client
        .post(format!("{}/sync", service.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(huge.clone().into_bytes())))
        .send()
        .unwrap();
    let multipart = client
        .post(format!("{}/sync", service.base))
        .multipart(
            reqwest::blocking::multipart::Form::new()
                .text("LANG", "ADQL")
                .text("QUERY", "SELECT * FROM TAP_UPLOAD.big")
                .text("UPLOAD", "big,param:big")
                .part("big", reqwest::blocking::multipart::Part::bytes(vec![b'x'; 17 << 20]).file_name("big.xml")),
        )
        .send()
        .unwrap();
    let job = client
        .post(format!("{}/async", service.base))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT 1")])
        .send()
        .unwrap()
        .url()
        .to_string();
    let parameters = client
        .post(format!("{job}/parameters"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .unwrap();
    for (what, response) in [("form", form), ("streamed", streamed), ("multipart", multipart), ("job", parameters)] {
        assert_eq!(response.status().as_u16(), 413, "{what}");
        let body = response.text().unwrap();
        assert!(body.contains(r#"value="ERROR">the request is larger than the 16 MiB"#), "{what}: {body}");
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
    let (status, json) = sync(&service, &[("LANG", "ADQL"), ("QUERY", adql), ("RESPONSEFORMAT", "json")]);
    assert_eq!(status, 200, "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["metadata"][2]["name"], "vmag");
    assert_eq!(json["metadata"][2]["unit"], "mag");
    assert_eq!(json["data"].as_array().unwrap().len(), 4);
    assert!(json["data"][0][2].as_f64().unwrap() < -1.0, "Sirius's V magnitude: {}", json["data"][0]);
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

fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn location(response: &reqwest::blocking::Response) -> String {
    assert_eq!(response.status().as_u16(), 303, "UWS answers a POST with 303 See Other");
    response.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned()
}

fn tag(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<uws:{name}>"))? + name.len() + 6;
    let end = xml[start..].find('<')? + start;
    Some(xml[start..end].to_owned())
}

#[test]
fn asynchronous_jobs_run_wait_and_keep_their_results() {
    let service = start("async");
    let client = no_redirects();
    let created = client
        .post(format!("{}/async", service.base))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT TOP 7 hr FROM catalogs.bsc5 ORDER BY hr"), ("RUNID", "mine")])
        .send()
        .unwrap();
    let job_url = location(&created);
    let job = client.get(&job_url).send().unwrap().text().unwrap();
    assert_eq!(tag(&job, "phase").as_deref(), Some("PENDING"), "{job}");
    assert_eq!(tag(&job, "runId").as_deref(), Some("mine"));
    // Limits can change while PENDING.
    let changed =
        client.post(format!("{job_url}/executionduration")).form(&[("EXECUTIONDURATION", "30")]).send().unwrap();
    location(&changed);
    assert_eq!(client.get(format!("{job_url}/executionduration")).send().unwrap().text().unwrap(), "30");

    location(&client.post(format!("{job_url}/phase")).form(&[("PHASE", "RUN")]).send().unwrap());
    // WAIT blocks until the job leaves its active phases.
    let finished = client.get(format!("{job_url}?WAIT=30")).send().unwrap().text().unwrap();
    assert_eq!(tag(&finished, "phase").as_deref(), Some("COMPLETED"), "{finished}");
    assert!(tag(&finished, "startTime").is_some() && tag(&finished, "endTime").is_some());
    let result = client.get(format!("{job_url}/results/result")).send().unwrap().text().unwrap();
    assert_eq!(result.matches("<TR>").count(), 7, "{result}");
    assert_eq!(client.get(format!("{job_url}/phase")).send().unwrap().text().unwrap(), "COMPLETED");
    // Running a finished job again is refused.
    let again = client.post(format!("{job_url}/phase")).form(&[("PHASE", "RUN")]).send().unwrap();
    assert_eq!(again.status().as_u16(), 400);

    // A failing query ends in ERROR with its reason.
    let bad = client
        .post(format!("{}/async", service.base))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT nope FROM catalogs.bsc5"), ("PHASE", "RUN")])
        .send()
        .unwrap();
    let bad_url = location(&bad);
    let failed = client.get(format!("{bad_url}?WAIT=30")).send().unwrap().text().unwrap();
    assert_eq!(tag(&failed, "phase").as_deref(), Some("ERROR"), "{failed}");
    assert!(client.get(format!("{bad_url}/error")).send().unwrap().text().unwrap().contains("nope"));

    // The job list, filtered.
    let list = client.get(format!("{}/async?PHASE=ERROR", service.base)).send().unwrap().text().unwrap();
    assert_eq!(list.matches("<uws:jobref").count(), 1, "{list}");
    let last = client.get(format!("{}/async?LAST=1", service.base)).send().unwrap().text().unwrap();
    assert!(last.contains(bad_url.rsplit('/').next().unwrap()), "{last}");
    let after =
        client.get(format!("{}/async?AFTER=2999-01-01T00:00:00Z", service.base)).send().unwrap().text().unwrap();
    assert_eq!(after.matches("<uws:jobref").count(), 0);

    // DELETE removes the job.
    let deleted = client.delete(&job_url).send().unwrap();
    location(&deleted);
    assert_eq!(client.get(&job_url).send().unwrap().status().as_u16(), 404);
    let unknown = client.get(format!("{}/async/0123/phase", service.base)).send().unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[test]
fn jobs_and_results_survive_a_restart() {
    let data = std::env::temp_dir().join(format!("skyglass-tap-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let client = no_redirects();
    let (runtime, base) = start_on(&data, skyglass_archive::http::Options::default());
    let job_url = location(
        &client
            .post(format!("{base}/async"))
            .form(&[("LANG", "ADQL"), ("QUERY", "SELECT TOP 3 hip FROM catalogs.hipparcos"), ("PHASE", "RUN")])
            .send()
            .unwrap(),
    );
    let done = client.get(format!("{job_url}?WAIT=30")).send().unwrap().text().unwrap();
    assert_eq!(tag(&done, "phase").as_deref(), Some("COMPLETED"));
    let id = job_url.rsplit('/').next().unwrap().to_owned();
    drop(runtime);

    let (_runtime, base) = start_on(&data, skyglass_archive::http::Options::default());
    let job = client.get(format!("{base}/async/{id}")).send().unwrap().text().unwrap();
    assert_eq!(tag(&job, "phase").as_deref(), Some("COMPLETED"), "{job}");
    let result = client.get(format!("{base}/async/{id}/results/result")).send().unwrap().text().unwrap();
    assert_eq!(result.matches("<TR>").count(), 3);
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn uploaded_tables_are_queried_as_tap_upload() {
    let service = start("upload");
    let gaia =
        std::fs::read(skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot"))
            .unwrap();
    let client = reqwest::blocking::Client::new();
    let form = reqwest::blocking::multipart::Form::new()
        .text("LANG", "ADQL")
        .text("RESPONSEFORMAT", "csv")
        .text("UPLOAD", "mine,param:table")
        .text("QUERY", "SELECT source_id, ra, dec FROM TAP_UPLOAD.mine")
        .part("table", reqwest::blocking::multipart::Part::bytes(gaia.clone()).file_name("gaia.vot"));
    let response = client.post(format!("{}/sync", service.base)).multipart(form).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().unwrap();
    assert!(body.starts_with("source_id,ra,dec") && body.lines().count() == 2, "{body}");

    // An upload by URL: here a result of this very service, fetched over HTTP.
    let url = format!("{}/sync?LANG=ADQL&QUERY=SELECT+TOP+5+hr,+ra,+dec+FROM+catalogs.bsc5+ORDER+BY+hr", service.base);
    let (status, body) = sync(
        &service,
        &[
            ("LANG", "ADQL"),
            ("RESPONSEFORMAT", "csv"),
            ("UPLOAD", &format!("bright,{url}")),
            (
                "QUERY",
                "SELECT b.hr, COUNT(*) AS n FROM TAP_UPLOAD.bright AS b JOIN catalogs.bsc5 AS s ON s.hr = b.hr GROUP BY b.hr ORDER BY b.hr",
            ),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().skip(1).collect::<Vec<_>>(), vec!["1,1", "2,1", "3,1", "4,1", "5,1"]);

    // Uploads of one query are not seen by another.
    let (status, body) = sync(&service, &[("LANG", "ADQL"), ("QUERY", "SELECT * FROM TAP_UPLOAD.mine")]);
    assert_eq!(status, 400, "{body}");
    for (upload, expected) in [
        ("mine,param:nothere", "no part named nothere"),
        ("mine,ftp://example.org/x", "neither param"),
        ("9bad,param:x", "not an ADQL identifier"),
        ("noscheme", "expected NAME,URI"),
        // A part's name is never a path.
        ("mine,param:/etc/passwd", "is not a part name"),
        ("mine,param:../../archive.sqlite", "is not a part name"),
    ] {
        let (status, body) = sync(&service, &[("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("UPLOAD", upload)]);
        assert_eq!(status, 400, "{upload}: {body}");
        assert!(body.contains(expected), "{upload}: {body}");
    }
    // A public service fetches nothing from its own network, not even from itself.
    let public = start_with("upload-public", skyglass_archive::http::Options::default());
    let own = format!("{}/sync?LANG=ADQL&QUERY=SELECT+1", public.base);
    for upload in
        [format!("mine,{own}"), "mine,http://[::1]:9/table.vot".to_owned(), "mine,http://10.0.0.1/t".to_owned()]
    {
        let (status, body) = sync(&public, &[("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("UPLOAD", &upload)]);
        assert!(status == 400 && body.contains("own network"), "{upload}: {status} {body}");
    }
}

#[test]
fn adql_set_operations_common_tables_ilike_cast_and_offset() {
    let service = start("adql");
    let count = |adql: &str| -> usize { csv(&service, adql)[0][0].parse().unwrap() };
    let bright_bsc = count("SELECT COUNT(*) FROM catalogs.bsc5 WHERE vmag < 0");
    assert_eq!(count("WITH b AS (SELECT hr FROM catalogs.bsc5 WHERE vmag < 0) SELECT COUNT(*) FROM b"), bright_bsc);
    let union = csv(
        &service,
        "SELECT hr AS id FROM catalogs.bsc5 WHERE vmag < -1 UNION SELECT hip FROM catalogs.hipparcos WHERE hpmag < -1",
    );
    // Sirius in both catalogues: HR 2491 and HIP 32349.
    let ids: Vec<&str> = union.iter().map(|row| row[0].as_str()).collect();
    assert!(ids.contains(&"2491") && ids.contains(&"32349"), "{ids:?}");
    let andromeda = csv(&service, "SELECT name FROM catalogs.openngc WHERE common_names ILIKE '%ANDROMEDA gal%'");
    assert_eq!(andromeda, vec![vec!["NGC0224".to_owned()]]);
    let paged = csv(&service, "SELECT TOP 3 CAST(hip AS VARCHAR) AS h FROM catalogs.hipparcos ORDER BY hip OFFSET 10");
    assert_eq!(paged, vec![vec!["11".to_owned()], vec!["12".to_owned()], vec!["13".to_owned()]]);
    // A polygon and the same region as a cone's complement check each other: every star is
    // either inside the polygon or not.
    let inside = count(
        "SELECT COUNT(*) FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT(ra, dec), POLYGON(80, -10, 90, -10, 90, 0, 80, 0))",
    );
    let outside = count(
        "SELECT COUNT(*) FROM catalogs.hipparcos WHERE 0 = CONTAINS(POINT(ra, dec), POLYGON(80, -10, 90, -10, 90, 0, 80, 0))",
    );
    assert_eq!(inside + outside, 117_955);
    // 433 stars have 80° < ra < 90° and −10° < dec < 0°; the polygon's south edge is a great
    // circle, a little north of the parallel. None of the stars on the far side counts.
    assert!((420..=445).contains(&inside), "{inside}");
    let bits = csv(&service, "SELECT 5 & 3, 5 | 3, 5 ^ 3, ~5, 0xFF + 1, SIGN(-3), COALESCE(NULL, 2)");
    assert_eq!(bits, vec![["1", "7", "6", "-6", "256", "-1.0", "2"].map(String::from).to_vec()]);
}

#[test]
fn result_columns_are_named_after_the_adql() {
    let service = start("names");
    let (status, body) = sync(
        &service,
        &[
            ("LANG", "ADQL"),
            (
                "QUERY",
                "SELECT TOP 1 hip, COUNT(*), DISTANCE(POINT(ra, dec), POINT(0, 0)), LOWER('A'), CAST(hip AS REAL), \
                 CAST(hip AS BIGINT), 1 + 1, MAX(hpmag) AS brightest FROM catalogs.hipparcos GROUP BY hip, ra, dec \
                 ORDER BY COUNT(*) DESC, hip",
            ),
            ("RESPONSEFORMAT", "csv"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().next(), Some("hip,count,distance,lower,hip_2,hip_3,expr,brightest"));
}

#[test]
fn in_unit_converts_from_the_units_the_columns_declare() {
    let service = start("in_unit");
    // Sirius: pmRA -546.01 mas/yr and parallax 379.21 mas in Hipparcos (2007), stored as
    // 32-bit floats.
    let row = csv(
        &service,
        "SELECT pmra, IN_UNIT(pmra, 'deg/yr'), IN_UNIT(plx, 'arcsec') FROM catalogs.hipparcos WHERE hip = 32349",
    );
    let value = |i: usize| -> f64 { row[0][i].parse().unwrap() };
    assert!((value(1) / (value(0) / 3.6e6) - 1.0).abs() < 1e-6, "{row:?}");
    assert!((value(2) - 0.37921).abs() < 1e-4, "{row:?}");
    let (status, votable) = sync(
        &service,
        &[("LANG", "ADQL"), ("QUERY", "SELECT TOP 1 IN_UNIT(ra, 'arcmin') AS ra_arcmin FROM catalogs.hipparcos")],
    );
    assert_eq!(status, 200, "{votable}");
    assert!(votable.contains("unit=\"arcmin\""), "{votable}");
    for (adql, expected) in [
        ("SELECT IN_UNIT(ra, 'km') FROM catalogs.hipparcos", "measure different things"),
        ("SELECT IN_UNIT(hip, 'deg') FROM catalogs.hipparcos", "has no unit"),
        ("SELECT IN_UNIT(ra, 'furlong') FROM catalogs.hipparcos", "unknown unit"),
    ] {
        let (status, body) = sync(&service, &[("LANG", "ADQL"), ("QUERY", adql)]);
        assert_eq!(status, 400, "{adql}: {body}");
        assert!(body.contains(expected), "{adql}: {body}");
    }
}

#[test]
fn regions_relate_and_measure_like_spherical_geometry() {
    let service = start("regions");
    // A concave L-shaped polygon; squares in and around its notch; circles (as 180-gons for
    // spherical_geometry) clear of every boundary by at least 0.2°. A region is inside
    // another when all its vertices are (true of these shapes).
    const L: &str = "POLYGON(10, 0, 14, 0, 14, 2, 12, 2, 12, 6, 10, 6)";
    let square =
        |x0: f64, y0: f64, x1: f64, y1: f64| format!("POLYGON({x0}, {y0}, {x1}, {y0}, {x1}, {y1}, {x0}, {y1})");
    let cases: Vec<(String, &str)> = vec![
        (format!("CONTAINS(POINT(13, 4), {L})"), "L.contains_radec(13, 4)"),
        (format!("CONTAINS(POINT(11, 4), {L})"), "L.contains_radec(11, 4)"),
        (format!("INTERSECTS({}, {L})", square(12.5, 3.0, 13.5, 5.0)), "L.intersects_poly(sq(12.5, 3, 13.5, 5))"),
        (format!("INTERSECTS({L}, {})", square(11.5, 3.0, 12.5, 4.0)), "L.intersects_poly(sq(11.5, 3, 12.5, 4))"),
        (format!("CONTAINS({}, {L})", square(10.5, 0.5, 11.5, 1.5)), "inside(sq(10.5, 0.5, 11.5, 1.5), L)"),
        (format!("CONTAINS({}, {L})", square(12.5, 3.0, 13.5, 5.0)), "inside(sq(12.5, 3, 13.5, 5), L)"),
        (format!("INTERSECTS(CIRCLE(13, 4, 0.5), {L})"), "L.intersects_poly(cone(13, 4, 0.5))"),
        (format!("INTERSECTS(CIRCLE(13, 4, 1.2), {L})"), "L.intersects_poly(cone(13, 4, 1.2))"),
        (format!("CONTAINS(CIRCLE(11, 3, 0.5), {L})"), "inside(cone(11, 3, 0.5), L)"),
        (format!("CONTAINS(CIRCLE(11, 3, 1.5), {L})"), "inside(cone(11, 3, 1.5), L)"),
        (
            format!("CONTAINS({}, CIRCLE(11, 1, 1.5))", square(10.5, 0.5, 11.5, 1.5)),
            "inside(sq(10.5, 0.5, 11.5, 1.5), cone(11, 1, 1.5))",
        ),
        ("INTERSECTS(CIRCLE(0, 0, 1), CIRCLE(1.5, 0, 0.6))".into(), "cone(0, 0, 1).intersects_poly(cone(1.5, 0, 0.6))"),
        ("INTERSECTS(CIRCLE(0, 0, 1), CIRCLE(1.9, 0, 0.6))".into(), "cone(0, 0, 1).intersects_poly(cone(1.9, 0, 0.6))"),
        ("CONTAINS(CIRCLE(0.3, 0, 0.2), CIRCLE(0, 0, 0.6))".into(), "inside(cone(0.3, 0, 0.2), cone(0, 0, 0.6))"),
    ];
    let areas = [
        (L.to_owned(), "L"),
        ("BOX(10, 20, 2, 1)".to_owned(), "box(10, 20, 2, 1)"),
        (square(0.0, 80.0, 90.0, 85.0), "sq(0, 80, 90, 85)"),
    ];
    let script = format!(
        "import numpy as np\n\
         from spherical_geometry.polygon import SphericalPolygon as P\n\
         L = P.from_radec([10, 14, 14, 12, 12, 10], [0, 0, 2, 2, 6, 6], center=(11, 1))\n\
         sq = lambda x0, y0, x1, y1: P.from_radec([x0, x1, x1, x0], [y0, y0, y1, y1], center=((x0 + x1) / 2, (y0 + y1) / 2))\n\
         cone = lambda ra, dec, r: P.from_cone(ra, dec, r, steps=180)\n\
         def inside(a, b):\n    return all(b.contains_point(v) for v in list(a.points)[0])\n\
         def box(ra, dec, w, h):\n\
         \x20   # ADQL's BOX: corners through the centre's local east and north, on great circles.\n\
         \x20   c = np.radians([ra, dec]); e = np.array([-np.sin(c[0]), np.cos(c[0]), 0])\n\
         \x20   n = np.array([-np.sin(c[1]) * np.cos(c[0]), -np.sin(c[1]) * np.sin(c[0]), np.cos(c[1])])\n\
         \x20   o = np.array([np.cos(c[1]) * np.cos(c[0]), np.cos(c[1]) * np.sin(c[0]), np.sin(c[1])])\n\
         \x20   tw, th = np.tan(np.radians(w / 2)), np.tan(np.radians(h / 2))\n\
         \x20   v = [o + a * e + b * n for a, b in [(tw, -th), (tw, th), (-tw, th), (-tw, -th)]]\n\
         \x20   v = [x / np.linalg.norm(x) for x in v]\n\
         \x20   return P.from_radec([np.degrees(np.arctan2(x[1], x[0])) for x in v], [np.degrees(np.arcsin(x[2])) for x in v], center=(ra, dec))\n\
         sphere = 4 * np.pi * (180 / np.pi) ** 2\n\
         def area(p):\n    a = p.area() * (180 / np.pi) ** 2\n    return min(a, sphere - a)\n\
         print(' '.join(str(int(bool(x))) for x in [{relations}]))\n\
         print(' '.join(repr(float(area(x))) for x in [{areas}]))",
        relations = cases.iter().map(|(_, python)| *python).collect::<Vec<_>>().join(", "),
        areas = areas.iter().map(|(_, python)| *python).collect::<Vec<_>>().join(", "),
    );
    let output = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    let mut lines = printed.lines();
    let expected: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let expected_areas: Vec<f64> = lines.next().unwrap().split_whitespace().map(|a| a.parse().unwrap()).collect();

    let adql = format!(
        "SELECT {}, {}",
        cases.iter().map(|(adql, _)| adql.as_str()).collect::<Vec<_>>().join(", "),
        areas.iter().map(|(adql, _)| format!("AREA({adql})")).collect::<Vec<_>>().join(", ")
    );
    let row = &csv(&service, &adql)[0];
    for (i, (case, _)) in cases.iter().enumerate() {
        assert_eq!(row[i], expected[i], "{case}");
    }
    // Both are exact for great-circle polygons: they differ only by rounding.
    for (j, (region, _)) in areas.iter().enumerate() {
        let ours: f64 = row[cases.len() + j].parse().unwrap();
        assert!((ours / expected_areas[j] - 1.0).abs() < 1e-9, "AREA({region}): {ours} against {}", expected_areas[j]);
    }
    // The circle's area is the cap's: 2π(1 − cos r) sr.
    let cap: f64 = csv(&service, "SELECT AREA(CIRCLE(10, 20, 1))")[0][0].parse().unwrap();
    let exact = 2.0 * std::f64::consts::PI * (1.0 - 1f64.to_radians().cos()) * (180.0 / std::f64::consts::PI).powi(2);
    assert!((cap - exact).abs() < 1e-9, "{cap}");
}

/// Pairs (hr, hip) of the bundled Bright Star Catalogue and Hipparcos within `radius`
/// arcseconds, by STILTS tmatch2 over the same files.
fn stilts_pairs(radius: f64) -> std::collections::BTreeSet<(i64, i64)> {
    let catalog = |name: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../assets/catalogs/{name}.vot.gz"))
    };
    let printed = skyglass_test_support::stilts(&[
        "tmatch2",
        &format!("in1={}", catalog("bsc5").display()),
        &format!("in2={}", catalog("hipparcos").display()),
        "matcher=sky",
        &format!("params={radius}"),
        "values1=ra dec",
        "values2=ra dec",
        "find=all",
        "ocmd=keepcols 'hr hip'",
        "ofmt=csv-noheader",
        "out=-",
    ]);
    pairs_of(printed.lines().map(|l| l.split(',').map(str::to_owned).collect()))
}

fn pairs_of(rows: impl Iterator<Item = Vec<String>>) -> std::collections::BTreeSet<(i64, i64)> {
    rows.map(|row| (row[0].trim().parse().unwrap(), row[1].trim().parse().unwrap())).collect()
}

#[test]
fn crossmatch_joins_and_the_crossmatch_service_equal_stilts() {
    let service = start("xmatch");
    let expected = stilts_pairs(60.0);
    assert!(expected.len() > 8000, "{} pairs", expected.len());

    // The ADQL idiom: a CONTAINS join, run by the crossmatch kernel.
    let joined = csv(
        &service,
        "SELECT b.hr, h.hip FROM catalogs.bsc5 AS b JOIN catalogs.hipparcos AS h \
         ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', h.ra, h.dec, 60 / 3600.0))",
    );
    assert_eq!(pairs_of(joined.into_iter()), expected);

    // An uploaded table matched with the archive's by DISTANCE.
    let mut bsc = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(
            std::fs::File::open(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/catalogs/bsc5.vot.gz"),
            )
            .unwrap(),
        ),
        &mut bsc,
    )
    .unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .text("LANG", "ADQL")
        .text("RESPONSEFORMAT", "csv")
        .text("UPLOAD", "bright,param:table")
        .text(
            "QUERY",
            "SELECT u.hr, h.hip FROM TAP_UPLOAD.bright AS u JOIN catalogs.hipparcos AS h \
             ON DISTANCE(POINT(u.ra, u.dec), POINT(h.ra, h.dec)) <= 60 / 3600.0",
        )
        .part("table", reqwest::blocking::multipart::Part::bytes(bsc).file_name("bsc5.vot"));
    let response =
        reqwest::blocking::Client::new().post(format!("{}/sync", service.base)).multipart(form).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().unwrap();
    let uploaded = body.lines().skip(1).map(|line| line.split(',').map(str::to_owned).collect());
    assert_eq!(pairs_of(uploaded), expected);

    // The crossmatch service, called as astroquery's Gaia cross_match calls it.
    let answer =
        csv(&service, "SELECT crossmatch_positional('catalogs','bsc5','catalogs','hipparcos',60,'bsc_hip') FROM dual;");
    assert_eq!(answer, vec![vec!["results.bsc_hip".to_owned(), expected.len().to_string()]]);
    let stored = csv(&service, "SELECT hr, hip, separation FROM results.bsc_hip");
    assert!(stored.iter().all(|row| row[2].parse::<f64>().unwrap() <= 60.0));
    assert_eq!(pairs_of(stored.into_iter()), expected);
    let described =
        csv(&service, "SELECT column_name, unit FROM TAP_SCHEMA.columns WHERE table_name = 'results.bsc_hip'");
    assert!(described.contains(&vec!["separation".to_owned(), "arcsec".to_owned()]), "{described:?}");
    // The stored pairs are indexed on A's positions: Sirius (HR 2491) by a cone.
    let sirius = csv(
        &service,
        "SELECT hr FROM results.bsc_hip WHERE 1 = CONTAINS(POINT(ra_1, dec_1), CIRCLE(101.2875, -16.7161, 0.001))",
    );
    assert_eq!(sirius, vec![vec!["2491".to_owned()]]);

    for (call, expected_error) in [
        ("'catalogs','bsc5','catalogs','hipparcos',60,'bsc_hip'", "exists already"),
        ("'catalogs','nothere','catalogs','hipparcos',60,'x'", "no table catalogs.nothere"),
        ("'catalogs','bsc5','catalogs','hipparcos',0,'x'", "above 0"),
        ("'catalogs','bsc5','catalogs','hipparcos','x'", "crossmatch_positional takes"),
        ("'catalogs','bsc5','catalogs','hipparcos',60,'../x'", "is not a table name"),
    ] {
        let adql = format!("SELECT crossmatch_positional({call}) FROM dual");
        let (status, body) = sync(&service, &[("LANG", "ADQL"), ("QUERY", &adql)]);
        assert_eq!(status, 400, "{adql}: {body}");
        assert!(body.contains(expected_error), "{adql}: {body}");
    }
}

/// The service over a fresh archive holding the SDO/EVE ESP light curves (625 rows, times
/// as seconds of the day), ingested sorted by time.
fn start_with_eve() -> (Service, std::path::PathBuf) {
    let data = std::env::temp_dir().join(format!("skyglass-tap-series-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let address: SocketAddr = runtime.block_on(async {
        let archive = Archive::open(&data).await.unwrap();
        let table = skyglass_votable::read_table(
            std::io::BufReader::new(std::fs::File::open(&eve).unwrap()),
            skyglass_votable::TableFormat::Fits,
        )
        .unwrap();
        let options = skyglass_archive::IngestOptions { time: Some("sod".to_owned()), ..Default::default() };
        archive.ingest(&table, &skyglass_archive::TableName::parse("sdo.eve_esp").unwrap(), &options).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = skyglass_archive::http::router(Arc::new(archive)).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    (Service { base: format!("http://{address}/tap"), _runtime: runtime, data: data.clone() }, eve)
}

#[test]
fn timeseries_are_downsampled_like_tsdownsample_and_keep_their_extremes() {
    let (service, eve) = start_with_eve();
    let root = service.base.trim_end_matches("/tap").to_owned();
    let get = |query: &str| {
        let response = reqwest::blocking::get(format!("{root}/timeseries/sdo.eve_esp?{query}")).unwrap();
        let status = response.status().as_u16();
        (status, response.text().unwrap())
    };
    let json = |query: &str| -> serde_json::Value {
        let (status, body) = get(query);
        assert_eq!(status, 200, "{query}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let floats = |value: &serde_json::Value| -> Vec<f64> {
        value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
    };

    // Exact LTTB over the whole day's range: tsdownsample's picks on the same columns.
    let lttb = json("x=sod&y=ch_18,ch_26&width=50&method=lttb");
    assert_eq!(lttb["rows"], 625);
    let script = format!(
        "from astropy.io import fits\n\
         import numpy as np\n\
         from tsdownsample import LTTBDownsampler\n\
         d = fits.getdata('{}', 1)\n\
         x = np.asarray(d['SOD'], dtype=np.float64)\n\
         for c in ('CH_18', 'CH_26'):\n    y = np.asarray(d[c], dtype=np.float64)\n    print(' '.join(repr(float(v)) for v in x[LTTBDownsampler().downsample(x, y, n_out=100)]))",
        eve.display()
    );
    let output = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let theirs: Vec<Vec<f64>> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split(' ').map(|v| v.parse().unwrap()).collect())
        .collect();
    // (serde_json reads floats to within an ulp, not exactly.)
    for (series, expected) in lttb["series"].as_array().unwrap().iter().zip(&theirs) {
        let ours = floats(&series["x"]);
        assert_eq!(ours.len(), expected.len());
        assert!(ours.iter().zip(expected).all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs()), "{}", series["name"]);
    }

    // MinMaxLTTB (the default) on a zoom: within the range, at most two points a pixel, the
    // range's ends and the channel's lowest and highest values kept.
    let all = json("x=sod&y=ch_18&width=2000&method=lttb");
    let (xs, ys) = (floats(&all["series"][0]["x"]), floats(&all["series"][0]["y"]));
    let (start, end) = (xs[100], xs[300]);
    let zoom = json(&format!("x=sod&y=ch_18&width=20&start={start}&end={end}"));
    assert_eq!(zoom["rows"], 201);
    let (zx, zy) = (floats(&zoom["series"][0]["x"]), floats(&zoom["series"][0]["y"]));
    assert!(zx.len() <= 40 && zx.len() >= 20, "{} points", zx.len());
    assert!(zx.iter().all(|x| (start..=end).contains(x)) && zx.windows(2).all(|p| p[0] <= p[1]));
    assert_eq!((zx[0], *zx.last().unwrap()), (start, end));
    let in_range: Vec<f64> = xs.iter().zip(&ys).filter(|(x, _)| (start..=end).contains(*x)).map(|(_, y)| *y).collect();
    let (lowest, highest) = in_range.iter().fold((f64::MAX, f64::MIN), |(l, h), y| (l.min(*y), h.max(*y)));
    assert!(zy.contains(&lowest) && zy.contains(&highest), "extremes {lowest}, {highest} lost: {zy:?}");

    // The same as VOTable.
    let (status, votable) = get("x=sod&y=ch_18&width=20&format=votable");
    assert_eq!(status, 200);
    assert!(votable.contains("<FIELD name=\"sod\" datatype=\"double\"/>") && votable.contains("<TR><TD>ch_18</TD>"));

    for (query, expected) in [
        ("x=sod", "name the columns"),
        ("x=sod&y=nothere", "its columns: q_0"),
        ("x=sod&y=ch_18&width=0", "width"),
        ("x=sod&y=ch_18&start=5&end=1", "start ≤ end"),
        ("x=sod&y=ch_18&method=fast", "lttb or minmaxlttb"),
        ("x=sod&y=ch_18&start=soon", "start must be a number"),
    ] {
        let (status, body) = get(query);
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(expected), "{query}: {body}");
    }
    let response = reqwest::blocking::get(format!("{root}/timeseries/sdo.nothere?x=a&y=b")).unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().unwrap().contains("no table sdo.nothere"));
}

//! `skyglass serve` and `skyglass ingest`: the archive as clients and crashes meet it.

use super::*;

#[test]
fn ingested_tables_are_queried_by_pyvo_like_the_samples() {
    let data = std::env::temp_dir().join(format!("skyglass-archive-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.csv");
    let ingest = |extra: &[&str]| {
        let mut args = vec!["ingest", gaia.to_str().unwrap(), "--table", "mine.gaia", "--data", data.to_str().unwrap()];
        args.extend_from_slice(extra);
        skyglass(&args)
    };
    let output = ingest(&["--description", "A Gaia DR3 source"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("mine.gaia: 1 rows now") && stdout(&output).contains("(ra, dec)"),
        "{}",
        stdout(&output)
    );
    // Ingesting again must be said explicitly.
    let again = ingest(&[]);
    assert!(!again.status.success() && stderr(&again).contains("--replace or --append"), "{}", stderr(&again));
    assert!(ingest(&["--append"]).status.success());
    // A light curve (SDO/EVE, FITS) with its time column named.
    let eve = skyglass_test_support::shared_data().join("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    let data_arg = data.to_str().unwrap();
    let output =
        skyglass(&["ingest", eve.to_str().unwrap(), "--table", "mine.eve", "--time", "SOD", "--data", data_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("mine.eve: 625 rows now") && stdout(&output).contains("time column sod"));
    let not_time =
        skyglass(&["ingest", eve.to_str().unwrap(), "--table", "mine.x", "--time", "nope", "--data", data_arg]);
    assert!(!not_time.status.success() && stderr(&not_time).contains("no column \"nope\""), "{}", stderr(&not_time));

    let server = serve(&data);
    let script = format!(
        "import pyvo\n\
         service = pyvo.dal.TAPService('{url}')\n\
         rows = service.run_sync('SELECT source_id, ra, dec FROM mine.gaia').to_table()\n\
         assert len(rows) == 2, rows\n\
         cone = service.run_sync(\"SELECT COUNT(*) AS n FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.82, -5.39, 1))\").to_table()\n\
         names = [t.name for t in service.tables]\n\
         assert 'mine.gaia' in names and 'catalogs.hipparcos' in names, names\n\
         columns = service.run_sync(\"SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = 'mine.gaia'\").to_table()\n\
         later = service.run_async('SELECT TOP 4 hr, vmag FROM catalogs.bsc5 ORDER BY vmag').to_table()\n\
         assert len(later) == 4 and later['vmag'][0] < 0, later\n\
         mine = service.run_sync('SELECT source_id FROM TAP_UPLOAD.mine', uploads={{'mine': rows}}).to_table()\n\
         assert len(mine) == 2, mine\n\
         from astropy.table import Table\n\
         eve = Table.read('{eve}')\n\
         window = service.run_sync('SELECT sod, qd FROM mine.eve WHERE sod BETWEEN 7000 AND 8000').to_table()\n\
         assert len(window) == ((eve['SOD'] >= 7000) & (eve['SOD'] <= 8000)).sum() > 100, len(window)\n\
         time = service.run_sync(\"SELECT ucd, indexed FROM TAP_SCHEMA.columns WHERE table_name = 'mine.eve' AND column_name = 'sod'\").to_table()\n\
         assert time['ucd'][0] == 'time.epoch' and time['indexed'][0] == 1, time\n\
         print(int(cone['n'][0]), len(columns))",
        url = server.url,
        eve = eve.display()
    );
    let python = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let printed = String::from_utf8_lossy(&python.stdout);
    let numbers: Vec<usize> = printed.split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert!(numbers[0] > 10, "stars within 1° of the Orion nebula: {printed}");
    // Gaia's columns plus the HEALPix index.
    assert!(numbers[1] > 100, "{printed}");
    drop(server);

    let dropped = skyglass(&["ingest", "--drop", "--table", "mine.gaia", "--data", data.to_str().unwrap()]);
    assert!(dropped.status.success(), "{}", stderr(&dropped));
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn taplint_finds_no_error_in_the_archive() {
    let data = std::env::temp_dir().join(format!("skyglass-taplint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = serve(&data);
    // STILTS is Java: its user files go to a folder of the test's own.
    let home = data.join("java-home");
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new("stilts")
        .arg(format!("-Duser.home={}", home.display()))
        // Every stage but LOC, which tests ObsLocTAP (observation plans): taplint 3.4 runs it on
        // every service and fails it where there is no ivoa.obsplan table.
        .args(["taplint", &format!("tapurl={}", server.url), "report=EWF", "maxrepeat=5", "stages=-LOC"])
        .output()
        .expect("stilts runs (scripts/test.sh installs it)");
    let report = String::from_utf8_lossy(&output.stdout);
    let totals = report.lines().find(|l| l.starts_with("Totals:")).unwrap_or_else(|| panic!("{report}"));
    assert!(totals.contains("Errors: 0; Warnings: 0; Failures: 0"), "{report}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn jobs_survive_kill_9_of_the_server() {
    let data = std::env::temp_dir().join(format!("skyglass-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let client = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let submit = |base: &str, query: &str| {
        let response = client
            .post(format!("{base}/async"))
            .form(&[("LANG", "ADQL"), ("QUERY", query), ("PHASE", "RUN")])
            .send()
            .unwrap();
        response.headers()[reqwest::header::LOCATION].to_str().unwrap().rsplit('/').next().unwrap().to_owned()
    };
    let phase = |base: &str, id: &str| client.get(format!("{base}/async/{id}/phase")).send().unwrap().text().unwrap();

    let mut server = serve(&data);
    let done = submit(&server.url, "SELECT TOP 3 hr FROM catalogs.bsc5 ORDER BY hr");
    let waited = client.get(format!("{}/async/{done}?WAIT=30", server.url)).send().unwrap().text().unwrap();
    assert!(waited.contains("<uws:phase>COMPLETED</uws:phase>"), "{waited}");
    // A query that runs for minutes: every pair of Hipparcos stars.
    let busy = submit(
        &server.url,
        "SELECT COUNT(*) FROM catalogs.hipparcos AS a, catalogs.hipparcos AS b WHERE a.plx > b.plx",
    );
    let started = std::time::Instant::now();
    while phase(&server.url, &busy) != "EXECUTING" {
        assert!(started.elapsed().as_secs() < 30, "the long job never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SIGKILL: no chance to clean up.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = serve(&data);
    assert_eq!(phase(&server.url, &done), "COMPLETED");
    let result = client.get(format!("{}/async/{done}/results/result", server.url)).send().unwrap().text().unwrap();
    assert_eq!(result.matches("<TR>").count(), 3, "{result}");
    assert_eq!(phase(&server.url, &busy), "ERROR");
    let error = client.get(format!("{}/async/{busy}/error", server.url)).send().unwrap().text().unwrap();
    assert!(error.contains("the server stopped while the job was queued or running"), "{error}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn an_upload_cut_short_by_kill_9_leaves_no_half_table() {
    let data = std::env::temp_dir().join(format!("skyglass-kill-upload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let added = user(&data, &["add", "alice"], Some("alice password"));
    assert!(added.status.success(), "{}", stderr(&added));
    let schema = data.join("tables/user_alice");
    let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(120)).build().unwrap();
    let upload = move |base: &str, csv: Vec<u8>| upload_table(&client, base, "stars", csv, true);
    let mut caught = false;
    for _attempt in 0..5 {
        let server = serve(&data);
        // A real table of 117,955 stars, as the archive itself gives it.
        let csv = reqwest::blocking::Client::new()
            .post(format!("{}/sync", server.url))
            .form(&[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT hip, ra, dec, plx, pmra, pmde, hpmag FROM catalogs.hipparcos"),
                ("RESPONSEFORMAT", "csv"),
                ("MAXREC", "200000"),
            ])
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec();
        let base = server.url.clone();
        let sending = {
            let upload = upload.clone();
            std::thread::spawn(move || upload(&base, csv))
        };
        // Killed (SIGKILL, as `kill -9`) while the table's file is being written.
        let writing = loop {
            let partial = std::fs::read_dir(&schema)
                .map(|files| files.flatten().any(|f| f.file_name().to_string_lossy().ends_with(".partial")))
                .unwrap_or(false);
            if partial || sending.is_finished() {
                break partial;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        };
        drop(server);
        let _ = sending.join();
        let server = serve(&data);
        if writing {
            caught = true;
            let leftovers: Vec<_> = std::fs::read_dir(&schema).map(|f| f.flatten().collect()).unwrap_or_default();
            assert!(leftovers.is_empty(), "{leftovers:?}");
            let tables = reqwest::blocking::Client::new()
                .get(format!("{}/tables", server.url))
                .basic_auth("alice", Some("alice password"))
                .send()
                .unwrap()
                .text()
                .unwrap();
            assert!(!tables.contains("user_alice.stars"), "{tables}");
        }
        // Whatever happened before, the upload now goes through whole.
        let csv = std::fs::read(
            skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.csv"),
        )
        .unwrap();
        let done = upload(&server.url, csv).unwrap();
        let body = done.text().unwrap();
        let fresh = body.contains("user_alice.stars (1 rows)");
        let kept = body.contains("already");
        assert!(fresh || (kept && !writing), "{body}");
        if caught {
            break;
        }
        let form = [("TABLE_NAME", "stars"), ("DELETE", "TRUE")];
        let url = format!("{}/tap-server/Upload", server.url.trim_end_matches("/tap"));
        let deleted =
            reqwest::blocking::Client::new().post(url).basic_auth("alice", Some("alice password")).form(&form);
        assert_eq!(deleted.send().unwrap().status(), 200);
    }
    assert!(caught, "the upload was never caught mid-write");
    std::fs::remove_dir_all(data).unwrap();
}

/// A table ingested into the data directory of a running `skyglass serve` is queryable at
/// once, and one dropped there is gone at once. Regression: both waited for a restart, while
/// /tables already listed the new one.
#[test]
fn tables_ingested_beside_a_running_server_are_queryable_at_once() {
    let data = std::env::temp_dir().join(format!("skyglass-ingest-beside-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = serve(&data);
    let count = |table: &str| -> Result<usize, String> {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/sync", server.url))
            .form(&[("LANG", "ADQL"), ("QUERY", &format!("SELECT * FROM {table}")), ("RESPONSEFORMAT", "csv")])
            .send()
            .unwrap();
        let ok = response.status().is_success();
        let body = response.text().unwrap();
        if ok { Ok(body.lines().skip(1).count()) } else { Err(body) }
    };
    assert!(count("mine.m31").unwrap_err().contains("mine.m31"));
    let m31 = skyglass_test_support::shared_data().join("votable/astropy/irsa-nph-m31.xml");
    let data_arg = data.to_str().unwrap();
    let ingested = skyglass(&["ingest", m31.to_str().unwrap(), "--table", "mine.m31", "--data", data_arg]);
    assert!(ingested.status.success(), "{}", stderr(&ingested));
    assert_eq!(count("mine.m31"), Ok(18));
    let dropped = skyglass(&["ingest", "--drop", "--table", "mine.m31", "--data", data_arg]);
    assert!(dropped.status.success(), "{}", stderr(&dropped));
    assert!(count("mine.m31").unwrap_err().contains("mine.m31"));
    // The samples the server loaded are still there.
    assert!(count("catalogs.bsc5").unwrap() > 9000);
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

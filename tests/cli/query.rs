//! `skyglass query`: any TAP service asked like STILTS tapquery, logged in or not.

use super::*;

/// `skyglass query` against `skyglass serve`: sync to VOTable, async with an upload to
/// Parquet, and a bad query's message from the service.
#[test]
fn query_asks_a_tap_service_like_stilts_tapquery() {
    let data = std::env::temp_dir().join(format!("skyglass-query-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = serve(&data);
    let out = data.join("stars.vot");
    let said = skyglass(&[
        "query",
        "--service",
        &server.url,
        "SELECT TOP 3 hip, ra, dec FROM catalogs.hipparcos ORDER BY hip",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(said.status.success(), "{}", String::from_utf8_lossy(&said.stderr));
    let table = skyglass_votable::read_table(
        std::io::BufReader::new(std::fs::File::open(&out).unwrap()),
        skyglass_votable::TableFormat::VoTable,
    )
    .unwrap();
    assert_eq!(table.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);

    let mine = skyglass_test_support::shared_file("votable/astroquery/esa/1714556098855O-result.vot");
    let counted = data.join("count.csv");
    let said = skyglass(&[
        "query",
        "--service",
        &server.url,
        "--async",
        "--upload",
        &format!("mine={}", mine.display()),
        "SELECT COUNT(*) AS n FROM TAP_UPLOAD.mine",
        "-o",
        counted.to_str().unwrap(),
    ]);
    assert!(said.status.success(), "{}", String::from_utf8_lossy(&said.stderr));
    assert_eq!(std::fs::read_to_string(&counted).unwrap().trim(), "n\n1");

    let refused = skyglass(&["query", "--service", &server.url, "SELECT nothing FROM catalogs.hipparcos"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("the service says") && message.contains("nothing"), "{message}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn skyglass_query_logs_in_to_read_a_users_table() {
    let data = std::env::temp_dir().join(format!("skyglass-query-login-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let added = user(&data, &["add", "alice"], Some("alice password"));
    assert!(added.status.success(), "{}", stderr(&added));
    let server = serve(&data);
    let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let client = reqwest::blocking::Client::new();
    let uploaded = upload_table(&client, &server.url, "star", std::fs::read(&gaia).unwrap(), true).unwrap();
    assert_eq!(uploaded.status(), 200);

    let query = |extra: &[&str], password: &str| {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
            .args(["query", "--service", &server.url, "SELECT source_id FROM user_alice.star"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.as_mut().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    };
    let anonymous = query(&[], "");
    assert!(!anonymous.status.success() && stderr(&anonymous).contains("not found"), "{}", stderr(&anonymous));
    let wrong = query(&["--user", "alice", "--password-stdin"], "not her password");
    assert!(!wrong.status.success() && stderr(&wrong).contains("wrong user name or password"), "{}", stderr(&wrong));
    for extra in [&["--user", "alice", "--password-stdin"][..], &["--user", "alice", "--password-stdin", "--async"]] {
        let read = query(extra, "alice password");
        assert!(read.status.success(), "{extra:?}: {}", stderr(&read));
        assert_eq!(stdout(&read).lines().collect::<Vec<_>>(), ["source_id", "5929246508730155392"], "{extra:?}");
    }
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

//! `skyglass user` and the archive's logins: forms, Basic, tokens, HTTPS, astroquery's TAP+.

use super::*;

/// Accounts from the command line; a login form that answers a session cookie (what ESA's
/// TAP+ clients use), HTTP Basic and bearer tokens; jobs owned by who made them and hidden
/// from everyone else; wrong credentials refused, repeated failures slowed down, logout and
/// password changes ending sessions.
#[test]
fn users_log_in_with_a_form_basic_or_a_token() {
    let data = std::env::temp_dir().join(format!("skyglass-users-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let added = user(&data, &["add", "alice"], Some("correct horse battery"));
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(stdout(&added).trim(), "added alice");
    let again = user(&data, &["add", "alice"], Some("another password"));
    assert!(!again.status.success() && stderr(&again).contains("exists already"), "{}", stderr(&again));
    let bad = user(&data, &["add", "../etc"], Some("whatever12"));
    assert!(!bad.status.success() && stderr(&bad).contains("not a user name"), "{}", stderr(&bad));
    let short = user(&data, &["add", "bob"], Some("short"));
    assert!(!short.status.success() && stderr(&short).contains("at least 8"), "{}", stderr(&short));
    assert_eq!(stdout(&user(&data, &["list"], None)).trim(), "alice");
    // Nothing secret in what the archive keeps.
    let metadata = std::fs::read(data.join("archive.sqlite")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&metadata).contains("correct horse battery"));

    let server = serve(&data);
    let client = reqwest::blocking::Client::new();
    let login = |password: &str| {
        client
            .post(format!("{}/login", server.url))
            .form(&[("username", "alice"), ("password", password)])
            .send()
            .unwrap()
    };
    assert_eq!(login("wrong password").status(), 401);
    let answer = login("correct horse battery");
    assert_eq!(answer.status(), 200);
    let cookie = answer.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("JSESSIONID="), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let token = session.trim_start_matches("JSESSIONID=").to_owned();
    let tables = |request: reqwest::blocking::RequestBuilder| request.send().unwrap().status().as_u16();
    let url = format!("{}/tables", server.url);
    assert_eq!(tables(client.get(&url).header("Cookie", &session)), 200);
    assert_eq!(tables(client.get(&url).basic_auth("alice", Some("correct horse battery"))), 200);
    assert_eq!(tables(client.get(&url).basic_auth("alice", Some("nope"))), 401);
    assert_eq!(tables(client.get(&url).bearer_auth(&token)), 200);
    assert_eq!(tables(client.get(&url).bearer_auth("not-a-session")), 401);
    // A job belongs to who made it: its owner is named, and to everyone else (another user,
    // anonymous) it does not exist, nor its results; lists show one's own jobs.
    let bob = user(&data, &["add", "bob"], Some("bob's long password"));
    assert!(bob.status.success(), "{}", stderr(&bob));
    let jobs = format!("{}/async", server.url);
    let no_redirect = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let made = no_redirect
        .post(&jobs)
        .basic_auth("alice", Some("correct horse battery"))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT TOP 1 hip FROM catalogs.hipparcos"), ("PHASE", "RUN")])
        .send()
        .unwrap();
    assert_eq!(made.status(), 303);
    let job = made.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned();
    let job = if job.starts_with("http") { job } else { format!("{}{job}", server.url.trim_end_matches("/tap")) };
    let as_alice = |url: &str| client.get(url).basic_auth("alice", Some("correct horse battery")).send().unwrap();
    let as_bob = |url: &str| client.get(url).basic_auth("bob", Some("bob's long password")).send().unwrap();
    assert_eq!(as_alice(&format!("{job}/owner")).text().unwrap(), "alice");
    assert!(as_alice(&job).text().unwrap().contains("<uws:ownerId>alice</uws:ownerId>"));
    for part in ["", "/phase", "/parameters", "/results", "/results/result", "/error", "/owner"] {
        assert_eq!(as_bob(&format!("{job}{part}")).status(), 404, "bob reads {part}");
        assert_eq!(client.get(format!("{job}{part}")).send().unwrap().status(), 404, "anonymous reads {part}");
        // Nor with the id escaped, which the server decodes.
        let (base, id) = job.rsplit_once('/').unwrap();
        let escaped = format!("{base}/%{:02X}{}{part}", id.as_bytes()[0], &id[1..]);
        assert_eq!(as_bob(&escaped).status(), 404, "bob reads {escaped}");
    }
    let abort = client
        .post(format!("{job}/phase"))
        .basic_auth("bob", Some("bob's long password"))
        .form(&[("PHASE", "ABORT")])
        .send()
        .unwrap();
    assert_eq!(abort.status(), 404);
    assert_eq!(client.delete(&job).basic_auth("bob", Some("bob's long password")).send().unwrap().status(), 404);
    let id = job.rsplit('/').next().unwrap().to_owned();
    assert!(as_alice(&jobs).text().unwrap().contains(&id), "alice lists her job");
    assert!(!as_bob(&jobs).text().unwrap().contains(&id), "bob does not");
    assert!(!client.get(&jobs).send().unwrap().text().unwrap().contains(&id), "nor does anonymous");

    // Logout ends the session; the cookie TAP+ keeps afterwards is merely anonymous.
    let out = client.post(format!("{}/logout", server.url)).header("Cookie", &session).send().unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(tables(client.get(&url).bearer_auth(&token)), 401);
    assert_eq!(tables(client.get(&url).header("Cookie", &session)), 200);
    // A changed password ends the sessions and the old password stops working.
    let token = login("correct horse battery").headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    let token = token.split(';').next().unwrap().trim_start_matches("JSESSIONID=").to_owned();
    let changed = user(&data, &["passwd", "alice"], Some("a new passphrase"));
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert_eq!(tables(client.get(&url).bearer_auth(&token)), 401);
    assert_eq!(login("a new passphrase").status(), 200);
    // Guessing is slowed down: after five failures in a minute (two above), even the right
    // password waits.
    let answers: Vec<u16> = (0..4).map(|_| login("guess").status().as_u16()).collect();
    assert_eq!(answers, [401, 401, 401, 429]);
    assert_eq!(login("a new passphrase").status(), 429);
    drop(server);

    // A login-only server gives anonymous callers the way in and nothing else.
    let closed = serve_with(&data, &["--login-only".as_ref()], "http");
    let status = |request: reqwest::blocking::RequestBuilder| request.send().unwrap().status().as_u16();
    assert_eq!(status(client.get(format!("{}/tables", closed.url))), 401);
    assert_eq!(status(client.get(format!("{}/sync?LANG=ADQL&QUERY=SELECT+1", closed.url))), 401);
    assert_eq!(status(client.get(format!("{}/availability", closed.url))), 200);
    assert_eq!(status(client.get(format!("{}/capabilities", closed.url))), 200);
    assert_eq!(
        status(client.get(format!("{}/tables", closed.url)).basic_auth("bob", Some("bob's long password"))),
        200
    );
    drop(closed);
    let removed = user(&data, &["remove", "alice"], None);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(stdout(&user(&data, &["list"], None)).trim(), "bob");
    // Her jobs went with her: a later alice finds none.
    assert!(!data.join("jobs").join(&id).exists());
    std::fs::remove_dir_all(data).unwrap();
}

/// `skyglass serve --tls-cert --tls-key`: HTTPS with a certificate made for the test
/// (openssl), logins over it; plain HTTP to that port gets no answer; a certificate that
/// does not load stops the server with the reason.
#[test]
fn the_archive_serves_https_with_its_certificate() {
    let data = std::env::temp_dir().join(format!("skyglass-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let (certificate, key, authority) = test_certificate(&data);
    let added = user(&data.join("archive"), &["add", "carol"], Some("a long password"));
    assert!(added.status.success(), "{}", stderr(&added));

    let server = serve_with(
        &data.join("archive"),
        &["--tls-cert".as_ref(), certificate.as_os_str(), "--tls-key".as_ref(), key.as_os_str()],
        "https",
    );
    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&authority).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(trusted).build().unwrap();
    let base = server.url.clone();
    let available = client.get(format!("{base}/availability")).send().unwrap();
    assert_eq!(available.status(), 200);
    assert!(available.text().unwrap().contains("<vosi:available>true"));
    let login = client
        .post(format!("{base}/login"))
        .form(&[("username", "carol"), ("password", "a long password")])
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().starts_with("JSESSIONID="));
    // Plain HTTP to the TLS port, and a client that does not trust the certificate, get nothing.
    assert!(reqwest::blocking::get(format!("{}/availability", base.replacen("https", "http", 1))).is_err());
    assert!(reqwest::blocking::get(format!("{base}/availability")).is_err());
    drop(server);

    let broken = skyglass(&[
        "serve",
        "--data",
        data.join("archive").to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
        "--tls-cert",
        key.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(!broken.status.success());
    assert!(stderr(&broken).contains("certificate"), "{}", stderr(&broken));
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn astroquery_tapplus_runs_a_whole_session_over_https() {
    let data = std::env::temp_dir().join(format!("skyglass-tapplus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let (certificate, key, authority) = test_certificate(&data);
    let archive = data.join("archive");
    for (name, password) in [("alice", "alice password"), ("bob", "bobby password")] {
        let added = user(&archive, &["add", name], Some(password));
        assert!(added.status.success(), "{}", stderr(&added));
    }
    let server = serve_with(
        &archive,
        &[
            "--tls-cert".as_ref(),
            certificate.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
            "--max-upload".as_ref(),
            "32MiB".as_ref(),
        ],
        "https",
    );
    // TapPlus checks the certificate against the name it connects to.
    let base = server.url.trim_end_matches("/tap").replacen("127.0.0.1", "localhost", 1);
    let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tapplus_session.py");
    let session = Command::new("python3")
        .arg(&script)
        .args([base.as_str(), gaia.to_str().unwrap()])
        .env("SSL_CERT_FILE", &authority)
        .env("REQUESTS_CA_BUNDLE", &authority)
        .output()
        .expect("python3 with astroquery (scripts/test.sh installs it)");
    assert!(
        session.status.success() && stdout(&session).contains("all steps passed"),
        "{}\n{}",
        stdout(&session),
        stderr(&session)
    );

    // What scripts may send by mistake or malice is refused, and the server carries on.
    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&authority).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(trusted).build().unwrap();
    let upload = |name: &str, bytes: Vec<u8>, as_alice: bool| {
        let response = upload_table(&client, &base, name, bytes, as_alice).unwrap();
        (response.status().as_u16(), response.text().unwrap_or_default())
    };
    let entities: String =
        (1..=9).map(|level| format!("<!ENTITY l{level} \"{}\">", format!("&l{};", level - 1).repeat(10))).collect();
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE v [<!ENTITY l0 \"lol\">{entities}]>\
         <VOTABLE version=\"1.4\"><RESOURCE><TABLE><FIELD name=\"x\" datatype=\"char\" arraysize=\"*\"/>\
         <DATA><TABLEDATA><TR><TD>&l9;</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let (status, body) = upload("bomb", bomb.into_bytes(), true);
    assert!(status == 400 && body.contains("entity"), "{status} {body}");
    let (status, body) = upload("huge", vec![b'1'; 40 << 20], true);
    assert!(status == 413 && body.contains("32 MiB"), "{status} {body}");
    // Larger than a query's 16 MiB request limit, within the upload limit: all of Hipparcos
    // (20 MB of VOTable) as the archive itself serves it.
    let hipparcos = client
        .post(format!("{base}/tap/sync"))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT * FROM catalogs.hipparcos"), ("MAXREC", "200000")])
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    assert!(hipparcos.len() > 16 << 20, "{}", hipparcos.len());
    let (status, body) = upload("hipparcos", hipparcos, true);
    assert!(status == 200 && body.contains("user_alice.hipparcos (117955 rows)"), "{status} {body}");
    let (status, _) = upload("anonymous", std::fs::read(&gaia).unwrap(), false);
    assert_eq!(status, 401);
    let (status, body) = upload("stars", std::fs::read(&gaia).unwrap(), true);
    assert!(status == 200 && body.contains("user_alice.stars (1 rows)"), "{status} {body}");
    // The capabilities state the quotas, and give URLs that say https like the service.
    let capabilities = client.get(format!("{base}/tap/capabilities")).send().unwrap().text().unwrap();
    assert!(capabilities.contains("at most 100 tables and 1024 MiB per user"), "{capabilities}");
    assert!(capabilities.contains(&format!("<accessURL use=\"base\">{base}/tap</accessURL>")), "{capabilities}");
    // TableTool also renames and describes, and a query sees the new name and description.
    let tool = |form: &[(&str, &str)]| {
        let response = client
            .post(format!("{base}/tap-server/TableTool"))
            .basic_auth("alice", Some("alice password"))
            .form(form)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    // A column count past the table's is taken as the table's.
    let edited = tool(&[("ACTION", "edit"), ("TABLE0", "stars"), ("TABLE0_NUMCOLS", "18446744073709551615")]);
    assert_eq!(edited.0, 200, "{}", edited.1);
    let renamed = tool(&[("ACTION", "rename"), ("TABLE_NAME", "stars"), ("NEW_TABLE_NAME", "gaia_dr3")]);
    assert_eq!(renamed.0, 200, "{}", renamed.1);
    let described = tool(&[("ACTION", "describe"), ("TABLE_NAME", "gaia_dr3"), ("TABLE_DESC", "One DR3 source")]);
    assert_eq!(described.0, 200, "{}", described.1);
    let listed = client
        .post(format!("{base}/tap/sync"))
        .basic_auth("alice", Some("alice password"))
        .form(&[
            ("LANG", "ADQL"),
            ("RESPONSEFORMAT", "csv"),
            ("QUERY", "SELECT table_name, description FROM TAP_SCHEMA.tables WHERE table_name LIKE 'user_alice.%'"),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(listed.contains("user_alice.gaia_dr3,One DR3 source") && !listed.contains("stars"), "{listed}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

//! `skyglass hub`: the SAMP hub headless, with pyvo clients and the Web Profile.

use super::*;

/// `skyglass hub`: writes its lockfile, answers a pyvo client, and on SIGTERM tells its
/// clients and removes the lockfile.
#[cfg(unix)]
#[test]
fn the_hub_command_serves_pyvo_and_cleans_up() {
    let dir = std::env::temp_dir().join(format!("skyglass-hub-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lockfile = dir.join("samp.lock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .args(["hub", "--lockfile", lockfile.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !lockfile.exists() {
        assert!(started.elapsed().as_secs() < 60, "skyglass hub wrote no lockfile");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let script = "from pyvo.samp import SAMPIntegratedClient\n\
                  c = SAMPIntegratedClient(name='script', addr='127.0.0.1')\n\
                  c.connect()\n\
                  print(c.get_metadata('hub')['samp.name'], c.ecall_and_wait('hub', 'samp.app.ping', '5')['samp.status'])\n\
                  c.disconnect()\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .env("SAMP_HUB", format!("std-lockurl:file://{}", lockfile.display()))
        .env("HOME", &dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(said.trim(), "Skyglass hub samp.ok");
    // A second hub on the same lockfile refuses, saying why.
    let rival = skyglass(&["hub", "--lockfile", lockfile.to_str().unwrap()]);
    assert!(!rival.status.success());
    assert!(String::from_utf8_lossy(&rival.stderr).contains("already running"));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().unwrap().success());
    assert!(!lockfile.exists(), "the lockfile goes with the hub");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `skyglass hub --web-profile`: pages may call (CORS), but headless there is nobody to ask,
/// so registration is refused unless --allow-web-clients says otherwise.
#[cfg(unix)]
#[test]
fn the_headless_web_profile_refuses_pages_unless_allowed() {
    let dir = std::env::temp_dir().join(format!("skyglass-hub-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let register = "<?xml version=\"1.0\"?><methodCall><methodName>samp.webhub.register</methodName><params>\
                    <param><value><struct><member><name>samp.name</name><value>page</value></member></struct></value></param>\
                    </params></methodCall>";
    for (allow, expected) in [(false, "was not allowed"), (true, "samp.private-key")] {
        let lockfile = dir.join(format!("lock-{allow}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let web_addr = format!("127.0.0.1:{port}");
        let mut args = vec!["hub", "--lockfile", lockfile.to_str().unwrap(), "--web-profile", "--web-addr", &web_addr];
        if allow {
            args.push("--allow-web-clients");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed().as_secs() < 60, "the Web Profile did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let response = reqwest::blocking::Client::new()
            .post(format!("http://{web_addr}/"))
            .header("Origin", "http://example.org")
            .body(register)
            .send()
            .unwrap();
        assert_eq!(response.headers()["access-control-allow-origin"], "http://example.org");
        let body = response.text().unwrap();
        assert!(body.contains(expected), "{body}");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        assert!(child.wait().unwrap().success());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

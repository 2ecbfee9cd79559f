//! The app started as a user starts it: help, no display, SIGTERM, logging flags.

use super::*;

#[test]
fn version_and_help() {
    let version = skyglass(&["--version"]);
    assert!(version.status.success());
    assert_eq!(stdout(&version).trim(), format!("skyglass {}", env!("CARGO_PKG_VERSION")));

    let help = skyglass(&["--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    for expected in ["coords", "--verbose", "--quiet", "--version"] {
        assert!(text.contains(expected), "--help lacks {expected}: {text}");
    }
}

#[test]
fn without_a_display_the_app_says_so_and_exits() {
    // The desktop app needs a display; without one it must fail fast with a reason, not hang.
    let output = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .expect("the skyglass binary runs");
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("cannot open the window") && text.contains("DISPLAY"), "{text}");
}

/// SIGTERM closes the app as its close button does: its own SAMP hub goes, lockfile and
/// all. Run on a virtual display (Xvfb) with software rendering.
#[test]
fn sigterm_closes_the_app_and_its_samp_hub_cleanly() {
    let dir = std::env::temp_dir().join(format!("skyglass-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let display = format!(":{}", 40 + std::process::id() % 500);
    let mut xvfb = Command::new("Xvfb")
        .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("Xvfb (scripts/test.sh installs it)");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let lockfile = dir.join("samp.lock");
    let mut app = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("SAMP_HUB", format!("std-lockurl:file://{}", lockfile.display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the skyglass binary runs");
    let started = std::time::Instant::now();
    while !lockfile.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
        assert!(app.try_wait().unwrap().is_none(), "the app ended before its hub started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(lockfile.exists(), "the app runs a hub of its own");
    let terminated = Command::new("kill").args(["-TERM", &app.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = app.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the app did not close on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut app.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(status.success(), "{status}: {errors}");
    assert!(!lockfile.exists(), "the hub's lockfile is removed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verbosity_flags_control_logging() {
    let verbose = skyglass(&["-v", "coords", "10 20"]);
    assert!(verbose.status.success());
    assert!(stderr(&verbose).contains("parsed position"), "{}", stderr(&verbose));

    let quiet = skyglass(&["-q", "coords", "10 20"]);
    assert!(quiet.status.success());
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));

    let both = skyglass(&["-q", "-v", "coords", "10 20"]);
    assert_eq!(both.status.code(), Some(2), "-q and -v together are a usage error");
}

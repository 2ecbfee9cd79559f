//! Helpers shared by the tests of every Skyglass crate (a dev-dependency only).
//!
//! The real test data from instruments and services lives in `shared/data` beside the
//! repository; [`shared_data`] finds it, or the folder named by `SKYGLASS_SHARED_DATA`.

// A missing data folder is a broken test set-up: failing loudly is the point.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

/// The folder of real test data: `$SKYGLASS_SHARED_DATA`, or the first `shared/data` found
/// above this crate.
pub fn shared_data() -> PathBuf {
    if let Some(dir) = std::env::var_os("SKYGLASS_SHARED_DATA") {
        return PathBuf::from(dir);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|dir| dir.join("shared/data"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("shared/data not found above {}; set SKYGLASS_SHARED_DATA", here.display()))
}

/// A file of the shared test data, by its path under `shared/data`; panics if it is missing.
pub fn shared_file(relative: &str) -> PathBuf {
    let path = shared_data().join(relative);
    assert!(path.is_file(), "test data {} is missing", path.display());
    path
}

/// Runs STILTS (the Debian package scripts/test.sh installs) with a home folder of its own,
/// since Java tools ignore $HOME, and returns what it printed; panics with its messages
/// when it fails.
pub fn stilts(args: &[&str]) -> String {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let home = std::env::temp_dir().join(format!("skyglass-stilts-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("cannot make {}: {e}", home.display()));
    let output = std::process::Command::new("stilts")
        .arg(format!("-Duser.home={}", home.display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("stilts does not run ({e}): scripts/test.sh installs it"));
    let _ = std::fs::remove_dir_all(&home);
    assert!(output.status.success(), "stilts {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

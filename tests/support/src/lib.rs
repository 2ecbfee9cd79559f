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

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! An archive made by an earlier release opens in this one with nothing lost: its metadata
//! is migrated to the current layout, and its tables, users, logins, groups, shares and jobs
//! all work as they did. The data directory in tests/data/archive-v0 was made by the
//! release before layouts had versions (tests/data/make_archive_v0.sh says how and what).

use skyglass_archive::Archive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Copy(PathBuf);

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A copy of a committed data directory, so the test never changes the fixture.
fn copy_of(fixture: &str) -> Copy {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(fixture);
    let to = std::env::temp_dir().join(format!("skyglass-upgrade-{fixture}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    copy_folder(&from, &to);
    Copy(to)
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn layout_version(data: &Path) -> u32 {
    let db = rusqlite::Connection::open(data.join("archive.sqlite")).unwrap();
    db.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap()
}

/// Counts the rows of a query's CSV answer, as `user` (Basic credentials) or anonymously.
fn count(base: &str, user: Option<(&str, &str)>, adql: &str) -> Result<usize, String> {
    let client = reqwest::blocking::Client::new();
    let mut request =
        client.post(format!("{base}/tap/sync")).form(&[("LANG", "ADQL"), ("QUERY", adql), ("RESPONSEFORMAT", "csv")]);
    if let Some((name, password)) = user {
        request = request.basic_auth(name, Some(password));
    }
    let response = request.send().unwrap();
    let status = response.status();
    let body = response.text().unwrap();
    if !status.is_success() {
        return Err(body);
    }
    Ok(body.lines().skip(1).count())
}

/// The ids of the completed jobs in a UWS job list.
fn completed_jobs(base: &str, user: Option<(&str, &str)>) -> Vec<String> {
    let client = reqwest::blocking::Client::new();
    let mut request = client.get(format!("{base}/tap/async?PHASE=COMPLETED"));
    if let Some((name, password)) = user {
        request = request.basic_auth(name, Some(password));
    }
    let list = request.send().unwrap().text().unwrap();
    list.split("<uws:jobref id=\"").skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

#[test]
fn an_archive_made_before_layout_versions_opens_with_everything_in_it() {
    let data = copy_of("archive-v0");
    assert_eq!(layout_version(&data.0), 0, "the fixture is of the layout before versions");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let base = runtime.block_on(async {
        let archive = Archive::open(&data.0).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = skyglass_archive::http::router(Arc::new(archive)).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    });
    assert_eq!(layout_version(&data.0), skyglass_archive::schema::CURRENT);

    let alice = Some(("alice", "alice password"));
    let bob = Some(("bob", "bob password"));
    // The public table, to anyone.
    assert_eq!(count(&base, None, "SELECT * FROM catalogs.m31"), Ok(18));
    // The user's own table, to her, and to the member of the group it is shared with, by
    // passwords set in the earlier release.
    assert_eq!(count(&base, alice, "SELECT * FROM user_alice.near_m31"), Ok(18));
    assert_eq!(count(&base, bob, "SELECT * FROM user_alice.near_m31"), Ok(18));
    // ...and to nobody else.
    let anonymous = count(&base, None, "SELECT * FROM user_alice.near_m31").unwrap_err();
    assert!(anonymous.contains("user_alice.near_m31"), "{anonymous}");
    // Cone searches still use the table's HEALPix index.
    let cone = "SELECT * FROM catalogs.m31 WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10.68, 41.27, 1))";
    assert!(count(&base, None, cone).unwrap() > 0);

    // Each caller's jobs, with their results.
    let client = reqwest::blocking::Client::new();
    for (user, jobs) in [(alice, completed_jobs(&base, alice)), (None, completed_jobs(&base, None))] {
        assert_eq!(jobs.len(), 1, "{user:?}: {jobs:?}");
        let mut request = client.get(format!("{base}/tap/async/{}/results/result", jobs[0]));
        if let Some((name, password)) = user {
            request = request.basic_auth(name, Some(password));
        }
        let result = request.send().unwrap();
        assert_eq!(result.status(), 200);
        let votable = result.text().unwrap();
        assert_eq!(votable.matches("<TR>").count(), 3, "{votable}");
    }
    // Bob does not see alice's job.
    assert!(completed_jobs(&base, bob).is_empty());

    // New work goes on: the migrated archive takes a new user's upload.
    drop(runtime);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let archive = Archive::open(&data.0).await.unwrap();
        let groups = archive.groups_for("bob").unwrap();
        assert_eq!(groups.iter().map(|g| g.title.as_str()).collect::<Vec<_>>(), ["m31 team"]);
        archive.login("bob", "bob password").unwrap();
    });
}

//! The layout of `archive.sqlite`, versioned by SQLite's `PRAGMA user_version`: numbered
//! migrations, each run once, in order, in a transaction of its own, so that an archive made
//! by any earlier release opens in this one, and a failed step leaves the file as it was.
//!
//! To change the layout, append a migration; never edit one that has shipped. An archive
//! written by a later release (a version past [`CURRENT`]) is refused unopened, so that
//! nothing this release does not understand is changed.

use rusqlite::{Connection, Transaction};

/// One step of the layout.
struct Migration {
    /// What the step does, for the log.
    what: &'static str,
    apply: fn(&Transaction<'_>) -> rusqlite::Result<()>,
}

/// The steps, version 1 first: an archive at version N has had the first N applied.
const MIGRATIONS: &[Migration] = &[
    Migration {
        what: "tables, columns, settings, users, sessions, groups, shares and jobs (the layout before versions)",
        apply: layout_before_versions,
    },
    Migration { what: "indexes for the job list and for login throttling", apply: job_and_login_indexes },
];

/// The layout version this release writes.
pub const CURRENT: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "archive.sqlite has layout {found}, from a later Skyglass than this one (which knows up to {CURRENT}): \
         open it with that release, or a newer one"
    )]
    FromTheFuture { found: u32 },
    #[error("archive.sqlite cannot be brought to layout {version} ({what}): {source}")]
    Failed { version: u32, what: &'static str, source: rusqlite::Error },
}

/// Brings the metadata database to [`CURRENT`], and says from which version it came.
pub fn migrate(db: &mut Connection) -> Result<u32, SchemaError> {
    let failed = |version: u32, what: &'static str| move |source| SchemaError::Failed { version, what, source };
    let found: u32 =
        db.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(failed(0, "reading the layout version"))?;
    if found > CURRENT {
        return Err(SchemaError::FromTheFuture { found });
    }
    for (version, migration) in (1..).zip(MIGRATIONS).skip(found as usize) {
        let failed = failed(version, migration.what);
        let transaction = db.transaction().map_err(&failed)?;
        (migration.apply)(&transaction).map_err(&failed)?;
        // PRAGMA takes no parameters; the version is a number of ours.
        transaction.execute_batch(&format!("PRAGMA user_version = {version}")).map_err(&failed)?;
        transaction.commit().map_err(&failed)?;
        tracing::info!(version, what = migration.what, "archive metadata migrated");
    }
    Ok(found)
}

/// Version 1: what archives held before the layout had versions. Earlier archives may lack
/// any part of it (users, sharing and job owners came in later releases), so each part is
/// made only where it is missing.
fn layout_before_versions(db: &Transaction<'_>) -> rusqlite::Result<()> {
    db.execute_batch(
        "
CREATE TABLE IF NOT EXISTS tables (
    schema TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0,
    ra TEXT, dec TEXT,
    PRIMARY KEY (schema, name));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS columns (
    schema TEXT NOT NULL, table_name TEXT NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
    datatype TEXT NOT NULL, arraysize TEXT, unit TEXT NOT NULL DEFAULT '', ucd TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '', indexed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (schema, table_name, name));
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, user TEXT NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS login_failures (user TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    UNIQUE (owner, title));
CREATE TABLE IF NOT EXISTS group_members (group_id INTEGER NOT NULL, user TEXT NOT NULL, PRIMARY KEY (group_id, user));
CREATE TABLE IF NOT EXISTS shared_items (
    id INTEGER PRIMARY KEY, schema TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    UNIQUE (schema, name));
CREATE TABLE IF NOT EXISTS share_targets (item_id INTEGER NOT NULL, group_id INTEGER NOT NULL, PRIMARY KEY (item_id, group_id));
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, run_id TEXT, phase TEXT NOT NULL, parameters TEXT NOT NULL,
    created REAL NOT NULL, started REAL, ended REAL, destruction REAL NOT NULL,
    execution_duration INTEGER NOT NULL, error TEXT, result_name TEXT, result_type TEXT, result_rows INTEGER,
    owner TEXT);
",
    )?;
    // Jobs made before jobs had owners stay anonymous.
    if db.prepare("SELECT owner FROM jobs LIMIT 0").is_err() {
        db.execute_batch("ALTER TABLE jobs ADD COLUMN owner TEXT")?;
    }
    Ok(())
}

/// Version 2: a user's job list and the count of a name's recent failed logins are read at
/// every request that needs them; without indexes both scan their whole table.
fn job_and_login_indexes(db: &Transaction<'_>) -> rusqlite::Result<()> {
    db.execute_batch(
        "CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created);
         CREATE INDEX IF NOT EXISTS login_failures_by_user ON login_failures (user, at);",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(db: &Connection) -> u32 {
        db.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn a_new_database_gets_the_current_layout_once() {
        let mut db = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut db).unwrap(), 0);
        assert_eq!(version(&db), CURRENT);
        // Opening again changes nothing.
        assert_eq!(migrate(&mut db).unwrap(), CURRENT);
        let indexes: i64 = db
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'jobs_by_owner'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(indexes, 1);
    }

    #[test]
    fn jobs_without_owners_gain_the_column_and_keep_their_rows() {
        let mut db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, run_id TEXT, phase TEXT NOT NULL, parameters TEXT NOT NULL,
                 created REAL NOT NULL, started REAL, ended REAL, destruction REAL NOT NULL,
                 execution_duration INTEGER NOT NULL, error TEXT, result_name TEXT, result_type TEXT,
                 result_rows INTEGER);
             INSERT INTO jobs (id, phase, parameters, created, destruction, execution_duration)
                 VALUES ('a1', 'COMPLETED', '[]', 1.0, 2.0, 60);",
        )
        .unwrap();
        migrate(&mut db).unwrap();
        let owner: Option<String> = db.query_row("SELECT owner FROM jobs WHERE id = 'a1'", [], |r| r.get(0)).unwrap();
        assert_eq!(owner, None);
    }

    #[test]
    fn an_archive_from_a_later_release_is_refused_untouched() {
        let mut db = Connection::open_in_memory().unwrap();
        db.execute_batch(&format!("PRAGMA user_version = {}", CURRENT + 1)).unwrap();
        let error = migrate(&mut db).unwrap_err();
        assert!(matches!(error, SchemaError::FromTheFuture { found } if found == CURRENT + 1), "{error}");
        assert!(error.to_string().contains("later Skyglass"), "{error}");
        let tables: i64 = db.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0);
    }
}

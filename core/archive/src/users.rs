//! The archive's users: accounts with argon2-hashed passwords, and login sessions (the
//! cookie TAP+ clients keep, or a bearer token for scripts), in the metadata database.
//!
//! Nothing secret is logged: passwords never leave this module but as argon2 hashes, and
//! session tokens are only handed to the caller who logged in.

use crate::store::{Archive, ArchiveError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rusqlite::params;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a session lasts without use.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Failed logins for one name within `FAILURE_WINDOW` before further tries are refused.
const MOST_FAILURES: i64 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Why a login was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("wrong user name or password")]
    Wrong,
    #[error("too many failed logins for this user: wait a minute")]
    TooMany,
}

/// A user name: a letter, then letters, digits or underscores, at most 32 (it names the
/// user's schema, `user_<name>`, so it must be a plain identifier).
pub fn check_user_name(name: &str) -> Result<(), ArchiveError> {
    let valid = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ArchiveError::Invalid(format!(
            "{name:?} is not a user name: a lower-case letter, then lower-case letters, digits or _, at most 32"
        )))
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn hash(password: &str) -> Result<String, ArchiveError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ArchiveError::Invalid(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ArchiveError::Invalid(format!("cannot hash the password: {e}")))
}

fn check_password(password: &str) -> Result<(), ArchiveError> {
    if password.chars().count() < 8 {
        return Err(ArchiveError::Invalid("a password needs at least 8 characters".into()));
    }
    Ok(())
}

impl Archive {
    /// Adds a user.
    pub fn add_user(&self, name: &str, password: &str) -> Result<(), ArchiveError> {
        check_user_name(name)?;
        check_password(password)?;
        let hash = hash(password)?;
        let added = self.metadata().execute(
            "INSERT OR IGNORE INTO users (name, hash, created) VALUES (?1, ?2, ?3)",
            params![name, hash, now()],
        )?;
        if added == 0 {
            return Err(ArchiveError::Invalid(format!("the user {name} exists already")));
        }
        Ok(())
    }

    /// Removes a user and ends their sessions.
    /// Removes a user with everything that was theirs: sessions, tables, groups (and so the
    /// sharing through them) and their place in others' groups. A user of the same name made
    /// later starts afresh.
    pub async fn remove_user(&self, name: &str) -> Result<(), ArchiveError> {
        {
            let db = self.metadata();
            db.execute("DELETE FROM sessions WHERE user = ?1", params![name])?;
            if db.execute("DELETE FROM users WHERE name = ?1", params![name])? == 0 {
                return Err(ArchiveError::Invalid(format!("there is no user {name}")));
            }
        }
        for group in self.groups_for(name)?.into_iter().filter(|g| g.owner == name) {
            self.delete_group(name, group.id)?;
        }
        self.metadata().execute("DELETE FROM group_members WHERE user = ?1", params![name])?;
        for table in self.user_tables_of(name)? {
            self.delete_user_table(name, &table.name).await?;
        }
        // Their jobs too: results may hold what was shared with them.
        let jobs: Vec<String> = {
            let db = self.metadata();
            // An archive whose server never ran has no job table yet.
            let listed = db.prepare("SELECT id FROM jobs WHERE owner = ?1").and_then(|mut statement| {
                statement.query_map(params![name], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()
            });
            let jobs = listed.unwrap_or_default();
            if !jobs.is_empty() {
                db.execute("DELETE FROM jobs WHERE owner = ?1", params![name])?;
            }
            jobs
        };
        for id in jobs.iter().filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric())) {
            let _ = std::fs::remove_dir_all(self.root().join("jobs").join(id));
        }
        self.access_changed();
        Ok(())
    }

    /// Sets a user's password; their sessions end.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), ArchiveError> {
        check_password(password)?;
        let hash = hash(password)?;
        let db = self.metadata();
        if db.execute("UPDATE users SET hash = ?2 WHERE name = ?1", params![name, hash])? == 0 {
            return Err(ArchiveError::Invalid(format!("there is no user {name}")));
        }
        db.execute("DELETE FROM sessions WHERE user = ?1", params![name])?;
        Ok(())
    }

    /// The users' names, sorted.
    pub fn users(&self) -> Result<Vec<String>, ArchiveError> {
        let db = self.metadata();
        let mut statement = db.prepare("SELECT name FROM users ORDER BY name")?;
        let names = statement.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(names)
    }

    /// Whether the password is the user's; failures are counted, and past five in a minute
    /// the user's logins are refused for that minute.
    pub fn verify_password(&self, name: &str, password: &str) -> Result<(), LoginError> {
        let stored: Option<String> = {
            let db = self.metadata();
            let since = now() - FAILURE_WINDOW.as_secs() as i64;
            let _ = db.execute("DELETE FROM login_failures WHERE at < ?1", params![since]);
            let failures: i64 = db
                .query_row("SELECT COUNT(*) FROM login_failures WHERE user = ?1", params![name], |r| r.get(0))
                .unwrap_or(0);
            if failures >= MOST_FAILURES {
                return Err(LoginError::TooMany);
            }
            db.query_row("SELECT hash FROM users WHERE name = ?1", params![name], |r| r.get(0)).ok()
        };
        // Hashing happens without the database lock: it takes tens of milliseconds.
        let right = stored
            .as_deref()
            .and_then(|h| PasswordHash::new(h).ok())
            .is_some_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        if right {
            return Ok(());
        }
        let _ = self.metadata().execute("INSERT INTO login_failures (user, at) VALUES (?1, ?2)", params![name, now()]);
        Err(LoginError::Wrong)
    }

    /// Logs a user in: a new session's token.
    pub fn login(&self, name: &str, password: &str) -> Result<String, LoginError> {
        self.verify_password(name, password)?;
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|_| LoginError::Wrong)?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let expires = now() + SESSION_LIFETIME.as_secs() as i64;
        self.metadata()
            .execute("INSERT INTO sessions (token, user, expires) VALUES (?1, ?2, ?3)", params![token, name, expires])
            .map_err(|_| LoginError::Wrong)?;
        Ok(token)
    }

    /// The user of a live session (its expiry moves on with use).
    pub fn session_user(&self, token: &str) -> Option<String> {
        let db = self.metadata();
        let time = now();
        let _ = db.execute("DELETE FROM sessions WHERE expires < ?1", params![time]);
        let user: String =
            db.query_row("SELECT user FROM sessions WHERE token = ?1", params![token], |r| r.get(0)).ok()?;
        let _ = db.execute(
            "UPDATE sessions SET expires = ?2 WHERE token = ?1",
            params![token, time + SESSION_LIFETIME.as_secs() as i64],
        );
        Some(user)
    }

    /// Ends a session.
    pub fn logout(&self, token: &str) {
        let _ = self.metadata().execute("DELETE FROM sessions WHERE token = ?1", params![token]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_plain_identifiers() {
        for good in ["alice", "bob_2", "x"] {
            assert!(check_user_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Alice", "1bob", "a-b", "../etc", "a b", "robert'); DROP TABLE users;--", &"a".repeat(33)] {
            assert!(check_user_name(bad).is_err(), "{bad}");
        }
    }
}

//! What one holder of tables may keep, checked in one place for every way a table is made
//! (uploads, crossmatch results). A logged-in user holds the tables of their schema; the
//! anonymous callers together hold the public results schema, under the same quota, so that
//! nobody can fill the archive's disk without an account.

use crate::access::user_schema;
use crate::store::{Archive, ArchiveError, TableName};

/// A count of tables and the bytes they take as stored (compressed Parquet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub tables: usize,
    pub bytes: u64,
}

/// What each user may keep; the capabilities state it.
pub const PER_USER: Quota = Quota { tables: 100, bytes: 1 << 30 };

/// What the anonymous callers may keep between them, in [`RESULTS_SCHEMA`].
pub const ANONYMOUS: Quota = PER_USER;

/// Where anonymous callers' results are stored (users' go to their own schema).
pub const RESULTS_SCHEMA: &str = "results";

/// Who a stored table counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder<'a> {
    User(&'a str),
    Anonymous,
}

impl<'a> Holder<'a> {
    /// The holder of tables made for `caller` (`None`: anonymous).
    pub fn of(caller: Option<&'a str>) -> Holder<'a> {
        caller.map_or(Holder::Anonymous, Holder::User)
    }

    /// The schema the holder's tables are in.
    pub fn schema(self) -> String {
        match self {
            Holder::User(user) => user_schema(user),
            Holder::Anonymous => RESULTS_SCHEMA.to_owned(),
        }
    }

    pub fn quota(self) -> Quota {
        match self {
            Holder::User(_) => PER_USER,
            Holder::Anonymous => ANONYMOUS,
        }
    }
}

/// What a holder has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub tables: usize,
    pub bytes: u64,
}

/// A quota that a new table would break.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("you have {0} tables, as many as a user may keep: delete one first")]
    UserTables(usize),
    #[error(
        "the {RESULTS_SCHEMA} schema holds {0} tables, all anonymous callers may keep: log in to keep results of your own"
    )]
    AnonymousTables(usize),
    #[error("the table would take your tables to {} MiB, over the {} MiB a user may keep", .used >> 20, .most >> 20)]
    UserBytes { used: u64, most: u64 },
    #[error(
        "the table would take the {RESULTS_SCHEMA} schema to {} MiB, over the {} MiB anonymous callers may keep: log in to keep results of your own",
        .used >> 20, .most >> 20
    )]
    AnonymousBytes { used: u64, most: u64 },
}

impl Archive {
    /// How many tables `holder` has and how many bytes they take.
    pub fn usage_of(&self, holder: Holder<'_>) -> Result<Usage, ArchiveError> {
        let schema = holder.schema();
        let tables: Vec<TableName> = self
            .stored_tables()?
            .into_iter()
            .filter(|t| t.schema == schema)
            .map(|t| TableName { schema: t.schema, name: t.name })
            .collect();
        let bytes = tables.iter().map(|name| std::fs::metadata(self.parquet_path(name)).map_or(0, |m| m.len())).sum();
        Ok(Usage { tables: tables.len(), bytes })
    }

    /// How many tables `user` has and how many bytes they take.
    pub fn usage(&self, user: &str) -> Result<Usage, ArchiveError> {
        self.usage_of(Holder::User(user))
    }

    /// Refuses a new table when `holder` has as many as the quota allows.
    pub(crate) fn check_room_for_table(&self, holder: Holder<'_>) -> Result<(), ArchiveError> {
        let usage = self.usage_of(holder)?;
        if usage.tables < holder.quota().tables {
            return Ok(());
        }
        Err(match holder {
            Holder::User(_) => QuotaError::UserTables(usage.tables),
            Holder::Anonymous => QuotaError::AnonymousTables(usage.tables),
        }
        .into())
    }

    /// After a table of `holder`'s was written: an error when its bytes broke the quota
    /// (the caller then removes it; its size is only known once it is written).
    pub(crate) fn check_bytes(&self, holder: Holder<'_>) -> Result<(), ArchiveError> {
        let usage = self.usage_of(holder)?;
        let most = holder.quota().bytes;
        if usage.bytes <= most {
            return Ok(());
        }
        Err(match holder {
            Holder::User(_) => QuotaError::UserBytes { used: usage.bytes, most },
            Holder::Anonymous => QuotaError::AnonymousBytes { used: usage.bytes, most },
        }
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_keep_their_tables_in_their_own_schema() {
        assert_eq!(Holder::of(Some("alice")).schema(), "user_alice");
        assert_eq!(Holder::of(None).schema(), RESULTS_SCHEMA);
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert_eq!(
            QuotaError::UserTables(100).to_string(),
            "you have 100 tables, as many as a user may keep: delete one first"
        );
        let bytes = QuotaError::AnonymousBytes { used: 3 << 30, most: 1 << 30 }.to_string();
        assert!(bytes.contains("3072 MiB, over the 1024 MiB") && bytes.contains("log in"), "{bytes}");
    }
}

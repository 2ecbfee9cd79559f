//! Who may read what. A table in the schema `user_<name>` belongs to that user; every other
//! table is public. A user reads the public tables, their own, and those shared with a group
//! they own or belong to; an anonymous caller reads the public ones only.
//!
//! The rule is enforced where it cannot be missed: a query runs in a session holding only
//! the tables its caller may read (and a TAP_SCHEMA describing only those), so no FROM,
//! JOIN, subquery, WITH or UNION can name another's table; to the caller it does not exist,
//! with the same message as a table that never did.

use crate::store::{Archive, ArchiveError, TableInfo, TableName};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::execution::context::SessionContext;
use datafusion::prelude::ParquetReadOptions;
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;

/// The schemas of users' own tables start with this.
pub const USER_SCHEMA_PREFIX: &str = "user_";

/// The user who owns a schema, if it is a user's.
pub fn owner_of(schema: &str) -> Option<&str> {
    schema.strip_prefix(USER_SCHEMA_PREFIX).filter(|name| !name.is_empty())
}

/// A user's own schema.
pub fn user_schema(user: &str) -> String {
    format!("{USER_SCHEMA_PREFIX}{user}")
}

/// A group of users that tables are shared with.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: i64,
    pub owner: String,
    pub title: String,
    pub description: String,
    pub members: Vec<String>,
}

/// A table shared with groups, read-only.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedItem {
    pub id: i64,
    pub table: TableName,
    pub description: String,
    pub groups: Vec<i64>,
}

impl Archive {
    /// The tables of other users shared with a group `user` owns or belongs to.
    fn shared_with(&self, user: &str) -> Result<Vec<TableName>, ArchiveError> {
        let db = self.metadata();
        let mut statement = db.prepare(
            "SELECT DISTINCT i.schema, i.name FROM shared_items i \
             JOIN share_targets s ON s.item_id = i.id JOIN groups g ON g.id = s.group_id \
             WHERE g.owner = ?1 OR EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user = ?1)",
        )?;
        let rows = statement.query_map(params![user], |r| Ok(TableName { schema: r.get(0)?, name: r.get(1)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The tables `caller` may read: TAP_SCHEMA's, the public ones, and for a user their own
    /// and those shared with them.
    pub fn tables_for(&self, caller: Option<&str>) -> Result<Vec<TableInfo>, ArchiveError> {
        let mut tables = crate::store::tap_schema_tables();
        tables.extend(self.readable_stored_tables(caller)?);
        Ok(tables)
    }

    fn readable_stored_tables(&self, caller: Option<&str>) -> Result<Vec<TableInfo>, ArchiveError> {
        let shared = match caller {
            Some(user) => self.shared_with(user)?,
            None => Vec::new(),
        };
        let readable = |table: &TableInfo| match owner_of(&table.schema) {
            None => true,
            Some(owner) => {
                caller == Some(owner) || shared.iter().any(|s| s.schema == table.schema && s.name == table.name)
            }
        };
        Ok(self.stored_tables()?.into_iter().filter(readable).collect())
    }

    /// The query session for `caller`: the shared one (public tables) unless the caller
    /// reads users' tables too, then one of their own, kept until the tables or shares change.
    pub async fn session_for(&self, caller: Option<&str>) -> Result<SessionContext, ArchiveError> {
        self.pick_up_outside_changes().await?;
        let Some(user) = caller else { return Ok(self.session().clone()) };
        let generation = self.generation();
        if let Some(session) = self.cached_session(user, generation) {
            return Ok(session);
        }
        let readable = self.readable_stored_tables(caller)?;
        let private: Vec<&TableInfo> = readable.iter().filter(|t| owner_of(&t.schema).is_some()).collect();
        if private.is_empty() {
            // Kept too: the next query then reads no metadata to find the same answer.
            let shared = self.session().clone();
            self.keep_session(user, generation, shared.clone());
            return Ok(shared);
        }
        let ctx = crate::spatial_join::adql_session(self.session().copied_config());
        let (Some(shared), Some(own)) = (self.session().catalog("datafusion"), ctx.catalog("datafusion")) else {
            return Err(datafusion::error::DataFusionError::Plan("no default catalog".into()).into());
        };
        for name in shared.schema_names() {
            if name != "tap_schema"
                && let Some(schema) = shared.schema(&name)
            {
                own.register_schema(&name, schema)?;
            }
        }
        for table in &private {
            if own.schema(&table.schema).is_none() {
                own.register_schema(&table.schema, Arc::new(MemorySchemaProvider::new()))?;
            }
            let name = TableName { schema: table.schema.clone(), name: table.name.clone() };
            let path = self.parquet_path(&name).to_string_lossy().into_owned();
            ctx.register_parquet(
                datafusion::common::TableReference::partial(table.schema.as_str(), table.name.as_str()),
                &path,
                ParquetReadOptions::default().skip_metadata(false),
            )
            .await?;
        }
        let all: Vec<TableInfo> = crate::store::tap_schema_tables().into_iter().chain(readable).collect();
        own.register_schema("tap_schema", crate::store::tap_schema_provider(&all)?)?;
        self.keep_session(user, generation, ctx.clone());
        Ok(ctx)
    }

    /// Creates a group owned by `owner`; its id.
    pub fn create_group(&self, owner: &str, title: &str, description: &str) -> Result<i64, ArchiveError> {
        let title = title.trim();
        if title.is_empty() || title.len() > 128 {
            return Err(ArchiveError::Invalid("a group's title is 1 to 128 characters".into()));
        }
        let db = self.metadata();
        let exists: Option<i64> = db
            .query_row("SELECT id FROM groups WHERE owner = ?1 AND title = ?2", params![owner, title], |r| r.get(0))
            .optional()?;
        if exists.is_some() {
            return Err(ArchiveError::Invalid(format!("you have a group {title:?} already")));
        }
        db.execute(
            "INSERT INTO groups (owner, title, description) VALUES (?1, ?2, ?3)",
            params![owner, title, description],
        )?;
        Ok(db.last_insert_rowid())
    }

    /// Changes a group of `caller`'s: its title and description, and its members when given
    /// (every one an existing user).
    pub fn update_group(
        &self,
        caller: &str,
        id: i64,
        title: &str,
        description: &str,
        members: Option<&[String]>,
    ) -> Result<(), ArchiveError> {
        self.owned_group(caller, id)?;
        let title = title.trim();
        if title.is_empty() || title.len() > 128 {
            return Err(ArchiveError::Invalid("a group's title is 1 to 128 characters".into()));
        }
        let clash: Option<i64> = self
            .metadata()
            .query_row(
                "SELECT id FROM groups WHERE owner = ?1 AND title = ?2 AND id != ?3",
                params![caller, title, id],
                |r| r.get(0),
            )
            .optional()?;
        if clash.is_some() {
            return Err(ArchiveError::Invalid(format!("you have a group {title:?} already")));
        }
        let known = self.users()?;
        if let Some(unknown) = members.into_iter().flatten().find(|m| !known.contains(m)) {
            return Err(ArchiveError::Invalid(format!("no user {unknown}")));
        }
        let mut db = self.metadata();
        let transaction = db.transaction()?;
        transaction
            .execute("UPDATE groups SET title = ?1, description = ?2 WHERE id = ?3", params![title, description, id])?;
        if let Some(members) = members {
            transaction.execute("DELETE FROM group_members WHERE group_id = ?1", params![id])?;
            for member in members {
                transaction.execute(
                    "INSERT OR IGNORE INTO group_members (group_id, user) VALUES (?1, ?2)",
                    params![id, member],
                )?;
            }
        }
        transaction.commit()?;
        drop(db);
        self.access_changed();
        Ok(())
    }

    /// Deletes a group of `caller`'s; what was shared with it no longer is.
    pub fn delete_group(&self, caller: &str, id: i64) -> Result<(), ArchiveError> {
        self.owned_group(caller, id)?;
        let mut db = self.metadata();
        let transaction = db.transaction()?;
        transaction.execute("DELETE FROM group_members WHERE group_id = ?1", params![id])?;
        transaction.execute("DELETE FROM share_targets WHERE group_id = ?1", params![id])?;
        transaction.execute("DELETE FROM groups WHERE id = ?1", params![id])?;
        transaction.commit()?;
        drop(db);
        self.access_changed();
        Ok(())
    }

    fn owned_group(&self, caller: &str, id: i64) -> Result<(), ArchiveError> {
        let owner: Option<String> = self
            .metadata()
            .query_row("SELECT owner FROM groups WHERE id = ?1", params![id], |r| r.get(0))
            .optional()?;
        match owner {
            Some(owner) if owner == caller => Ok(()),
            _ => Err(ArchiveError::Invalid(format!("you have no group {id}"))),
        }
    }

    /// The groups `user` owns or belongs to, with their members.
    pub fn groups_for(&self, user: &str) -> Result<Vec<Group>, ArchiveError> {
        let db = self.metadata();
        let mut statement = db.prepare(
            "SELECT id, owner, title, description FROM groups g WHERE owner = ?1 \
             OR EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user = ?1) ORDER BY id",
        )?;
        let groups: Vec<(i64, String, String, String)> = statement
            .query_map(params![user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut members = db.prepare("SELECT user FROM group_members WHERE group_id = ?1 ORDER BY user")?;
        groups
            .into_iter()
            .map(|(id, owner, title, description)| {
                let members = members.query_map(params![id], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(Group { id, owner, title, description, members })
            })
            .collect()
    }

    /// Shares a table of `caller`'s, read-only, with groups of theirs (added to those it is
    /// shared with already); the shared item's id.
    pub fn share_table(
        &self,
        caller: &str,
        table: &TableName,
        description: &str,
        groups: &[i64],
    ) -> Result<i64, ArchiveError> {
        if owner_of(&table.schema) != Some(caller) || !self.stored_tables()?.iter().any(|t| same(t, table)) {
            return Err(ArchiveError::NoSuchTable(table.qualified()));
        }
        for group in groups {
            self.owned_group(caller, *group)?;
        }
        let mut db = self.metadata();
        let transaction = db.transaction()?;
        transaction.execute(
            "INSERT INTO shared_items (schema, name, description) VALUES (?1, ?2, ?3) \
             ON CONFLICT (schema, name) DO UPDATE SET description = excluded.description",
            params![table.schema, table.name, description],
        )?;
        let id: i64 = transaction.query_row(
            "SELECT id FROM shared_items WHERE schema = ?1 AND name = ?2",
            params![table.schema, table.name],
            |r| r.get(0),
        )?;
        for group in groups {
            transaction.execute(
                "INSERT OR IGNORE INTO share_targets (item_id, group_id) VALUES (?1, ?2)",
                params![id, group],
            )?;
        }
        transaction.commit()?;
        drop(db);
        self.access_changed();
        Ok(id)
    }

    /// Stops sharing a shared item of `caller`'s with anyone.
    pub fn stop_sharing(&self, caller: &str, item: i64) -> Result<(), ArchiveError> {
        let owned = self.shared_items(caller)?.iter().any(|i| i.id == item);
        if !owned {
            return Err(ArchiveError::Invalid(format!("you share no item {item}")));
        }
        self.forget_shares(item)
    }

    fn forget_shares(&self, item: i64) -> Result<(), ArchiveError> {
        let mut db = self.metadata();
        let transaction = db.transaction()?;
        transaction.execute("DELETE FROM share_targets WHERE item_id = ?1", params![item])?;
        transaction.execute("DELETE FROM shared_items WHERE id = ?1", params![item])?;
        transaction.commit()?;
        drop(db);
        self.access_changed();
        Ok(())
    }

    /// The tables `caller` shares, with the groups they are shared with.
    pub fn shared_items(&self, caller: &str) -> Result<Vec<SharedItem>, ArchiveError> {
        let db = self.metadata();
        let mut statement =
            db.prepare("SELECT id, schema, name, description FROM shared_items WHERE schema = ?1 ORDER BY id")?;
        let items: Vec<(i64, String, String, String)> = statement
            .query_map(params![user_schema(caller)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        let mut targets = db.prepare("SELECT group_id FROM share_targets WHERE item_id = ?1 ORDER BY group_id")?;
        items
            .into_iter()
            .map(|(id, schema, name, description)| {
                let groups = targets.query_map(params![id], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(SharedItem { id, table: TableName { schema, name }, description, groups })
            })
            .collect()
    }
}

/// A table is gone or renamed: its shares go with its old name, in the caller's
/// transaction (the one that changes the table).
pub(crate) fn forget_shares_of(transaction: &rusqlite::Transaction<'_>, table: &TableName) -> rusqlite::Result<()> {
    transaction.execute(
        "DELETE FROM share_targets WHERE item_id IN (SELECT id FROM shared_items WHERE schema = ?1 AND name = ?2)",
        params![table.schema, table.name],
    )?;
    transaction
        .execute("DELETE FROM shared_items WHERE schema = ?1 AND name = ?2", params![table.schema, table.name])?;
    Ok(())
}

fn same(info: &TableInfo, table: &TableName) -> bool {
    info.schema == table.schema && info.name == table.name
}

impl Archive {
    /// [`Archive::indexed_tables`] that `caller` may read: a query's rewriting sees no other.
    pub fn indexed_tables_for(&self, caller: Option<&str>) -> Result<crate::spatial::IndexedTables, ArchiveError> {
        let mut indexed = self.indexed_tables()?;
        let shared = match caller {
            Some(user) => self.shared_with(user)?,
            None => Vec::new(),
        };
        indexed.retain(|name, _| match name.split_once('.') {
            Some((schema, table)) => match owner_of(schema) {
                None => true,
                Some(owner) => caller == Some(owner) || shared.iter().any(|s| s.schema == schema && s.name == table),
            },
            None => false,
        });
        Ok(indexed)
    }
}

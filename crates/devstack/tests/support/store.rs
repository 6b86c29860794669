//! What a test reads from, or breaks in, devstack's store: the dead letters
//! of a consumer group, and — in a stack's store file, through a connection
//! of the test's own — the attempts of its pending deliveries and a store
//! outage for one app-id (SQLite triggers that make its writes fail).

use std::path::{Path, PathBuf};

use devstack::store::{DeadLetter, Store};

use super::Env;

/// The dead letters of consumer group `group` (`<app-id>/<subscription>`),
/// oldest first.
pub async fn dead_letters(store: &Store, group: &str) -> Vec<DeadLetter> {
    store
        .dead_letters()
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.group == group)
        .collect()
}

fn db(env: &Env) -> PathBuf {
    env.stack
        .store
        .path()
        .expect("the stack keeps its store in a file (Hosting::file_store)")
        .to_path_buf()
}

fn open(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn
}

/// The most attempts any pending delivery of `group` has had (0 when none
/// is pending).
pub fn attempts(env: &Env, group: &str) -> i64 {
    open(&db(env))
        .query_row(
            "SELECT COALESCE(MAX(attempts), 0) FROM deliveries WHERE group_id = ?1",
            [group],
            |r| r.get(0),
        )
        .unwrap()
}

/// Makes the state row of `key` (a full key: `sync-relay||change/u/1`)
/// expire now, as if its TTL had passed; returns how many rows changed.
pub async fn expire_state(env: &Env, key: &str) -> usize {
    let (db, key) = (db(env), key.to_string());
    tokio::task::spawn_blocking(move || {
        open(&db)
            .execute("UPDATE state SET expires_at = 1 WHERE key = ?1", [key])
            .unwrap()
    })
    .await
    .unwrap()
}

/// Until healed, every state write of a key starting with `prefix` (a full
/// key: `audit||`, `task-api||idem/`) fails inside the store, so the
/// sidecar answers 500 as with a database outage; reads still work.
pub struct StoreOutage {
    db: PathBuf,
    name: String,
}

impl StoreOutage {
    pub fn of(env: &Env, prefix: &str) -> StoreOutage {
        let name: String = prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let name = format!("outage_{name}");
        let when = format!("WHEN substr(NEW.key, 1, {}) = '{prefix}'", prefix.len());
        let fail = format!("BEGIN SELECT RAISE(ABORT, 'injected outage of {prefix}'); END");
        open(&db(env))
            .execute_batch(&format!(
                "CREATE TRIGGER {name}_insert BEFORE INSERT ON state {when} {fail};
                 CREATE TRIGGER {name}_update BEFORE UPDATE ON state {when} {fail};"
            ))
            .unwrap();
        StoreOutage { db: db(env), name }
    }

    pub fn heal(self) {
        let name = &self.name;
        open(&self.db)
            .execute_batch(&format!(
                "DROP TRIGGER {name}_insert; DROP TRIGGER {name}_update;"
            ))
            .unwrap();
    }
}

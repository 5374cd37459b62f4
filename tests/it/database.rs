//! Which database the integration tests run against: SQLite files (the default) or PostgreSQL when
//! `HERALD_TEST_BACKEND=postgres`, on the cluster `HERALD_TEST_DATABASE_URL` names (`scripts/test`
//! starts a throw-away one). Each test gets a database of its own either way, and reads it as a whole
//! through the backend's own shell (`sqlite3`, `psql`, `pg_dump`), never through herald.

use std::{
    path::Path,
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

/// The backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("HERALD_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("HERALD_TEST_BACKEND={other}: use sqlite or postgres"),
    }
}

/// Returns early from a test that checks something only the SQLite backend has (its file's
/// permissions, its file lock, a database file that must not be created), saying so.
#[macro_export]
macro_rules! sqlite_only {
    () => {
        if $crate::database::backend() != $crate::database::Backend::Sqlite {
            eprintln!(
                "skipped on {:?}: a check of the SQLite file",
                $crate::database::backend()
            );
            return;
        }
    };
}

/// Returns early from a test of something only PostgreSQL has (several daemons on one queue, or
/// the `why` given), saying so.
#[macro_export]
macro_rules! postgres_only {
    () => {
        $crate::postgres_only!("several daemons share a queue on PostgreSQL only")
    };
    ($why:expr) => {
        if $crate::database::backend() != $crate::database::Backend::Postgres {
            eprintln!("skipped on SQLite: {}", $why);
            return;
        }
    };
}

/// The cluster's URL (its `postgres` maintenance database).
fn server_url() -> String {
    std::env::var("HERALD_TEST_DATABASE_URL").expect(
        "HERALD_TEST_BACKEND=postgres needs HERALD_TEST_DATABASE_URL (scripts/test starts a cluster)",
    )
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// One test's database: a file in the test's directory, or a PostgreSQL database of its own that
/// is dropped when this goes (a developer's long-lived cluster would otherwise keep hundreds, and
/// autovacuum visits every one of them). Reads as its `database.url`.
pub struct TestDb {
    url: String,
    /// The PostgreSQL database to drop.
    name: Option<String>,
}

impl std::ops::Deref for TestDb {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    /// `WITH (FORCE)` ends the sessions of a daemon a failed test left behind. Errors are only
    /// printed: this runs while a test ends, maybe while it is failing.
    fn drop(&mut self) {
        let Some(name) = &self.name else { return };
        let out = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &server_url(), "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "could not drop the test database {name}: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("could not drop the test database {name}: {e}"),
        }
    }
}

/// A fresh database for one test: a file in `dir`, or a new PostgreSQL database.
pub fn fresh(dir: &Path) -> TestDb {
    match backend() {
        Backend::Sqlite => TestDb {
            url: dir.join("herald.db").display().to_string(),
            name: None,
        },
        Backend::Postgres => {
            static N: AtomicU32 = AtomicU32::new(0);
            let name = format!(
                "herald_t{}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            );
            psql(&server_url(), &format!("CREATE DATABASE {name}"));
            TestDb {
                url: with_database(&server_url(), &name),
                name: Some(name),
            }
        }
    }
}

fn psql(url: &str, sql: &str) -> String {
    run(Command::new("psql").args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        url,
        "-c",
        sql,
    ]))
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("running the database shell");
    assert!(
        out.status.success(),
        "{:?}: {}",
        command,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `sql` on the test's database `url`; the rows as text, one per line, columns joined by `|`.
pub fn query(url: &str, sql: &str) -> String {
    match backend() {
        Backend::Sqlite => run(Command::new("sqlite3").arg(url).arg(sql)),
        Backend::Postgres => psql(url, sql),
    }
}

/// Every table's rows as text, from the database itself (`sqlite3 .dump` with the WAL checkpointed
/// first, or `pg_dump`).
pub fn dump(url: &str) -> String {
    match backend() {
        Backend::Sqlite => run(Command::new("sqlite3").arg(url).args([
            "-cmd",
            "PRAGMA wal_checkpoint(TRUNCATE);",
            ".dump",
        ])),
        Backend::Postgres => run(Command::new("pg_dump").args(["--data-only", url])),
    }
}

/// Makes every insert into `bounces` fail (a fault injected with a trigger) until
/// [`allow_bounce_rows`].
pub fn refuse_bounce_rows(url: &str) {
    match backend() {
        Backend::Sqlite => {
            query(
                url,
                "CREATE TRIGGER refuse BEFORE INSERT ON bounces BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
            );
        }
        Backend::Postgres => {
            psql(
                url,
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$;
                 CREATE TRIGGER refuse BEFORE INSERT ON bounces FOR EACH ROW EXECUTE FUNCTION refuse();",
            );
        }
    }
}

pub fn allow_bounce_rows(url: &str) {
    match backend() {
        Backend::Sqlite => {
            query(url, "DROP TRIGGER refuse");
        }
        Backend::Postgres => {
            psql(
                url,
                "DROP TRIGGER refuse ON bounces; DROP FUNCTION refuse();",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_options() {
        assert_eq!(
            with_database("postgres://herald@127.0.0.1:5433/postgres", "t1"),
            "postgres://herald@127.0.0.1:5433/t1"
        );
        assert_eq!(
            with_database("postgres://h@127.0.0.1:5433?sslmode=disable", "t1"),
            "postgres://h@127.0.0.1:5433/t1?sslmode=disable"
        );
    }
}

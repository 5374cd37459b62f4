//! `database.url`, parsed once: a SQLite file or a PostgreSQL server.

use std::{fmt, path::PathBuf};

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A path, `sqlite://PATH` or `sqlite:PATH` (query parameters after `?` are ignored).
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, as given (it may carry a password: never printed).
    Postgres(String),
}

impl DatabaseUrl {
    /// The error names what is wrong without repeating the URL, which may carry a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => {
                let rest = &url[url.find("://").map_or(0, |i| i + 3)..];
                if rest.is_empty() {
                    return Err("is a PostgreSQL URL without a host or database".into());
                }
                Ok(Self::Postgres(url.to_owned()))
            }
            None | Some("sqlite") => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err("names no SQLite file".into());
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            Some(other) => Err(format!(
                "`{other}://` is not a database herald knows: give a SQLite file path, a sqlite:// URL \
                 or a postgres:// URL"
            )),
        }
    }

    /// The PostgreSQL database's name as the driver reads the URL (its path or `dbname`, decoded;
    /// empty when it names none), or the SQLite file's path.
    pub fn database_name(&self) -> String {
        use std::str::FromStr;
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => sqlx::postgres::PgConnectOptions::from_str(url)
                .ok()
                .and_then(|o| o.get_database().map(str::to_owned))
                .unwrap_or_default(),
        }
    }

    /// The SQLite file, if that is the backend.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Sqlite(path) => Some(path),
            Self::Postgres(_) => None,
        }
    }
}

/// The path, or the PostgreSQL URL without its password.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a password in the query string
/// (`?password=…`) is masked too.
fn without_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_paths_name_a_file() {
        for url in [
            "var/herald.db",
            "sqlite://var/herald.db",
            "sqlite:var/herald.db?mode=rwc",
        ] {
            assert_eq!(
                DatabaseUrl::parse(url),
                Ok(DatabaseUrl::Sqlite("var/herald.db".into()))
            );
        }
    }

    #[test]
    fn a_postgres_url_is_kept_and_printed_without_its_password() {
        let url = DatabaseUrl::parse(
            "postgres://herald:s3cret@db.example:5432/herald?sslmode=require&password=x2",
        )
        .unwrap();
        assert!(matches!(url, DatabaseUrl::Postgres(_)));
        let shown = url.to_string();
        assert_eq!(
            shown,
            "postgres://herald:***@db.example:5432/herald?sslmode=require&password=***"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn a_postgres_database_is_named_by_its_path_whatever_the_host() {
        for url in [
            "postgres://a:pw@db1.example:5432/herald?sslmode=require",
            "postgresql://b@10.0.0.7/herald",
        ] {
            assert_eq!(DatabaseUrl::parse(url).unwrap().database_name(), "herald");
        }
    }

    #[test]
    fn unknown_schemes_are_refused_by_name() {
        let e = DatabaseUrl::parse("mysql://x/y").unwrap_err();
        assert!(e.contains("`mysql://`"), "{e}");
    }
}

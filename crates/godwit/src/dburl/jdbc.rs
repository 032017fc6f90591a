//! JDBC URLs, as Flyway projects write them: `jdbc:postgresql://…`, `jdbc:mysql://…`,
//! `jdbc:mariadb://…` and `jdbc:sqlite:…`, turned into the URL godwit connects with.
//!
//! The JDBC parameters that have a counterpart become that counterpart (`user` and `password`
//! the URL's user and password, `ssl`/`sslmode`/`useSSL` the TLS mode, `currentSchema` the search
//! path, …); every other parameter is refused by name, since godwit cannot do what it asks. The
//! rules are in docs/flyway.md, "JDBC URLs".

use std::borrow::Cow;

use super::{problem, redact_url, shown_name, UrlProblem};

/// The prefix of a JDBC URL.
const JDBC: &str = "jdbc:";

/// Whether `url` is a JDBC URL (`jdbc:…`, any case).
pub fn is_jdbc_url(url: &str) -> bool {
    url.get(..JDBC.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(JDBC))
}

/// The URL godwit connects with for `url`: a JDBC URL is converted (see [`jdbc_to_url`]); any
/// other URL is returned as it is.
pub fn native_url(url: &str) -> Result<Cow<'_, str>, UrlProblem> {
    if is_jdbc_url(url) {
        jdbc_to_url(url).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(url))
    }
}

/// Converts a JDBC URL into godwit's form:
///
/// - `jdbc:postgresql://host:port/db?user=u&password=p&sslmode=require&currentSchema=app` becomes
///   `postgres://u:p@host:port/db?sslmode=require&options[search_path]=app`
///   (`jdbc:postgresql:db` and `jdbc:postgresql:/` name a database on localhost);
/// - `jdbc:mysql://…` and `jdbc:mariadb://…` become `mysql://…` and `mariadb://…`, with
///   `useSSL`, `requireSSL`, `sslMode` and `characterEncoding` turned into `ssl-mode` and
///   `charset`;
/// - `jdbc:sqlite:path` (also `jdbc:sqlite:file:path`) becomes `sqlite:path`, and `jdbc:sqlite:`
///   or `jdbc:sqlite::memory:` an in-memory database.
///
/// The user and password of the parameters go into the URL, percent-encoded. A parameter without
/// a counterpart, a URL naming several hosts, and a sub-protocol godwit does not speak are
/// refused, naming the parameter (never its value) and what to do instead.
pub fn jdbc_to_url(url: &str) -> Result<String, UrlProblem> {
    let redacted = redact_url(url);
    let rest = &url[JDBC.len()..];
    let (sub, body) = rest.split_once(':').unwrap_or((rest, ""));
    match sub.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => server_url(Server::Postgres, body, &redacted),
        "mysql" => server_url(Server::MySql, body, &redacted),
        "mariadb" => server_url(Server::MariaDb, body, &redacted),
        "sqlite" => sqlite_url(body, &redacted),
        _ => Err(problem(
            format!("`{redacted}` is a JDBC URL for a database godwit does not support"),
            "godwit migrates PostgreSQL (jdbc:postgresql://), MySQL (jdbc:mysql://), MariaDB \
             (jdbc:mariadb://) and SQLite (jdbc:sqlite:)",
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Postgres,
    MySql,
    MariaDb,
}

impl Server {
    fn scheme(self) -> &'static str {
        match self {
            Server::Postgres => "postgres",
            Server::MySql => "mysql",
            Server::MariaDb => "mariadb",
        }
    }

    fn jdbc(self) -> &'static str {
        match self {
            Server::Postgres => "jdbc:postgresql",
            Server::MySql => "jdbc:mysql",
            Server::MariaDb => "jdbc:mariadb",
        }
    }

    /// The parameters with a counterpart, for the hint of a refused one.
    fn supported(self) -> &'static str {
        match self {
            Server::Postgres => {
                "`user`, `password`, `ssl`, `sslmode`, `sslrootcert`, `sslcert`, `sslkey`, \
                 `currentSchema`, `ApplicationName`, `options`"
            }
            Server::MySql => {
                "`user`, `password`, `useSSL`, `requireSSL`, `sslMode`, `characterEncoding`, \
                 `useUnicode=true`, `allowPublicKeyRetrieval`"
            }
            Server::MariaDb => {
                "`user`, `password`, `useSsl` (or `useSSL`), `sslMode`, `serverSslCert`, \
                 `trustServerCertificate`, `characterEncoding`, `allowPublicKeyRetrieval`"
            }
        }
    }
}

/// What a parameter becomes.
enum Param {
    /// The URL's user.
    User(String),
    /// The URL's password.
    Password(String),
    /// The TLS mode, unless the URL names one explicitly (`ssl=true`, `useSSL=true`).
    DefaultTls(&'static str),
    /// A parameter of godwit's URL.
    Native(&'static str, String),
    /// Nothing: godwit does this anyway.
    Nothing,
}

fn refused(name: &str, server: Server, redacted: &str, instead: Option<&str>) -> UrlProblem {
    let hint = match instead {
        Some(instead) => instead.to_owned(),
        None => format!(
            "remove it from the URL: godwit has no counterpart for it (its {} URLs take {})",
            server.jdbc(),
            server.supported()
        ),
    };
    problem(
        format!(
            "the JDBC parameter {} in `{redacted}` is not supported by godwit",
            shown_name(name)
        ),
        hint,
    )
}

fn bad_value(name: &str, value: &str, redacted: &str, allowed: &str) -> UrlProblem {
    let shown = if value.len() > 40 || super::is_secret_param(name) {
        String::new()
    } else {
        format!(" `{value}`")
    };
    problem(
        format!("the JDBC parameter `{name}` has the unsupported value{shown} in `{redacted}`"),
        format!("use {allowed}"),
    )
}

fn boolean(name: &str, value: &str, redacted: &str) -> Result<bool, UrlProblem> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(bad_value(name, value, redacted, "`true` or `false`")),
    }
}

/// The godwit counterpart of one JDBC parameter.
fn param(server: Server, name: &str, value: &str, redacted: &str) -> Result<Param, UrlProblem> {
    let lower = name.to_ascii_lowercase();
    if lower == "user" {
        return Ok(Param::User(value.to_owned()));
    }
    if lower == "password" {
        return Ok(Param::Password(value.to_owned()));
    }
    match server {
        Server::Postgres => match name {
            "ssl" => Ok(Param::DefaultTls(if boolean(name, value, redacted)? {
                // pgjdbc: `ssl=true` without `sslmode` verifies the certificate and host.
                "verify-full"
            } else {
                "disable"
            })),
            "sslmode" => match value {
                "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full" => {
                    Ok(Param::Native("sslmode", value.to_owned()))
                }
                _ => Err(bad_value(
                    name,
                    value,
                    redacted,
                    "`disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`",
                )),
            },
            "sslrootcert" | "sslcert" | "sslkey" => Ok(Param::Native(
                match name {
                    "sslrootcert" => "sslrootcert",
                    "sslcert" => "sslcert",
                    _ => "sslkey",
                },
                value.to_owned(),
            )),
            "currentSchema" => Ok(Param::Native("options[search_path]", value.to_owned())),
            "ApplicationName" => Ok(Param::Native("application_name", value.to_owned())),
            "options" => Ok(Param::Native("options", value.to_owned())),
            "sslfactory" => Err(refused(
                name,
                server,
                redacted,
                Some(
                    "remove it: `sslmode=require` encrypts without checking the certificate, \
                      `sslmode=verify-full` checks it against `sslrootcert`",
                ),
            )),
            "connectTimeout" | "loginTimeout" => Err(refused(
                name,
                server,
                redacted,
                Some(
                    "remove it and set `connect_timeout` (Flyway: `connectRetries` and \
                      `connectRetriesInterval` keep their meaning)",
                ),
            )),
            _ => Err(refused(name, server, redacted, None)),
        },
        Server::MySql | Server::MariaDb => match lower.as_str() {
            "usessl" | "requiressl" => Ok(Param::DefaultTls(if boolean(name, value, redacted)? {
                match (server, lower.as_str()) {
                    // MariaDB Connector/J: `useSsl` checks the certificate and host.
                    (Server::MariaDb, "usessl") => "VERIFY_IDENTITY",
                    _ => "REQUIRED",
                }
            } else {
                "DISABLED"
            })),
            "trustservercertificate" if server == Server::MariaDb => {
                if boolean(name, value, redacted)? {
                    Ok(Param::Native("ssl-mode", "REQUIRED".to_owned()))
                } else {
                    Ok(Param::Nothing)
                }
            }
            "sslmode" => {
                let mode = match value.to_ascii_lowercase().replace('-', "_").as_str() {
                    "disabled" | "disable" => "DISABLED",
                    "preferred" => "PREFERRED",
                    "required" | "trust" => "REQUIRED",
                    "verify_ca" => "VERIFY_CA",
                    "verify_identity" | "verify_full" => "VERIFY_IDENTITY",
                    _ => {
                        return Err(bad_value(
                            name,
                            value,
                            redacted,
                            match server {
                                Server::MariaDb => "`disable`, `trust`, `verify-ca` or `verify-full`",
                                _ => "`DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA` or `VERIFY_IDENTITY`",
                            },
                        ))
                    }
                };
                Ok(Param::Native("ssl-mode", mode.to_owned()))
            }
            "serversslcert" if server == Server::MariaDb => {
                Ok(Param::Native("ssl-ca", value.to_owned()))
            }
            "characterencoding" => {
                let charset = match value.to_ascii_lowercase().replace('_', "-").as_str() {
                    "utf-8" | "utf8" | "utf8mb4" => "utf8mb4",
                    "iso-8859-1" | "latin1" | "cp1252" | "windows-1252" => "latin1",
                    "us-ascii" | "ascii" => "ascii",
                    _ => return Err(bad_value(
                        name,
                        value,
                        redacted,
                        "`UTF-8`, `ISO-8859-1` or `US-ASCII` (godwit reads migrations as UTF-8)",
                    )),
                };
                Ok(Param::Native("charset", charset.to_owned()))
            }
            "useunicode" => {
                if boolean(name, value, redacted)? {
                    Ok(Param::Nothing)
                } else {
                    Err(bad_value(
                        name,
                        value,
                        redacted,
                        "`true`, or remove it (godwit always talks Unicode to the server)",
                    ))
                }
            }
            // sqlx asks the server for its RSA key whenever a password must be sent without TLS.
            "allowpublickeyretrieval" => {
                boolean(name, value, redacted)?;
                Ok(Param::Nothing)
            }
            "servertimezone" | "connectiontimezone" => Err(refused(
                name,
                server,
                redacted,
                Some(
                    "remove it: godwit converts no dates and keeps the server's time zone, as \
                      the mysql client does",
                ),
            )),
            "connecttimeout" => Err(refused(
                name,
                server,
                redacted,
                Some("remove it and set `connect_timeout` instead"),
            )),
            _ => Err(refused(name, server, redacted, None)),
        },
    }
}

/// `jdbc:postgresql:…`, `jdbc:mysql:…`, `jdbc:mariadb:…`.
fn server_url(server: Server, body: &str, redacted: &str) -> Result<String, UrlProblem> {
    let scheme = server.scheme();
    let example = format!("{}://host:port/database", server.jdbc());
    let (authority_and_path, query) = match body.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (body, None),
    };
    if authority_and_path.contains('#') || query.is_some_and(|q| q.contains('#')) {
        return Err(problem(
            format!("`{redacted}` has a `#` in it, which ends a URL"),
            "percent-encode `#` in a password as %23",
        ));
    }
    let base = if let Some(after) = authority_and_path.strip_prefix("//") {
        let authority = after.split('/').next().unwrap_or("");
        let host_part = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host_part.contains(',') {
            return Err(problem(
                format!("`{redacted}` names several hosts"),
                "godwit connects to one host: name the primary (failover lists and load \
                 balancing are the JDBC driver's)",
            ));
        }
        if host_part.is_empty() && server == Server::Postgres {
            format!("{scheme}://localhost{}", &after[authority.len()..])
        } else {
            format!("{scheme}:{authority_and_path}")
        }
    } else if server == Server::Postgres && !authority_and_path.contains(':') {
        // `jdbc:postgresql:database` and `jdbc:postgresql:/`: on localhost.
        format!(
            "{scheme}://localhost/{}",
            authority_and_path.trim_start_matches('/')
        )
    } else {
        return Err(problem(
            format!(
                "`{redacted}` is not a JDBC URL godwit can read (it lacks `//` before the host, or \
                 names a sub-protocol such as `loadbalance:`)"
            ),
            format!("write it as {example}"),
        ));
    };
    let mut parsed = url::Url::parse(&base).map_err(|e| {
        problem(
            format!("`{redacted}` is not a valid JDBC URL: {e}"),
            format!("write it as {example}"),
        )
    })?;
    let mut user = None;
    let mut password = None;
    let mut tls_default = None;
    let mut native: Vec<(&'static str, String)> = Vec::new();
    let pairs: Vec<(String, String)> = match query {
        // JDBC drivers split parameters at `&` (and MySQL's at `;` too, which is rare).
        Some(query) => url::form_urlencoded::parse(query.as_bytes())
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect(),
        None => Vec::new(),
    };
    for (index, (name, value)) in pairs.iter().enumerate() {
        if pairs[..index]
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Err(problem(
                format!("`{redacted}` gives {} twice", shown_name(name)),
                "keep one of them",
            ));
        }
        match param(server, name, value, redacted)? {
            Param::User(u) => user = Some(u),
            // An empty password is no password, as the JDBC drivers read it.
            Param::Password(p) => password = (!p.is_empty()).then_some(p),
            Param::DefaultTls(mode) => tls_default = Some(mode),
            Param::Native(key, value) => {
                native.retain(|(k, _)| *k != key);
                native.push((key, value));
            }
            Param::Nothing => {}
        }
    }
    let tls_key = match server {
        Server::Postgres => "sslmode",
        _ => "ssl-mode",
    };
    if let Some(mode) = tls_default {
        if !native.iter().any(|(k, _)| *k == tls_key) {
            native.push((tls_key, mode.to_owned()));
        }
    }
    if let Some(user) = user {
        if !parsed.username().is_empty() {
            return Err(problem(
                format!("`{redacted}` gives the user twice: before the host and as `user=`"),
                "keep one of them",
            ));
        }
        parsed.set_username(&user).map_err(|()| {
            problem(
                format!("`{redacted}` cannot carry a user"),
                format!("write it as {example}"),
            )
        })?;
    }
    if let Some(password) = password {
        if parsed.password().is_some() {
            return Err(problem(
                format!(
                    "`{redacted}` gives the password twice: before the host and as `password=`"
                ),
                "keep one of them",
            ));
        }
        if parsed.username().is_empty() {
            return Err(problem(
                format!("`{redacted}` has a password but no user"),
                "add `user=` to the URL, or set the user (Flyway's `user`, godwit's `user`)",
            ));
        }
        parsed.set_password(Some(&password)).map_err(|()| {
            problem(
                format!("`{redacted}` cannot carry a password"),
                format!("write it as {example}"),
            )
        })?;
    }
    parsed.set_query(None);
    if !native.is_empty() {
        let mut query = parsed.query_pairs_mut();
        for (key, value) in &native {
            query.append_pair(key, value);
        }
    }
    Ok(parsed.into())
}

/// `jdbc:sqlite:path`, `jdbc:sqlite:file:path?mode=ro`, `jdbc:sqlite::memory:`, `jdbc:sqlite:`.
fn sqlite_url(body: &str, redacted: &str) -> Result<String, UrlProblem> {
    let body = body.strip_prefix("file:").unwrap_or(body);
    let (path, query) = match body.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (body, None),
    };
    if path.is_empty() || path == ":memory:" {
        return Ok("sqlite::memory:".to_owned());
    }
    let mut params = Vec::new();
    if let Some(query) = query {
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "mode" | "cache" => params.push(format!("{name}={value}")),
                _ => {
                    return Err(problem(
                        format!(
                            "the JDBC parameter {} in `{redacted}` is not supported by godwit",
                            shown_name(&name)
                        ),
                        "remove it from the URL: godwit's SQLite URLs take `mode` and `cache` \
                         (the SQLite JDBC driver's pragmas have no counterpart)",
                    ))
                }
            }
        }
    }
    // sqlx percent-decodes the path: keep `%`, `?` and `#` of a file name as they are.
    let mut out = String::from("sqlite:");
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            _ => out.push(c),
        }
    }
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> String {
        jdbc_to_url(url).unwrap_or_else(|p| panic!("{url}: {p}"))
    }

    fn err(url: &str) -> UrlProblem {
        match jdbc_to_url(url) {
            Ok(u) => panic!("{url} was accepted as {u}"),
            Err(p) => p,
        }
    }

    #[test]
    fn postgres_urls() {
        for (jdbc, native) in [
            ("jdbc:postgresql://db:5432/app", "postgres://db:5432/app"),
            ("jdbc:postgresql://db/app", "postgres://db/app"),
            ("jdbc:postgresql:app", "postgres://localhost/app"),
            ("jdbc:postgresql:/", "postgres://localhost/"),
            ("jdbc:postgresql:///app", "postgres://localhost/app"),
            (
                "jdbc:postgresql://db/app?user=deploy&password=p%40ss%26",
                "postgres://deploy:p%40ss&@db/app",
            ),
            (
                "jdbc:postgresql://db/app?ssl=true",
                "postgres://db/app?sslmode=verify-full",
            ),
            (
                "jdbc:postgresql://db/app?ssl=true&sslmode=require",
                "postgres://db/app?sslmode=require",
            ),
            (
                "jdbc:postgresql://db/app?ssl=false",
                "postgres://db/app?sslmode=disable",
            ),
            (
                "jdbc:postgresql://db/app?currentSchema=app,public&ApplicationName=ci",
                "postgres://db/app?options%5Bsearch_path%5D=app%2Cpublic&application_name=ci",
            ),
            (
                "jdbc:postgresql://[::1]:5433/app",
                "postgres://[::1]:5433/app",
            ),
            ("JDBC:PostgreSQL://db/app", "postgres://db/app"),
        ] {
            assert_eq!(ok(jdbc), native, "{jdbc}");
            assert!(super::super::check_url(native).is_ok(), "{native}");
        }
    }

    #[test]
    fn mysql_and_mariadb_urls() {
        for (jdbc, native) in [
            ("jdbc:mysql://db:3306/app", "mysql://db:3306/app"),
            (
                "jdbc:mysql://db/app?user=root&password=&useSSL=false&allowPublicKeyRetrieval=true",
                "mysql://root@db/app?ssl-mode=DISABLED",
            ),
            (
                "jdbc:mysql://db/app?useSSL=true&characterEncoding=UTF-8&useUnicode=true",
                "mysql://db/app?charset=utf8mb4&ssl-mode=REQUIRED",
            ),
            (
                "jdbc:mysql://db/app?sslMode=VERIFY_IDENTITY",
                "mysql://db/app?ssl-mode=VERIFY_IDENTITY",
            ),
            ("jdbc:mysql://u:p@db/app", "mysql://u:p@db/app"),
            ("jdbc:mariadb://db/app?user=u", "mariadb://u@db/app"),
            (
                "jdbc:mariadb://db/app?useSsl=true",
                "mariadb://db/app?ssl-mode=VERIFY_IDENTITY",
            ),
            (
                "jdbc:mariadb://db/app?sslMode=trust",
                "mariadb://db/app?ssl-mode=REQUIRED",
            ),
            (
                "jdbc:mariadb://db/app?sslMode=verify-full&serverSslCert=/ca.pem",
                "mariadb://db/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fca.pem",
            ),
        ] {
            assert_eq!(ok(jdbc), native, "{jdbc}");
            assert!(super::super::check_url(native).is_ok(), "{native}");
        }
    }

    #[test]
    fn sqlite_urls() {
        for (jdbc, native) in [
            ("jdbc:sqlite:app.db", "sqlite:app.db"),
            ("jdbc:sqlite:/var/lib/app.db", "sqlite:/var/lib/app.db"),
            (
                "jdbc:sqlite:file:data/app.db?mode=ro",
                "sqlite:data/app.db?mode=ro",
            ),
            ("jdbc:sqlite::memory:", "sqlite::memory:"),
            ("jdbc:sqlite:", "sqlite::memory:"),
            ("jdbc:sqlite:odd%#.db", "sqlite:odd%25%23.db"),
        ] {
            assert_eq!(ok(jdbc), native, "{jdbc}");
        }
    }

    #[test]
    fn refusals_name_the_parameter_and_never_a_password() {
        for (url, says) in [
            (
                "jdbc:postgresql://db/app?prepareThreshold=0",
                "`prepareThreshold`",
            ),
            (
                "jdbc:postgresql://db/app?sslfactory=org.postgresql.ssl.NonValidatingFactory",
                "`sslfactory`",
            ),
            ("jdbc:postgresql://db/app?sslmode=bogus", "`sslmode`"),
            ("jdbc:mysql://db/app?serverTimezone=UTC", "`serverTimezone`"),
            (
                "jdbc:mysql://db/app?rewriteBatchedStatements=true",
                "`rewriteBatchedStatements`",
            ),
            ("jdbc:mysql://a,b/app", "several hosts"),
            ("jdbc:postgresql://a:1,b:2/app", "several hosts"),
            (
                "jdbc:mysql:loadbalance://a/app",
                "not a JDBC URL godwit can read",
            ),
            ("jdbc:sqlserver://db;databaseName=x", "does not support"),
            ("jdbc:sqlite:app.db?journal_mode=WAL", "`journal_mode`"),
            (
                "jdbc:postgresql://db/app?user=u&password=s3cret-pw&user=v",
                "`user` twice",
            ),
        ] {
            let p = err(url);
            let text = p.to_string();
            assert!(text.contains(says), "{url}: {text}");
            assert!(!text.contains("s3cret-pw"), "{text}");
        }
        let p = err("jdbc:postgresql://db/app?password=s3cret-pw&tcpKeepAlive=true");
        assert!(!p.to_string().contains("s3cret-pw"), "{p}");
        assert!(p.message.contains("`tcpKeepAlive`"), "{p}");
        let p = err("jdbc:postgresql://db/app?password=s3cret-pw");
        assert!(p.message.contains("no user"), "{p}");
    }

    #[test]
    fn native_urls_pass_through() {
        assert_eq!(native_url("postgres://h/db").unwrap(), "postgres://h/db");
        assert_eq!(native_url("jdbc:sqlite:a.db").unwrap(), "sqlite:a.db");
        assert!(is_jdbc_url("JDBC:mysql://h/db"));
        assert!(!is_jdbc_url("jdb"));
    }
}

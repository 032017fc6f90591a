//! Connection problems: refused, unknown host, bad login, missing database. Each is exit 3
//! within seconds, shows the URL redacted, and never prints the password. TLS when the URL
//! asks for it.

use std::time::{Duration, Instant};

use godwit_test_support::{Kind, Project};

const SECRET: &str = "S3cret-Never-Shown";

/// Runs the reading and writing commands against `url` and checks each fails to connect the
/// way a user should see it.
#[track_caller]
fn check_unreachable(p: &Project, url: &str, says: &str) {
    let redacted = url.replace(SECRET, "***");
    for args in [
        &["migrate", "--url", url][..],
        &["info", "--url", url],
        &["current", "--url", url],
    ] {
        let started = Instant::now();
        let run = p.godwit(args);
        let elapsed = started.elapsed();
        run.code(3)
            .stderr_has(&format!("cannot connect to {redacted}"))
            .stderr_has(says)
            .stderr_has("hint: check that the server is running");
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}\n{run}");
        assert!(!run.stderr.contains(SECRET), "{run}");
        assert!(!run.stdout.contains(SECRET), "{run}");
    }
    let run = p.godwit(&["migrate", "--json", "--url", url]);
    run.code(3);
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "{run}"
    );
    assert_eq!(run.json()["error"]["category"], "connection");
    // The URL may come from the environment too; it is redacted all the same.
    let run = p.godwit_env(&["migrate"], &[("GODWIT_URL", url)]);
    run.code(3);
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "{run}"
    );
}

/// The server's URL with another user, password and database.
fn url_with(p: &Project, user: &str, password: &str, database: &str) -> String {
    let url = &p.db.url;
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host_and_path.split('/').next().expect("host");
    let auth = if password.is_empty() {
        user.to_string()
    } else {
        format!("{user}:{password}")
    };
    format!("{scheme}://{auth}@{host}/{database}")
}

fn refused_and_unknown_hosts_are_exit_3(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let scheme = if kind == Kind::Postgres {
        "postgres"
    } else {
        "mariadb"
    };
    check_unreachable(
        &p,
        &format!("{scheme}://app:{SECRET}@127.0.0.1:1/db"),
        "Connection refused",
    );
    check_unreachable(
        &p,
        &format!("{scheme}://app:{SECRET}@no-such-host.invalid:5432/db"),
        "no-such-host.invalid",
    );
}

fn missing_database_is_exit_3(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let missing = format!("{}_missing", p.db.name());
    let (user, says) = match kind {
        Kind::Postgres => ("postgres", format!("database \"{missing}\" does not exist")),
        _ => ("root", format!("Unknown database '{missing}'")),
    };
    check_unreachable(&p, &url_with(&p, user, "", &missing), &says);
}

/// One test per server database (SQLite has no server to miss).
macro_rules! on_servers {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn postgres() {
                    super::$name(godwit_test_support::Kind::Postgres)
                }
                #[test]
                fn mysql() {
                    super::$name(godwit_test_support::Kind::MySql)
                }
            }
        )+
    };
}

on_servers!(
    refused_and_unknown_hosts_are_exit_3,
    missing_database_is_exit_3
);

/// Drops the roles or users a test made when it ends, however it ends.
struct Cleanup {
    kind: Kind,
    url: String,
    statements: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        use sqlx::Connection;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async {
            for sql in &self.statements {
                let _ = match self.kind {
                    Kind::Postgres => match sqlx::PgConnection::connect(&self.url).await {
                        Ok(mut c) => sqlx::raw_sql(sql).execute(&mut c).await.map(drop),
                        Err(e) => Err(e),
                    },
                    _ => match sqlx::MySqlConnection::connect(&self.url).await {
                        Ok(mut c) => sqlx::raw_sql(sql).execute(&mut c).await.map(drop),
                        Err(e) => Err(e),
                    },
                };
            }
        });
    }
}

/// The local test server trusts every login from 127.0.0.1, so a wrong password cannot be
/// refused there: a role that may not log in and a role that does not exist are the bad
/// logins it does refuse.
#[test]
fn postgres_bad_login_is_exit_3() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let role = format!("{}_nologin", p.db.name());
    p.db.exec(&format!("CREATE ROLE {role} NOLOGIN PASSWORD '{SECRET}'"));
    let _cleanup = Cleanup {
        kind: Kind::Postgres,
        url: p.db.url.clone(),
        statements: vec![format!("DROP ROLE IF EXISTS {role}")],
    };
    check_unreachable(
        &p,
        &url_with(&p, &role, SECRET, p.db.name()),
        &format!("role \"{role}\" is not permitted to log in"),
    );
    let ghost = format!("{}_ghost", p.db.name());
    check_unreachable(
        &p,
        &url_with(&p, &ghost, SECRET, p.db.name()),
        &format!("role \"{ghost}\" does not exist"),
    );
}

#[test]
fn mysql_wrong_password_is_exit_3() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let user = format!("u{}", &p.db.name()[p.db.name().len().saturating_sub(20)..]);
    let right = "Right-Pass-1";
    let mut statements = Vec::new();
    for host in ["%", "127.0.0.1", "localhost"] {
        p.db.exec(&format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{right}'"
        ));
        p.db.exec(&format!(
            "GRANT ALL ON `{}`.* TO '{user}'@'{host}'",
            p.db.name()
        ));
        statements.push(format!("DROP USER IF EXISTS '{user}'@'{host}'"));
    }
    let _cleanup = Cleanup {
        kind: Kind::MySql,
        url: p.db.url.clone(),
        statements,
    };
    check_unreachable(
        &p,
        &url_with(&p, &user, SECRET, p.db.name()),
        &format!("Access denied for user '{user}'"),
    );
    // The right password works, so it was the password that was refused.
    p.godwit(&["migrate", "--url", &url_with(&p, &user, right, p.db.name())])
        .success();
}

/// `sslmode=require` connects over TLS when the server offers it, and is exit 3 with a message
/// naming TLS when it does not; a certificate that cannot be verified is exit 3 too.
#[test]
fn postgres_sslmode_require_uses_tls() {
    let p = Project::new(Kind::Postgres);
    let server_has_tls = p.db.query("SHOW ssl") == [Some("on".to_string())];
    p.migration(
        "V1__tls.sql",
        "CREATE TABLE tls AS SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();",
    );
    let url = format!("{}?sslmode=require", p.db.url);
    let run = p.godwit(&["migrate", "--url", &url]);
    if server_has_tls {
        run.success();
        assert_eq!(p.db.query("SELECT ssl FROM tls"), [Some("true".into())]);
        // The test server's certificate is self-signed: verifying it must fail cleanly.
        let url = url_with(&p, "postgres", SECRET, p.db.name()) + "?sslmode=verify-full";
        check_unreachable(&p, &url, "TLS handshake failed");
    } else {
        run.code(3).stderr_has("TLS");
    }
}

#[test]
fn mysql_sslmode_require_uses_tls() {
    let p = Project::new(Kind::MySql);
    let have_ssl =
        p.db.query("SELECT CAST(@@have_ssl AS CHAR)")
            .into_iter()
            .flatten()
            .next();
    p.migration(
        "V1__tls.sql",
        "CREATE TABLE tls AS SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER';",
    );
    // PostgreSQL's spelling and MySQL's own are both understood.
    for mode in ["sslmode=require", "ssl-mode=REQUIRED"] {
        let url = format!("{}?{mode}", url_with(&p, "root", SECRET, p.db.name()));
        let run = p.godwit(&["info", "--url", &url]);
        assert!(!run.stderr.contains("invalid"), "{run}");
        if have_ssl.as_deref() == Some("YES") {
            // Root has no password here: the secret is refused, over TLS.
            run.code(3).stderr_has("Access denied");
        } else {
            check_unreachable(&p, &url, "TLS");
        }
    }
    if have_ssl.as_deref() == Some("YES") {
        let url = format!("{}?sslmode=require", p.db.url);
        p.godwit(&["migrate", "--url", &url]).success();
        let cipher = p.db.query("SELECT cipher FROM tls");
        assert!(
            cipher[0].as_deref().is_some_and(|c| !c.is_empty()),
            "{cipher:?}"
        );
    }
}

/// `postgresql://` and `mariadb://` are the same drivers as `postgres://` and `mysql://`.
fn alternative_url_schemes_connect(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let (from, to) = match kind {
        Kind::Postgres => ("postgres://", "postgresql://"),
        _ => ("mysql://", "mariadb://"),
    };
    let url = p.db.url.replacen(from, to, 1);
    p.godwit(&["migrate", "--url", &url])
        .success()
        .stderr_has(&format!("Migrating {to}"));
    p.godwit(&["current", "--url", &url])
        .success()
        .stdout_has("1");
}

on_servers!(alternative_url_schemes_connect);

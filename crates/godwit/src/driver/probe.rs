//! Which database answers at a URL's host and port, asked after a connection failed without a
//! word from the server that godwit could read: a `postgres://` URL pointed at MariaDB's port
//! is told "the server there is MySQL or MariaDB", not the driver's protocol error, and a
//! `mysql://` URL pointed at PostgreSQL's port is told so instead of only "no answer".
//!
//! MySQL and MariaDB greet first (a handshake packet of protocol version 10, or an error
//! packet); PostgreSQL says nothing until the client speaks, and answers an `SSLRequest` with a
//! single byte, `S` or `N`. Nothing else is sent: no login is tried.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Dialect, DriverError, DriverErrorKind};

/// How long the probe waits to connect, and for each answer.
const CONNECT_LIMIT: Duration = Duration::from_secs(2);
const GREETING_WAIT: Duration = Duration::from_millis(500);
const ANSWER_WAIT: Duration = Duration::from_secs(1);

/// PostgreSQL's `SSLRequest`: the length (8) and the request code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Asks `host:port` which protocol it speaks; `None` when it tells neither (it cannot be
/// reached, says nothing, or speaks something else).
async fn identify(host: &str, port: u16) -> Option<Dialect> {
    let connect = tokio::net::TcpStream::connect((host, port));
    let mut stream = tokio::time::timeout(CONNECT_LIMIT, connect)
        .await
        .ok()?
        .ok()?;
    let mut buf = [0u8; 16];
    match tokio::time::timeout(GREETING_WAIT, stream.read(&mut buf)).await {
        // A packet: 3 bytes of length, a sequence number, then the protocol version (10) or
        // 0xff for an error packet ("Host ... is blocked", "Too many connections").
        Ok(Ok(n)) if n >= 5 && buf[3] == 0 && (buf[4] == 10 || buf[4] == 0xff) => {
            Some(Dialect::MySql)
        }
        Ok(_) => None,
        // Silence: a server waiting for the client, as PostgreSQL does.
        Err(_) => {
            stream.write_all(&SSL_REQUEST).await.ok()?;
            let mut answer = [0u8; 1];
            match tokio::time::timeout(ANSWER_WAIT, stream.read(&mut answer)).await {
                Ok(Ok(1)) if answer[0] == b'S' || answer[0] == b'N' => Some(Dialect::Postgres),
                _ => None,
            }
        }
    }
}

/// The TCP host and port a PostgreSQL or MySQL URL connects to; `None` for a Unix socket.
fn tcp_target(url: &str, dialect: Dialect) -> Option<(String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed
        .query_pairs()
        .any(|(k, _)| k == "host" || k == "socket" || k == "hostaddr")
    {
        return None;
    }
    let host = parsed
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() || host.starts_with('/') {
        return None;
    }
    let default = if dialect == Dialect::Postgres {
        5432
    } else {
        3306
    };
    Some((host.to_owned(), parsed.port().unwrap_or(default)))
}

fn name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "PostgreSQL",
        Dialect::MySql => "MySQL or MariaDB",
        Dialect::Sqlite => "SQLite",
    }
}

/// A failed connection to a PostgreSQL or MySQL URL, explained when another database answers
/// at its host and port; otherwise `error` as it was. Only failures with no word from the
/// server (no error code: a protocol error, no answer, a refused connection) are probed.
pub(crate) async fn explain(url: &str, dialect: Dialect, error: DriverError) -> DriverError {
    if error.kind != DriverErrorKind::Connection
        || error.code.is_some()
        || dialect == Dialect::Sqlite
    {
        return error;
    }
    let Some((host, port)) = tcp_target(url, dialect) else {
        return error;
    };
    match identify(&host, port).await {
        Some(found) if found != dialect => {
            let (scheme, default_port) = match found {
                Dialect::Postgres => ("postgres://", 5432),
                _ => ("mysql://", 3306),
            };
            let own_port = if dialect == Dialect::Postgres {
                5432
            } else {
                3306
            };
            let shown = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            DriverError {
                kind: DriverErrorKind::Connection,
                message: format!(
                    "the server at {shown} is {} (it answered as one), not {}: for that server use a {scheme} URL (its usual port is {default_port}), or point this URL at the {} server's port ({own_port} by default)",
                    name(found),
                    name(dialect),
                    name(dialect),
                ),
                code: None,
            }
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_tcp_hosts_and_ports() {
        assert_eq!(
            tcp_target("postgres://u@db.internal/app", Dialect::Postgres),
            Some(("db.internal".into(), 5432))
        );
        assert_eq!(
            tcp_target("mysql://u@127.0.0.1:3307/app", Dialect::MySql),
            Some(("127.0.0.1".into(), 3307))
        );
        assert_eq!(
            tcp_target("postgres://u@[::1]:5433/app", Dialect::Postgres),
            Some(("::1".into(), 5433))
        );
        assert_eq!(
            tcp_target(
                "postgres:///app?host=/var/run/postgresql",
                Dialect::Postgres
            ),
            None
        );
        assert_eq!(
            tcp_target(
                "mysql://u@localhost/app?socket=/run/mysqld.sock",
                Dialect::MySql
            ),
            None
        );
    }
}

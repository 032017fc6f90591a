//! Limits on the migrations' own statements: how long one may wait for a lock
//! (`statement_lock_timeout`) and how long it may run (`statement_timeout`), set per migration
//! from the configuration or the file's directives, and the retry of a transactional migration
//! that could not get a lock. Not to be confused with `lock_timeout`, the wait for godwit's own
//! migration lock.
//!
//! The SQL is rendered here, as pure functions, so that a dry run prints what a real run sends.

use std::time::Duration;

use crate::driver::Dialect;

/// The limits a migration's statements run under; `None` leaves the server's setting alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementLimits {
    /// How long a statement may wait for a lock another session holds.
    pub lock_timeout: Option<Duration>,
    /// How long a statement may run.
    pub timeout: Option<Duration>,
}

impl StatementLimits {
    /// Whether nothing is set (zero durations count as unset).
    pub fn is_empty(&self) -> bool {
        self.lock().is_none() && self.run().is_none()
    }

    fn lock(&self) -> Option<Duration> {
        self.lock_timeout.filter(|d| !d.is_zero())
    }

    fn run(&self) -> Option<Duration> {
        self.timeout.filter(|d| !d.is_zero())
    }
}

/// The directive names, as written after `-- godwit:`.
pub(crate) const LOCK_DIRECTIVE: &str = "statement-lock-timeout";
pub(crate) const TIMEOUT_DIRECTIVE: &str = "statement-timeout";

/// Parses a directive's duration: `500ms`, `5s`, `2m`, `1h`, several parts (`1m 30s`), or a
/// whole number of seconds. At least a millisecond and at most a year.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad =
        || format!("`{text}` is not a duration: write it like `500ms`, `5s`, `2m` or `1h 30m`");
    if text.is_empty() {
        return Err("the duration is missing: write it like `5s`".into());
    }
    let mut total = Duration::ZERO;
    if text.bytes().all(|b| b.is_ascii_digit()) {
        total = Duration::from_secs(text.parse::<u64>().map_err(|_| bad())?.min(u64::MAX / 2));
    } else {
        for part in text.split_whitespace() {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .filter(|&i| i > 0)
                .ok_or_else(bad)?;
            let (number, unit) = part.split_at(split);
            let n: u64 = number.parse().map_err(|_| bad())?;
            let unit_ms: u64 = match unit.to_ascii_lowercase().as_str() {
                "ms" => 1,
                "s" | "sec" | "secs" => 1_000,
                "m" | "min" | "mins" => 60_000,
                "h" | "hr" | "hrs" => 3_600_000,
                "d" | "day" | "days" => 86_400_000,
                _ => return Err(bad()),
            };
            total = total.saturating_add(Duration::from_millis(n.saturating_mul(unit_ms)));
        }
    }
    check_duration(total)
}

/// A statement limit is at least a millisecond (zero would mean "no limit" on some servers and
/// "fail at once" on others) and at most a year.
pub(crate) fn check_duration(d: Duration) -> Result<Duration, String> {
    if d < Duration::from_millis(1) {
        Err("must be at least 1ms: leave it unset to keep the server's own setting".into())
    } else if d > Duration::from_secs(365 * 86_400) {
        Err("is longer than a year: use a duration of at most 365 days".into())
    } else {
        Ok(d)
    }
}

/// The statements that give a migration its limits, and those that give the session its own
/// settings back afterwards (none where the limits end with the transaction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LimitSql {
    pub set: Vec<String>,
    pub reset: Vec<String>,
}

/// Renders the limits for one migration.
///
/// - PostgreSQL: `SET LOCAL lock_timeout` / `statement_timeout` inside the migration's
///   transaction (they end with it); outside one, `SET` and then `RESET` (back to the
///   connection's default).
/// - MariaDB: `lock_wait_timeout` (metadata locks) and `innodb_lock_wait_timeout` (row locks),
///   in whole seconds (rounded up), and `max_statement_time`; MySQL: `max_execution_time`,
///   which limits only `SELECT` statements. The session's values are kept in user variables
///   and restored afterwards.
/// - SQLite: the busy timeout (`sqlite_busy_ms`, the connection's own, is restored); SQLite
///   has no statement timeout.
pub(crate) fn limit_sql(
    dialect: Dialect,
    mariadb: bool,
    limits: &StatementLimits,
    transactional: bool,
    sqlite_busy_ms: Option<u64>,
) -> LimitSql {
    let mut out = LimitSql::default();
    match dialect {
        Dialect::Postgres => {
            let scope = if transactional { "SET LOCAL" } else { "SET" };
            for (name, value) in [
                ("lock_timeout", limits.lock()),
                ("statement_timeout", limits.run()),
            ] {
                if let Some(d) = value {
                    out.set
                        .push(format!("{scope} {name} = '{}ms'", d.as_millis()));
                    if !transactional {
                        out.reset.push(format!("RESET {name}"));
                    }
                }
            }
        }
        Dialect::MySql => {
            let mut vars: Vec<(&str, String)> = Vec::new();
            if let Some(d) = limits.lock() {
                let secs = d.as_millis().div_ceil(1000).clamp(1, 31_536_000);
                vars.push(("lock_wait_timeout", secs.to_string()));
                vars.push(("innodb_lock_wait_timeout", secs.to_string()));
            }
            if let Some(d) = limits.run() {
                if mariadb {
                    let ms = d.as_millis();
                    vars.push((
                        "max_statement_time",
                        format!("{}.{:03}", ms / 1000, ms % 1000),
                    ));
                } else {
                    vars.push((
                        "max_execution_time",
                        d.as_millis().min(u128::from(u32::MAX)).to_string(),
                    ));
                }
            }
            if !vars.is_empty() {
                let save: Vec<String> = vars
                    .iter()
                    .map(|(name, _)| format!("@godwit_saved_{name} = @@SESSION.{name}"))
                    .collect();
                out.set.push(format!("SET {}", save.join(", ")));
                let set: Vec<String> = vars
                    .iter()
                    .map(|(name, value)| format!("SESSION {name} = {value}"))
                    .collect();
                out.set.push(format!("SET {}", set.join(", ")));
                let restore: Vec<String> = vars
                    .iter()
                    .map(|(name, _)| format!("SESSION {name} = @godwit_saved_{name}"))
                    .collect();
                out.reset.push(format!("SET {}", restore.join(", ")));
            }
        }
        Dialect::Sqlite => {
            if let Some(d) = limits.lock() {
                let ms = d.as_millis().min(i32::MAX as u128);
                out.set.push(format!("PRAGMA busy_timeout = {ms}"));
                out.reset.push(format!(
                    "PRAGMA busy_timeout = {}",
                    sqlite_busy_ms.unwrap_or(0)
                ));
            }
        }
    }
    out
}

/// Whether a database error says a statement could not get a lock: it waited past the lock
/// timeout (PostgreSQL `55P03`, MySQL/MariaDB 1205, for row and metadata locks alike), or was
/// chosen as a deadlock's victim (`40P01`, 1213), which rolls its transaction back too.
pub(crate) fn is_lock_failure(code: Option<&str>) -> bool {
    let Some(code) = code else {
        return false;
    };
    let number = code.split_whitespace().next().unwrap_or(code);
    matches!(number, "55P03" | "40P01" | "1205" | "1213")
}

/// Whether a database error says a statement ran past its time limit (PostgreSQL `57014` from a
/// statement timeout, MariaDB 1969, MySQL 3024).
pub(crate) fn is_statement_timeout(code: Option<&str>, message: &str) -> bool {
    let Some(code) = code else {
        return false;
    };
    let number = code.split_whitespace().next().unwrap_or(code);
    match number {
        "57014" => message.contains("statement timeout"),
        "1969" | "3024" => true,
        _ => false,
    }
}

/// How long to wait before retry number `attempt` (1-based): 1 s doubled each time, at most
/// 30 s, of which a random part (up to half) is left out, so that nodes that failed together do
/// not retry together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let full = Duration::from_secs(1)
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(5))
        .min(Duration::from_secs(30));
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let fraction = (hasher.finish() % 1000) as u32;
    full - full / 2 * fraction / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 2H "), Ok(Duration::from_secs(7200)));
        for bad in ["", "0", "0s", "5 s", "s", "-1s", "1.5s", "5x", "400d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn postgres_limits_end_with_the_transaction() {
        let limits = StatementLimits {
            lock_timeout: Some(Duration::from_millis(1500)),
            timeout: Some(Duration::from_secs(60)),
        };
        let tx = limit_sql(Dialect::Postgres, false, &limits, true, None);
        assert_eq!(
            tx.set,
            [
                "SET LOCAL lock_timeout = '1500ms'",
                "SET LOCAL statement_timeout = '60000ms'"
            ]
        );
        assert!(tx.reset.is_empty());
        let outside = limit_sql(Dialect::Postgres, false, &limits, false, None);
        assert_eq!(
            outside.reset,
            ["RESET lock_timeout", "RESET statement_timeout"]
        );
        assert_eq!(
            limit_sql(
                Dialect::Postgres,
                false,
                &StatementLimits::default(),
                true,
                None
            ),
            LimitSql::default()
        );
    }

    #[test]
    fn mysql_limits_are_saved_and_restored() {
        let limits = StatementLimits {
            lock_timeout: Some(Duration::from_millis(1500)),
            timeout: Some(Duration::from_millis(2250)),
        };
        let maria = limit_sql(Dialect::MySql, true, &limits, true, None);
        assert_eq!(maria.set[1], "SET SESSION lock_wait_timeout = 2, SESSION innodb_lock_wait_timeout = 2, SESSION max_statement_time = 2.250");
        assert!(maria.set[0]
            .starts_with("SET @godwit_saved_lock_wait_timeout = @@SESSION.lock_wait_timeout"));
        assert!(maria.reset[0]
            .contains("SESSION max_statement_time = @godwit_saved_max_statement_time"));
        let mysql = limit_sql(Dialect::MySql, false, &limits, true, None);
        assert!(mysql.set[1].ends_with("SESSION max_execution_time = 2250"));
    }

    #[test]
    fn lock_failures() {
        assert!(is_lock_failure(Some("55P03")));
        assert!(is_lock_failure(Some("1205 (HY000)")));
        assert!(is_lock_failure(Some("1213 (40001)")));
        assert!(!is_lock_failure(Some("42P01")));
        assert!(!is_lock_failure(None));
        assert!(is_statement_timeout(
            Some("57014"),
            "canceling statement due to statement timeout"
        ));
        assert!(!is_statement_timeout(
            Some("57014"),
            "canceling statement due to user request"
        ));
    }

    #[test]
    fn backoff_grows_with_jitter() {
        for attempt in 1..10 {
            let full = Duration::from_secs(1 << (attempt - 1).min(5)).min(Duration::from_secs(30));
            let d = backoff(attempt);
            assert!(d <= full && d >= full / 2, "{attempt}: {d:?}");
        }
    }
}

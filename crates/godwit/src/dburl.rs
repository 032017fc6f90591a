//! Database URLs: the one place that takes them apart, for redaction (what may be shown) and
//! for checking (what godwit refuses before connecting).
//!
//! Redaction hides every secret a URL can carry:
//!
//! - the password of `user:password@` (however it is written: percent-encoded, or with `@ / : # ?`
//!   left unencoded, which moves where a naive parser sees the host);
//! - the value of every password-like query parameter ([`is_secret_param`]);
//! - a fragment (`#…`), which in a database URL is nearly always the tail of a password with an
//!   unencoded `#`;
//! - in URLs that cannot be taken apart with certainty (`postgres:/u:pw@host/db`,
//!   `postgresql:u:pw@host/db`, an unknown scheme, an invalid port), everything before the last
//!   `@` but the user name.
//!
//! A URL that cannot be taken apart with certainty is redacted too much rather than too little.

use crate::driver::Dialect;

/// The text that replaces a secret.
const MASK: &str = "***";

/// Whether a query parameter holds a secret, by its name (case, `-` and `_` ignored): `password`,
/// `pass`, `passwd`, `pwd`, `sslpassword`, `sslkey` and `sslkeypassword`, and any name containing
/// `password`, `passwd`, `secret` or `token`.
pub fn is_secret_param(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        name.as_str(),
        "pass" | "passwd" | "password" | "pwd" | "sslpassword" | "sslkey" | "sslkeypassword"
    ) || ["password", "passwd", "secret", "token"]
        .iter()
        .any(|word| name.contains(word))
}

/// The URL with every secret replaced by `***`, safe to show in any message or log.
///
/// `postgres://app:s3cret@db/app?sslmode=require` becomes
/// `postgres://app:***@db/app?sslmode=require`.
pub fn redact_url(url: &str) -> String {
    redact(url).0
}

/// Removes every secret of `url` (raw and percent-decoded) from a message that a library or a
/// server produced, in case it echoed one; the URL itself is replaced by its redacted form.
pub fn scrub(message: &str, url: &str) -> String {
    let (redacted, secrets) = redact(url);
    let out = if url.is_empty() {
        message.to_owned()
    } else {
        message.replace(url, &redacted)
    };
    scrub_secrets(&out, &secrets)
}

/// Removes each secret from a message: long ones wherever they appear, short ones (fewer than
/// four characters) where they stand alone, so that a one-letter password does not mangle the
/// message.
pub fn scrub_secrets<S: AsRef<str>>(message: &str, secrets: &[S]) -> String {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !s.is_empty() && *s != MASK)
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_owned();
    for secret in secrets {
        if secret.chars().count() >= 4 {
            out = out.replace(secret, MASK);
        } else {
            out = replace_standalone(&out, secret);
        }
    }
    out
}

/// Replaces `needle` where it is not part of a longer word.
fn replace_standalone(text: &str, needle: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let before = rest[..at]
            .chars()
            .next_back()
            .or_else(|| out.chars().next_back());
        let after = rest[at + needle.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(needle);
        } else {
            out.push_str(MASK);
        }
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// Percent-decodes, keeping invalid escapes and invalid UTF-8 (lossily).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The schemes godwit knows, lowercased, with their dialect.
fn dialect_of_scheme(scheme: &str) -> Option<Dialect> {
    match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Some(Dialect::Postgres),
        "mysql" | "mariadb" => Some(Dialect::MySql),
        "sqlite" => Some(Dialect::Sqlite),
        _ => None,
    }
}

/// Splits `scheme:` off, when the text starts with a valid scheme.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// Adds a secret, raw and percent-decoded.
fn add_secret(secrets: &mut Vec<String>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    secrets.push(raw.to_owned());
    let decoded = percent_decode(raw);
    if decoded != raw {
        secrets.push(decoded);
    }
    let plus = percent_decode(&raw.replace('+', " "));
    if plus != raw {
        secrets.push(plus);
    }
}

/// Redacts the query (after `?`) and the fragment (after `#`) of `tail`, collecting secrets.
fn redact_tail(tail: &str, secrets: &mut Vec<String>) -> String {
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    // Every `name=value` between `?` and `&` separators is a parameter, wherever it is: in a URL
    // read loosely, the query may have started before the last `@`.
    let mut out = String::with_capacity(before_fragment.len());
    let mut piece_start = 0;
    let bytes = before_fragment.as_bytes();
    for end in (0..=bytes.len()).filter(|&i| i == bytes.len() || matches!(bytes[i], b'?' | b'&')) {
        let piece = &before_fragment[piece_start..end];
        match piece.split_once('=') {
            Some((name, value)) if piece_start > 0 && is_secret_param(&percent_decode(name)) => {
                add_secret(secrets, value);
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(piece),
        }
        if end < bytes.len() {
            out.push(bytes[end] as char);
        }
        piece_start = end + 1;
    }
    if let Some(fragment) = fragment {
        add_secret(secrets, fragment);
        out.push('#');
        out.push_str(MASK);
    }
    out
}

/// The redacted URL and the secrets it held.
fn redact(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let Some((scheme, rest)) = split_scheme(url) else {
        // Not a URL: it may be anything, a password included.
        if url.contains(['@', ':']) {
            add_secret(&mut secrets, url);
            return (MASK.to_owned(), secrets);
        }
        let out = redact_tail(url, &mut secrets);
        return (out, secrets);
    };
    let known = dialect_of_scheme(scheme);
    if known == Some(Dialect::Sqlite) && !rest.contains('@') {
        // A file name: only parameters can hold a secret.
        let out = format!("{scheme}:{}", redact_tail(rest, &mut secrets));
        return (out, secrets);
    }
    if known.is_some() && known != Some(Dialect::Sqlite) {
        if let Some(out) = redact_parsed(url, &mut secrets) {
            return (out, secrets);
        }
    }
    let out = redact_loose(scheme, rest, known.is_some(), &mut secrets);
    (out, secrets)
}

/// Redacts a server URL that the `url` crate reads as `scheme://[user[:password]@]host…` with
/// no `@` after the host; `None` when it does not (it is then redacted loosely).
fn redact_parsed(url: &str, secrets: &mut Vec<String>) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !parsed.has_host() || after_authority_has_at(url) {
        return None;
    }
    let mut out = parsed.clone();
    if let Some(password) = parsed.password() {
        add_secret(secrets, password);
        out.set_password(Some(MASK)).ok()?;
    }
    // Query and fragment: redacted on the text as written, so that the rest is kept as is.
    out.set_query(None);
    out.set_fragment(None);
    let mut text = out.to_string();
    let tail = &url[url.find(['?', '#']).unwrap_or(url.len())..];
    text.push_str(&redact_tail(tail, secrets));
    Some(text)
}

/// Whether an `@` appears after the authority of `scheme://authority…`: a password with an
/// unencoded `/`, `?` or `#` in it.
fn after_authority_has_at(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return url.contains('@');
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest[end..].contains('@')
}

/// Redacts a URL that cannot be read with certainty: everything before the last `@` but a plain
/// user name is hidden, and so is a port that is not a number.
fn redact_loose(scheme: &str, rest: &str, known: bool, secrets: &mut Vec<String>) -> String {
    let slashes = rest.len() - rest.trim_start_matches('/').len();
    let body = &rest[slashes..];
    let mut out = format!("{scheme}:{}", &rest[..slashes]);
    // The query and fragment begin after the credentials, which may hold `?` and `#` too.
    let (credentials, tail) = match body.rfind('@') {
        Some(at) => (Some(&body[..at]), &body[at + 1..]),
        None => (None, body),
    };
    if !known {
        // An unknown scheme may be a user name read as a scheme (`u:pw@host`).
        if let Some(credentials) = credentials {
            add_secret(secrets, scheme);
            add_secret(secrets, credentials);
            let mut out = format!("{MASK}@");
            out.push_str(&redact_tail(tail, secrets));
            return out;
        }
    }
    match credentials {
        Some(credentials) => {
            let plain = |s: &str| !s.contains(['/', '?', '#', '@', ':']);
            match credentials.split_once(':') {
                Some((user, password)) if plain(user) => {
                    add_secret(secrets, password);
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                None if plain(credentials) => out.push_str(credentials),
                _ => {
                    add_secret(secrets, credentials);
                    out.push_str(MASK);
                }
            }
            out.push('@');
            out.push_str(&redact_tail(tail, secrets));
        }
        None => {
            // No `@`: `host:port`, where a port that is not a number may be a password.
            let end = tail.find(['/', '?', '#']).unwrap_or(tail.len());
            let (authority, after) = tail.split_at(end);
            match authority.split_once(':') {
                Some((host, port)) if !port.bytes().all(|b| b.is_ascii_digit()) => {
                    add_secret(secrets, port);
                    out.push_str(host);
                    out.push(':');
                    out.push_str(MASK);
                }
                _ => out.push_str(authority),
            }
            out.push_str(&redact_tail(after, secrets));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// A URL godwit refuses before connecting: what is wrong and what to do. Neither names a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlProblem {
    /// What is wrong, with the URL redacted.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl std::fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.message, self.hint)
    }
}

/// What a URL that passed [`check_url`] names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlFacts {
    /// The database kind.
    pub dialect: Dialect,
    /// Whether the URL carries a password (in `user:password@` or a `password` parameter).
    pub has_password: bool,
    /// Whether the URL names a database: a path on PostgreSQL and MySQL (or `dbname=` on
    /// PostgreSQL), a file on SQLite (an in-memory SQLite database counts).
    pub names_database: bool,
    /// Whether it is an in-memory SQLite database (`sqlite::memory:`, `mode=memory`).
    pub in_memory: bool,
}

/// The query parameters each database accepts (those sqlx reads).
pub fn valid_params(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &[
            "sslmode",
            "ssl-mode",
            "sslrootcert",
            "ssl-root-cert",
            "ssl-ca",
            "sslcert",
            "ssl-cert",
            "sslkey",
            "ssl-key",
            "statement-cache-capacity",
            "host",
            "hostaddr",
            "port",
            "dbname",
            "user",
            "password",
            "application_name",
            "options",
        ],
        Dialect::MySql => &[
            "sslmode",
            "ssl-mode",
            "sslca",
            "ssl-ca",
            "sslcert",
            "ssl-cert",
            "sslkey",
            "ssl-key",
            "charset",
            "collation",
            "statement-cache-capacity",
            "socket",
            "timezone",
            "time-zone",
        ],
        Dialect::Sqlite => &["mode", "cache", "immutable", "vfs"],
    }
}

/// The character sets sqlx can announce to a MySQL server.
const MYSQL_CHARSETS: &[&str] = &[
    "armscii8", "ascii", "big5", "binary", "cp1250", "cp1251", "cp1256", "cp1257", "cp850",
    "cp852", "cp866", "cp932", "dec8", "eucjpms", "euckr", "gb18030", "gb2312", "gbk", "geostd8",
    "greek", "hebrew", "hp8", "keybcs2", "koi8r", "koi8u", "latin1", "latin2", "latin5", "latin7",
    "macce", "macroman", "sjis", "swe7", "tis620", "ucs2", "ujis", "utf16", "utf16le", "utf32",
    "utf8", "utf8mb4",
];

const ENCODE_HINT: &str =
    "write it as scheme://user:password@host:port/database, and percent-encode \
     `@ / : # ? %` in the user name or password (%40 %2F %3A %23 %3F %25)";

fn problem(message: String, hint: impl Into<String>) -> UrlProblem {
    UrlProblem {
        message,
        hint: hint.into(),
    }
}

/// A parameter name as it may be shown: names that look like anything but a parameter name (a
/// pasted secret, say) are not repeated.
fn shown_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '[' | ']'));
    if plain {
        format!("`{name}`")
    } else {
        "a parameter".to_owned()
    }
}

/// Checks a database URL before connecting: a known scheme, the `scheme://…` form for servers
/// (so that no part of a password is read as a host, port or database), only the parameters the
/// database understands, with values it accepts. Problems name no secret.
pub fn check_url(url: &str) -> Result<UrlFacts, UrlProblem> {
    let redacted = redact_url(url);
    let Some((scheme, rest)) = split_scheme(url) else {
        return Err(problem(
            format!("`{redacted}` is not a database URL"),
            "use postgres://, mysql://, mariadb:// or sqlite:// (e.g. postgres://user@localhost:5432/app)",
        ));
    };
    let Some(dialect) = dialect_of_scheme(scheme) else {
        return Err(problem(
            format!("unsupported URL scheme in `{redacted}`"),
            "use postgres://, postgresql://, mysql://, mariadb://, sqlite://path or sqlite::memory:",
        ));
    };
    if dialect == Dialect::Sqlite {
        return check_sqlite(rest, &redacted);
    }
    if !rest.starts_with("//") {
        return Err(problem(
            format!("`{redacted}` lacks the `//` after `{scheme}:`, so its user, password and host cannot be told apart"),
            format!("write it as {scheme}://user:password@host:port/database"),
        ));
    }
    if after_authority_has_at(url) {
        return Err(problem(
            format!("`{redacted}` has an `@` after its host: part of the password would be read as the host, port or database"),
            ENCODE_HINT,
        ));
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| problem(format!("`{redacted}` is not a valid URL: {e}"), ENCODE_HINT))?;
    if !parsed.has_host() || parsed.host_str() == Some("") {
        return Err(problem(
            format!("`{redacted}` names no host"),
            format!("write it as {scheme}://user:password@host:port/database"),
        ));
    }
    let mut has_password = parsed.password().is_some();
    let mut names_database = !parsed.path().trim_start_matches('/').is_empty();
    if parsed.fragment().is_some() {
        return Err(problem(
            format!("`{redacted}` has a `#` in it, which ends a URL"),
            ENCODE_HINT,
        ));
    }
    let valid = valid_params(dialect);
    for (name, value) in parsed.query_pairs() {
        let known = valid.contains(&name.as_ref())
            || (dialect == Dialect::Postgres
                && name.starts_with("options[")
                && name.ends_with(']'));
        if !known {
            return Err(unknown_param(&name, dialect, &redacted));
        }
        match name.as_ref() {
            "password" => has_password = true,
            "dbname" if !value.is_empty() => names_database = true,
            _ => {}
        }
        check_value(dialect, &name, &value, &redacted)?;
    }
    Ok(UrlFacts {
        dialect,
        has_password,
        names_database,
        in_memory: false,
    })
}

fn database_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "PostgreSQL",
        Dialect::MySql => "MySQL and MariaDB",
        Dialect::Sqlite => "SQLite",
    }
}

fn unknown_param(name: &str, dialect: Dialect, redacted: &str) -> UrlProblem {
    let valid = valid_params(dialect);
    let wanted: String = name.to_ascii_lowercase().replace('_', "-");
    let suggestion = valid
        .iter()
        .find(|v| {
            v.replace('_', "-") == wanted || v.replace(['-', '_'], "") == wanted.replace('-', "")
        })
        .or_else(|| {
            valid
                .iter()
                .map(|v| (edit_distance(&wanted, v), v))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, v)| v)
        });
    let list = valid
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match suggestion {
        Some(s) => format!(
            "did you mean `{s}`? {} takes {list}",
            database_name(dialect)
        ),
        None => format!("{} takes {list}", database_name(dialect)),
    };
    problem(
        format!("unknown URL parameter {} in `{redacted}`", shown_name(name)),
        hint,
    )
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

fn check_value(
    dialect: Dialect,
    name: &str,
    value: &str,
    redacted: &str,
) -> Result<(), UrlProblem> {
    let one_of = |allowed: &[&str], case_insensitive: bool| -> Result<(), UrlProblem> {
        let ok = allowed.iter().any(|a| {
            if case_insensitive {
                a.eq_ignore_ascii_case(value)
            } else {
                *a == value
            }
        });
        if ok {
            return Ok(());
        }
        let shown = if is_secret_param(name) || value.len() > 40 {
            String::new()
        } else {
            format!(" `{value}`")
        };
        Err(problem(
            format!("URL parameter `{name}` has the unknown value{shown} in `{redacted}`"),
            format!(
                "use one of {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    };
    match (dialect, name) {
        (Dialect::Postgres, "sslmode" | "ssl-mode") => one_of(
            &[
                "disable",
                "allow",
                "prefer",
                "require",
                "verify-ca",
                "verify-full",
            ],
            true,
        ),
        (Dialect::MySql, "sslmode" | "ssl-mode") => one_of(
            &[
                "disable",
                "allow",
                "prefer",
                "require",
                "verify-ca",
                "verify-full",
                "DISABLED",
                "PREFERRED",
                "REQUIRED",
                "VERIFY_CA",
                "VERIFY_IDENTITY",
            ],
            true,
        ),
        (Dialect::MySql, "charset") => one_of(MYSQL_CHARSETS, false),
        (Dialect::Sqlite, "mode") => one_of(&["ro", "rw", "rwc", "memory"], false),
        (Dialect::Sqlite, "cache") => one_of(&["private", "shared"], false),
        (Dialect::Sqlite, "immutable") => one_of(&["true", "false", "1", "0"], false),
        (_, "statement-cache-capacity" | "port") => match value.parse::<u16>() {
            Ok(_) => Ok(()),
            Err(_) => Err(problem(
                format!("URL parameter `{name}` must be a number in `{redacted}`"),
                format!("give `{name}` a whole number"),
            )),
        },
        _ => Ok(()),
    }
}

/// SQLite: `sqlite://path`, `sqlite:path`, `sqlite::memory:`; parameters as sqlx reads them.
fn check_sqlite(rest: &str, redacted: &str) -> Result<UrlFacts, UrlProblem> {
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    // `sqlite://user:password@…` is a file of that name to sqlx, and the password would be
    // shown wherever the file name is.
    let first = path.split('/').next().unwrap_or("");
    if first.contains('@') && first.contains(':') && path != ":memory:" {
        return Err(problem(
            format!("`{redacted}` has a user and password, but an SQLite URL names a file"),
            "write sqlite://path/to/file.db (SQLite has no user or password); percent-encode an `@` that is part of the file name as %40",
        ));
    }
    let mut in_memory = path == ":memory:";
    if let Some(query) = query {
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if !valid_params(Dialect::Sqlite).contains(&name.as_ref()) {
                return Err(unknown_param(&name, Dialect::Sqlite, redacted));
            }
            check_value(Dialect::Sqlite, &name, &value, redacted)?;
            if name == "mode" && value == "memory" {
                in_memory = true;
            }
        }
    }
    Ok(UrlFacts {
        dialect: Dialect::Sqlite,
        has_password: false,
        names_database: in_memory || !path.is_empty(),
        in_memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        for (url, expected) in [
            (
                "postgres://app:s3cr%40t@db:5432/x?sslmode=require",
                "postgres://app:***@db:5432/x?sslmode=require",
            ),
            ("mysql://root@h/test", "mysql://root@h/test"),
            ("sqlite://a.db", "sqlite://a.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("sqlite:data/a.db?mode=rwc", "sqlite:data/a.db?mode=rwc"),
            (
                "postgres://h/db?user=a&password=b",
                "postgres://h/db?user=a&password=***",
            ),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa/ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:12/ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p?s#s@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p#ss@h/db", "postgres://u:***@h/db"),
            ("postgres:/u:pw@host/db", "postgres:/u:***@host/db"),
            ("postgresql:u:pw@host/db", "postgresql:u:***@host/db"),
            ("u:pw@host/db", "***@host/db"),
            (
                "mysql://h/db?sslpassword=x&SSL_KEY=k&pwd=1",
                "mysql://h/db?sslpassword=***&SSL_KEY=***&pwd=***",
            ),
            ("postgres://u:pw@h/db#frag", "postgres://u:***@h/db#***"),
            ("postgres://u:secret", "postgres://u:***"),
            ("postgres://Host:5432/db", "postgres://Host:5432/db"),
        ] {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }

    #[test]
    fn scrub_removes_raw_and_decoded_passwords() {
        let url = "postgres://app:s3cr%40t@db/x";
        assert_eq!(
            scrub(
                "failed for s3cr@t and s3cr%40t at postgres://app:s3cr%40t@db/x",
                url
            ),
            "failed for *** and *** at postgres://app:***@db/x"
        );
        // A short password is removed where it stands alone only.
        assert_eq!(
            scrub("password ab refused for abc", "postgres://u:ab@h/db"),
            "password *** refused for abc"
        );
    }

    #[test]
    fn urls_are_checked() {
        let ok = |url: &str| check_url(url).unwrap_or_else(|p| panic!("{url}: {p}"));
        let bad = |url: &str| check_url(url).expect_err(url);
        assert!(ok("postgres://u:p@h/db?sslmode=require").has_password);
        assert!(ok("postgres://u@h:5432/db?password=x").has_password);
        assert!(!ok("postgres://u@h").names_database);
        assert!(ok("postgres://u@h?dbname=x").names_database);
        assert!(ok("postgres://u@h/db?options[statement_timeout]=5s").names_database);
        assert!(!ok("mysql://root@h:3306").names_database);
        assert!(ok("mariadb://root@h:3306/db?sslmode=require&charset=utf8mb4").names_database);
        assert!(ok("mysql://root@h/db?ssl-mode=VERIFY_IDENTITY").names_database);
        assert!(ok("sqlite::memory:").in_memory);
        assert!(ok("sqlite://?mode=memory").in_memory);
        assert!(!ok("sqlite:").names_database);
        assert!(!ok("sqlite://").names_database);
        assert!(ok("sqlite://a.db?mode=rwc").names_database);

        let p = bad("postgres://h/db?ssl_mode=require");
        assert!(p.message.contains("`ssl_mode`"), "{p}");
        assert!(p.hint.contains("did you mean `sslmode`?"), "{p}");
        let p = bad("mysql://h/db?charset=bogus");
        assert!(p.message.contains("charset"), "{p}");
        assert!(p.hint.contains("utf8mb4"), "{p}");
        let p = bad("sqlite://a.db?mod=rwc");
        assert!(p.hint.contains("did you mean `mode`?"), "{p}");
        for url in [
            "postgres:/u:pw@host/db",
            "postgresql:u:pw@host/db",
            "postgres://u:12/pw@host/db",
            "postgres://u:p#w@host/db",
            "mysql://u:pw@host/db#x",
            "postgres://u:pw@/db",
            "oracle://u:pw@h/db",
            "sqlite://u:pw@host/db",
            "postgres://h/db?sslmode=bogus",
            "postgres://h/db?sslpassword=pw",
        ] {
            let p = bad(url);
            assert!(!p.to_string().contains("pw"), "{url}: {p}");
        }
    }

    #[test]
    fn secret_params() {
        for name in [
            "password",
            "PASSWORD",
            "pass",
            "passwd",
            "pwd",
            "sslpassword",
            "ssl-password",
            "sslkey",
            "ssl_key",
            "api_token",
            "client_secret",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in ["sslmode", "user", "host", "charset", "mode"] {
            assert!(!is_secret_param(name), "{name}");
        }
    }
}

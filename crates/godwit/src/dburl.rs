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

mod jdbc;

pub use jdbc::{is_jdbc_url, jdbc_to_url, native_url};

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
    // A secret value may run on past an unencoded `&` or `#`: for scrubbing, every reading of
    // it, from its start to each later `&` or `#` and to the end.
    if let Some(q) = tail.find('?') {
        let mut start = q + 1;
        for piece in tail[q + 1..].split(['&', '#']) {
            if let Some((name, _)) = piece.split_once('=') {
                if is_secret_param(&percent_decode(name)) {
                    let value_start = start + name.len() + 1;
                    let rest = &tail[value_start..];
                    for (end, _) in rest.match_indices(['&', '#']) {
                        add_secret(secrets, &rest[..end]);
                    }
                    add_secret(secrets, rest);
                }
            }
            start += piece.len() + 1;
        }
    }
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    // The query starts at the first `?`; a later `?` is part of a value.
    let mut out = match before_fragment.split_once('?') {
        Some((path, query)) => {
            // After a secret, a piece that is not a known parameter may be the rest of it
            // (an unencoded `&` in the password).
            let mut after_secret = false;
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, value)) if is_secret_param(&percent_decode(name)) => {
                        after_secret = true;
                        add_secret(secrets, value);
                        format!("{name}={MASK}")
                    }
                    Some((name, _)) if !after_secret || is_known_param(name) => {
                        after_secret = false;
                        param.to_owned()
                    }
                    _ if after_secret => {
                        add_secret(secrets, param);
                        MASK.to_owned()
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => before_fragment.to_owned(),
    };
    if let Some(fragment) = fragment {
        add_secret(secrets, fragment);
        // A fragment is the tail of a password or parameter value that had a `#`: each part
        // up to an `&` may be the rest of it.
        for (amp, _) in fragment.match_indices('&') {
            add_secret(secrets, &fragment[..amp]);
        }
        out.push('#');
        out.push_str(MASK);
    }
    out
}

/// The redacted URL and the secrets it held.
fn redact(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    if let Some(inner) = url.get(5..).filter(|_| jdbc::is_jdbc_url(url)) {
        // A JDBC URL: the URL after `jdbc:` holds the secrets.
        let (out, secrets) = redact(inner);
        return (format!("{}{out}", &url[..5]), secrets);
    }
    let Some((scheme, rest)) = split_scheme(url) else {
        // Not a URL: it may be anything, a password included.
        if url.contains(['@', ':']) {
            add_secret(&mut secrets, url);
            // `user:password@host`: the password alone may be echoed too.
            let credentials = url.rsplit_once('@').map_or(url, |(c, _)| c);
            if let Some((_, password)) = credentials.split_once(':') {
                add_secret(&mut secrets, password);
            }
            add_secret(&mut secrets, credentials);
            return (MASK.to_owned(), secrets);
        }
        let out = redact_tail(url, &mut secrets);
        return (out, secrets);
    };
    let known = dialect_of_scheme(scheme);
    if known == Some(Dialect::Sqlite) && !rest.contains('@') && !sqlite_has_colon(rest) {
        // A file name: only parameters can hold a secret.
        let out = format!("{scheme}:{}", redact_tail(rest, &mut secrets));
        return (out, secrets);
    }
    // `other://…` is a URL of another scheme; `user:password@host` is no URL at all.
    let server_like = known.is_some() || rest.starts_with("//");
    if server_like && known != Some(Dialect::Sqlite) {
        if let Some(out) = redact_parsed(url, &mut secrets) {
            return (out, secrets);
        }
    }
    let out = redact_loose(scheme, rest, server_like, &mut secrets);
    (out, secrets)
}

/// Whether the first segment of an SQLite URL's path has a `:` that is neither `:memory:` nor a
/// drive letter: `sqlite://user:password` names a file, but was surely meant otherwise.
fn sqlite_has_colon(rest: &str) -> bool {
    let path = rest.trim_start_matches('/');
    let first = path.split(['/', '?', '\\']).next().unwrap_or("");
    let drive = cfg!(windows)
        && first.len() == 2
        && first.ends_with(':')
        && first.as_bytes()[0].is_ascii_alphabetic();
    first.contains(':') && !first.starts_with(":memory:") && !drive
}

/// Redacts a server URL that the `url` crate reads as `scheme://[user[:password]@]host…` with
/// no `@` after the host; `None` when it does not (it is then redacted loosely).
fn redact_parsed(url: &str, secrets: &mut Vec<String>) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !parsed.has_host() || after_authority_has_at(url) || empty_port(url) {
        return None;
    }
    let mut out = parsed.clone();
    if let Some(password) = parsed.password() {
        add_secret(secrets, password);
        // As written too (the parser normalises its encoding).
        if let Some((_, rest)) = url.split_once("://") {
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            if let Some((userinfo, _)) = authority.rsplit_once('@') {
                if let Some((_, written)) = userinfo.split_once(':') {
                    add_secret(secrets, written);
                }
            }
        }
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

/// Whether the authority of `scheme://authority…` ends with `:`: an empty port, or a password
/// whose first `/` cut it short (`postgres://host:/secret`).
fn empty_port(url: &str) -> bool {
    url.split_once("://").is_some_and(|(_, rest)| {
        rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())].ends_with(':')
    })
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
    // What a password may be, read any way: from the first `:` to each `@`, and each fragment
    // (for scrubbing messages; the longest is removed first).
    if let Some(colon) = body.find(':') {
        for (at, _) in body.match_indices('@').filter(|(at, _)| *at > colon) {
            add_secret(secrets, &body[colon + 1..at]);
        }
    }
    if let Some((_, fragment)) = body.split_once('#') {
        add_secret(secrets, fragment);
    }
    // Password-like parameters anywhere, whatever the `@` split below makes of them.
    let _ = redact_tail(body, secrets);
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
            if credentials.contains(['?', '#']) {
                add_secret(secrets, tail);
                out.push_str(MASK);
            } else {
                out.push_str(&redact_tail(tail, secrets));
            }
            return out;
        }
    }
    match credentials {
        // A `?` or `#` before the last `@`: the `@` may be inside a query value or a fragment,
        // and what follows it a secret too.
        Some(credentials) if credentials.contains(['?', '#']) => {
            add_secret(secrets, credentials);
            add_secret(secrets, tail);
            if let Some((_, password)) = credentials.split_once(':') {
                add_secret(secrets, password);
            }
            let plain_user = credentials
                .split_once(':')
                .map(|(user, _)| user)
                .filter(|user| !user.contains(['/', '?', '#', '@']));
            if let Some(user) = plain_user {
                out.push_str(user);
                out.push(':');
            }
            out.push_str(MASK);
            out.push('@');
            out.push_str(MASK);
        }
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
                Some((host, port))
                    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    // The rest may be a password with `/`, `?` or `#` in it: hide it all.
                    let rest = &tail[host.len() + 1..];
                    add_secret(secrets, rest);
                    for (i, _) in rest.match_indices(['/', '?', '#']) {
                        add_secret(secrets, &rest[..i]);
                    }
                    out.push_str(host);
                    out.push(':');
                    out.push_str(MASK);
                }
                _ => {
                    out.push_str(authority);
                    out.push_str(&redact_tail(after, secrets));
                }
            }
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

/// Whether any database takes a parameter of this name.
fn is_known_param(name: &str) -> bool {
    [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite]
        .iter()
        .any(|d| valid_params(*d).contains(&name))
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
    if jdbc::is_jdbc_url(url) {
        // A JDBC URL names what the URL it converts to names.
        return check_url(&jdbc::jdbc_to_url(url)?);
    }
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
    if after_authority_has_at(url) || empty_port(url) {
        return Err(problem(
            format!("`{redacted}` has an `@` after its host, or an empty port: part of the password would be read as the host, port or database"),
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
    let mut after_secret = false;
    for (name, value) in parsed.query_pairs() {
        let known = valid.contains(&name.as_ref())
            || (dialect == Dialect::Postgres
                && name.starts_with("options[")
                && name.ends_with(']'));
        if !known && after_secret {
            return Err(problem(
                format!("`{redacted}` has an unknown parameter after a password"),
                "percent-encode `&`, `#` and `%` in a password parameter (%26 %23 %25)",
            ));
        }
        if !known {
            return Err(unknown_param(&name, dialect, &redacted));
        }
        after_secret = is_secret_param(&name);
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

/// The URL with `user` as its user name (percent-encoded), for a user given apart from the URL
/// (Flyway's `user` setting). A JDBC URL is converted first. Refused: a URL that already names
/// another user, and an SQLite URL (SQLite has no users).
pub fn with_user(url: &str, user: &str) -> Result<String, UrlProblem> {
    let native = native_url(url)?;
    let facts = check_url(&native)?;
    let redacted = redact_url(&native);
    if facts.dialect == Dialect::Sqlite {
        return Err(problem(
            format!("a user is set, but the SQLite database `{redacted}` has none"),
            "remove the user setting: SQLite databases are files, protected by the file's permissions",
        ));
    }
    let mut parsed = url::Url::parse(&native)
        .map_err(|e| problem(format!("`{redacted}` is not a valid URL: {e}"), ENCODE_HINT))?;
    let named = percent_decode(parsed.username());
    let param = parsed
        .query_pairs()
        .find(|(name, _)| name == "user")
        .map(|(_, value)| value.into_owned());
    match named_user(&named, param.as_deref()) {
        Some(existing) if existing == user => return Ok(native.into_owned()),
        Some(_) => {
            return Err(problem(
                format!("the user is given twice, differently: in the URL `{redacted}` and in a user setting"),
                "keep one of them: remove the user from the URL, or the user setting",
            ))
        }
        None => {}
    }
    parsed.set_username(user).map_err(|()| {
        problem(
            format!("`{redacted}` cannot carry a user"),
            "write it as scheme://user@host:port/database",
        )
    })?;
    Ok(parsed.into())
}

fn named_user<'a>(userinfo: &'a str, param: Option<&'a str>) -> Option<&'a str> {
    (!userinfo.is_empty()).then_some(userinfo).or(param)
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
    let credentials = rest
        .rfind('@')
        .is_some_and(|at| rest[..at].replace(":memory:", "").contains(':'));
    if (first.contains('@') && first.contains(':') && path != ":memory:")
        || credentials
        || sqlite_has_colon(rest)
    {
        return Err(problem(
            format!("`{redacted}` looks like it has a user and password, but an SQLite URL names a file"),
            "write sqlite://path/to/file.db (SQLite has no user or password); percent-encode an `@` or `:` that is part of the file name as %40 or %3A",
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
            ("postgres://u:p?s#s@h/db", "postgres://u:***@***"),
            ("postgres://u:p#ss@h/db", "postgres://u:***@***"),
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

    /// A small seeded generator (xorshift64*), so that a failure can be replayed.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed.max(1))
        }
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// A password made of distinctive words (five random letters and digits) joined by the
    /// characters that URLs misread; returns it with its words.
    fn secret(rng: &mut Rng) -> (String, Vec<String>) {
        const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        let separators = [
            "@", "/", ":", "#", "?", "%", "&", "=", "+", " ", "!", "$", "@@", "%4", "-", ".",
        ];
        let mut words = Vec::new();
        let mut text = String::new();
        for i in 0..1 + rng.below(3) {
            if i > 0 || rng.below(4) == 0 {
                text.push_str(rng.pick(&separators));
            }
            let word: String = (0..5)
                .map(|_| ALNUM[rng.below(ALNUM.len())] as char)
                .collect();
            text.push_str(&word);
            words.push(word);
        }
        if rng.below(4) == 0 {
            text.push_str(rng.pick(&separators));
        }
        (text, words)
    }

    /// Percent-encodes every byte that is not unreserved.
    fn encode_all(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// A URL carrying `password`, in one of many shapes, right or broken; and the password as
    /// it is written in the URL.
    pub(crate) fn url_with_secret(rng: &mut Rng, password: &str) -> (String, String) {
        let scheme = rng.pick(&[
            "postgres",
            "postgresql",
            "mysql",
            "mariadb",
            "sqlite",
            "POSTGRES",
            "MySQL",
            "oracle",
        ]);
        let mut written = match rng.below(3) {
            0 => encode_all(password),
            1 => password.to_owned(),
            _ => password
                .replace('%', "%25")
                .replace('@', "%40")
                .replace('/', "%2F"),
        };
        let host = rng.pick(&["127.0.0.1", "127.0.0.1:1", "localhost:1", "[::1]:1"]);
        let db = rng.pick(&["/app", "", "/", "/app?sslmode=disable", "/a%20b"]);
        let param = rng.pick(&[
            "password",
            "sslpassword",
            "pass",
            "pwd",
            "passwd",
            "sslkey",
            "PASSWORD",
            "ssl-password",
            "ssl_key",
        ]);
        let user = rng.pick(&["app", "u", "root", "a%40b"]);
        let shape = rng.below(13);
        if shape == 9 {
            // No host: a raw `@` in the password would make its tail the host, which no one
            // can tell from a real host.
            written = written.replace('@', "%40");
        }
        let url = match shape {
            0..=2 => format!("{scheme}://{user}:{written}@{host}{db}"),
            3 => format!("{scheme}:/{user}:{written}@{host}{db}"),
            4 => format!("{scheme}:{user}:{written}@{host}{db}"),
            5 => format!("{scheme}://{host}/app?{param}={written}"),
            6 => format!("{scheme}://{host}/app?sslmode=require&{param}={written}&x=1"),
            7 => format!("{scheme}://{user}:{written}@{host}"),
            8 => format!("{user}:{written}@{host}{db}"),
            9 => format!("{scheme}://{user}:{written}"),
            10 => format!("{scheme}://{user}:{written}@{host}/app?ssl_mode=x&{param}={written}"),
            11 => format!("{scheme}://{host}/app?{param}={written}&ssl_mode=require"),
            _ => format!("{scheme}://{user}:{written}@{host}/app#{written}"),
        };
        (url, written)
    }

    /// Whether any word of the secret shows in `text`.
    fn leaks(text: &str, words: &[String]) -> bool {
        words.iter().any(|w| text.contains(w.as_str()))
    }

    #[test]
    fn property_no_secret_survives_redaction_checking_or_scrubbing() {
        let mut rng = Rng::new(0x5eed_0012);
        for case in 0..20_000 {
            let (password, words) = secret(&mut rng);
            let (url, written) = url_with_secret(&mut rng, &password);
            let redacted = redact_url(&url);
            assert!(
                !leaks(&redacted, &words),
                "case {case}: {url} -> {redacted}"
            );
            if let Err(p) = check_url(&url) {
                assert!(!leaks(&p.to_string(), &words), "case {case}: {url} -> {p}");
            }
            // A server or driver may echo the password, as written or decoded, or the URL.
            let message = format!(
                "server said: {} / {written} at {url}",
                percent_decode(&written)
            );
            let scrubbed = scrub(&message, &url);
            assert!(
                !leaks(&scrubbed, &words),
                "case {case}: {url} -> {scrubbed}"
            );
        }
    }

    #[test]
    fn a_user_given_apart_goes_into_the_url() {
        assert_eq!(
            with_user("postgres://h/db", "app").unwrap(),
            "postgres://app@h/db"
        );
        assert_eq!(
            with_user("jdbc:mysql://h/db", "r@ot").unwrap(),
            "mysql://r%40ot@h/db"
        );
        assert_eq!(
            with_user("postgres://app@h/db", "app").unwrap(),
            "postgres://app@h/db"
        );
        let p = with_user("postgres://other:pw@h/db", "app").unwrap_err();
        assert!(p.message.contains("given twice"), "{p}");
        assert!(!p.to_string().contains("pw@"), "{p}");
        let p = with_user("sqlite:a.db", "app").unwrap_err();
        assert!(p.message.contains("SQLite"), "{p}");
    }

    #[test]
    fn jdbc_urls_are_redacted_and_checked() {
        assert_eq!(
            redact_url("jdbc:postgresql://h/db?user=u&password=s3cret"),
            "jdbc:postgresql://h/db?user=u&password=***"
        );
        assert_eq!(
            redact_url("jdbc:mysql://u:s3cret@h/db"),
            "jdbc:mysql://u:***@h/db"
        );
        let facts = check_url("jdbc:postgresql://h/db?user=u&password=s3cret").unwrap();
        assert!(facts.has_password);
        assert_eq!(facts.dialect, Dialect::Postgres);
        assert_eq!(
            crate::dialect_of("jdbc:mariadb://h/db"),
            Some(Dialect::MySql)
        );
    }
}

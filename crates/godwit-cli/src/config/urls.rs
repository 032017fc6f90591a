//! Database URLs in configuration files. Everything else about URLs (checking, redacting) is the
//! library's `godwit::dburl`; this only keeps a relative SQLite file relative to the file that
//! names it.

use std::path::Path;

use super::values::strip_prefix_ci;

/// Makes the file of a relative SQLite URL relative to `base` instead of the working directory.
///
/// `sqlite://data/app.db` and `sqlite:data/app.db` are rewritten; `sqlite::memory:`, absolute
/// paths (`sqlite:///var/app.db`) and other databases' URLs are returned unchanged. A query string
/// is kept.
pub(super) fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    if base.as_os_str().is_empty() {
        return url.to_owned();
    }
    let prefix_len = if strip_prefix_ci(url, "sqlite://").is_some() {
        "sqlite://".len()
    } else if strip_prefix_ci(url, "sqlite:").is_some() {
        "sqlite:".len()
    } else {
        return url.to_owned();
    };
    let rest = &url[prefix_len..];
    let (path, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    if path.is_empty() || path.starts_with(":memory:") || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    // sqlx percent-decodes the path, so the characters that a URL would misread are encoded
    // (only those: the URL is shown in messages, where the rest should read as written).
    let mut base_text = String::new();
    for c in base.to_string_lossy().chars() {
        match c {
            '%' => base_text.push_str("%25"),
            '?' => base_text.push_str("%3F"),
            '#' => base_text.push_str("%23"),
            _ => base_text.push(c),
        }
    }
    let separator = if base_text.ends_with('/') || base_text.ends_with('\\') {
        ""
    } else {
        "/"
    };
    format!("{}{base_text}{separator}{path}{query}", &url[..prefix_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_resolution() {
        let base = Path::new("/etc/app");
        for (url, expected) in [
            ("sqlite://data/app.db", "sqlite:///etc/app/data/app.db"),
            ("sqlite:data/app.db", "sqlite:/etc/app/data/app.db"),
            (
                "sqlite://./x.db?mode=ro",
                "sqlite:///etc/app/./x.db?mode=ro",
            ),
            ("SQLite://x.db", "SQLite:///etc/app/x.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("sqlite://:memory:", "sqlite://:memory:"),
            ("sqlite:///var/app.db", "sqlite:///var/app.db"),
            ("sqlite:/var/app.db", "sqlite:/var/app.db"),
            ("sqlite:", "sqlite:"),
            ("sqlite://?mode=memory", "sqlite://?mode=memory"),
            ("postgres://h/db", "postgres://h/db"),
            ("mysql://u@h/db", "mysql://u@h/db"),
        ] {
            assert_eq!(resolve_sqlite_url(url, base), expected, "{url}");
        }
        assert_eq!(
            resolve_sqlite_url("sqlite:a.db", Path::new("")),
            "sqlite:a.db"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite:a.db", Path::new("/odd?dir#1%")),
            "sqlite:/odd%3Fdir%231%25/a.db"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite:a.db", Path::new("/")),
            "sqlite:/a.db"
        );
    }
}

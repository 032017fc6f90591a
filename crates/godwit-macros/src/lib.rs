//! The compile-time half of godwit: [`embed_migrations!`], used through the `godwit` crate as
//! `godwit::embed_migrations!`.
//!
//! The input is one string literal, parsed by hand (no `syn`), so this crate builds in a moment.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro::{Delimiter, Literal, TokenStream, TokenTree};

/// Embeds every migration file of a directory into the binary, with checksums computed at
/// compile time, as a `godwit::EmbeddedMigrations` constant.
///
/// The path is relative to the calling crate's `Cargo.toml` (its `CARGO_MANIFEST_DIR`);
/// `embed_migrations!()` means `embed_migrations!("migrations")`. The directory is read
/// recursively (hidden entries skipped, as on disk); every `.sql` file is included with
/// `include_str!`, so **editing** a file rebuilds the crate. A file that is not UTF-8, or a
/// directory that cannot be read, is a compile error.
///
/// **Adding or removing** a file must rebuild the crate too, and cargo cannot know that a macro
/// listed a directory: put this line in the crate's `build.rs` (the macro warns when the crate
/// has no build script at all):
///
/// ```text
/// fn main() {
///     println!("cargo:rerun-if-changed=migrations");
/// }
/// ```
///
/// Naming problems (an invalid name, a duplicate version) are reported at run time, by
/// `EmbeddedMigrations::to_set` or `Migrator::embedded`, as `godwit::Error::Files`.
///
/// ```
/// static MIGRATIONS: godwit::EmbeddedMigrations = godwit::embed_migrations!("tests/migrations");
///
/// let migrator = godwit::Migrator::embedded(&MIGRATIONS)?;
/// let labels: Vec<String> = migrator.migrations().iter().map(|m| m.label().to_string()).collect();
/// assert_eq!(labels, ["V1", "V2", "R__notes_view"]);
/// # Ok::<(), godwit::Error>(())
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(message) => compile_error(&message),
    }
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let location = parse_input(input)?;
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").ok_or(
        "embed_migrations! needs CARGO_MANIFEST_DIR, which cargo sets: build the crate with cargo",
    )?;
    let root = PathBuf::from(manifest_dir).join(&location);
    let meta = std::fs::metadata(&root).map_err(|e| {
        format!(
            "cannot read the migrations directory {}: {e}",
            root.display()
        )
    })?;
    if !meta.is_dir() {
        return Err(format!(
            "{} is not a directory: embed_migrations! takes the directory holding the migrations, relative to Cargo.toml",
            root.display()
        ));
    }
    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let mut code = String::from("{");
    if std::env::var_os("OUT_DIR").is_none() {
        // The crate has no build script, so adding or removing a migration file would not
        // rebuild it. A deprecation is the one warning a macro can raise on stable Rust.
        let _ = write!(
            code,
            "#[deprecated(note = {})] struct GodwitEmbedNeedsBuildRs; let _ = GodwitEmbedNeedsBuildRs;",
            Literal::string(&format!(
                "embed_migrations!: add a build.rs that prints `cargo:rerun-if-changed={location}`, or adding or removing a migration file will not rebuild this crate"
            ))
        );
    }
    let _ = write!(
        code,
        "::godwit::EmbeddedMigrations::__new({}, &[",
        Literal::string(&location)
    );
    for (relative, absolute, checksum) in &files {
        let _ = write!(
            code,
            "::godwit::EmbeddedFile::__new({}, ::core::include_str!({}), {checksum}i32),",
            Literal::string(relative),
            Literal::string(absolute),
        );
    }
    code.push_str("])}");
    code.parse()
        .map_err(|e| format!("embed_migrations! generated invalid code: {e:?}"))
}

/// Every `.sql` file under `dir`, as (path relative to `root` with `/`, absolute path,
/// checksum).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String, i32)>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            // Not UTF-8: it cannot be a migration's name.
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links, as discovery on disk does.
        let meta =
            std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_dir() {
            collect(root, &path, out)?;
            continue;
        }
        if !meta.is_file() || !is_sql(name) {
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
                return Err(format!(
                    "{}:{line}: this line is not valid UTF-8 (migration files must be UTF-8 text)",
                    path.display()
                ));
            }
        };
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let Some(absolute) = path.to_str() else {
            return Err(format!(
                "the path {} is not UTF-8, so it cannot be included",
                path.display()
            ));
        };
        out.push((
            relative,
            absolute.to_string(),
            godwit_sql::checksum::checksum_str(&text),
        ));
    }
    Ok(())
}

fn is_sql(name: &str) -> bool {
    name.len() >= 4
        && name.is_char_boundary(name.len() - 4)
        && name[name.len() - 4..].eq_ignore_ascii_case(".sql")
}

/// Nothing (the default `migrations`) or one string literal, maybe followed by a comma.
fn parse_input(input: TokenStream) -> Result<String, String> {
    let usage = "embed_migrations! takes one string literal: the directory holding the migrations, relative to Cargo.toml, e.g. embed_migrations!(\"migrations\")";
    let mut tokens = flatten(input).into_iter();
    let literal = match tokens.next() {
        None => return Ok("migrations".into()),
        Some(TokenTree::Literal(literal)) => literal,
        Some(_) => return Err(usage.into()),
    };
    match tokens.next() {
        None => {}
        Some(TokenTree::Punct(p)) if p.as_char() == ',' && tokens.next().is_none() => {}
        Some(_) => return Err(usage.into()),
    }
    let path = unquote(&literal.to_string()).ok_or(usage)?;
    if path.is_empty() {
        return Err(usage.into());
    }
    Ok(path)
}

/// Tokens with invisible groups (what `macro_rules!` wraps a `$path:expr` in) opened.
fn flatten(input: TokenStream) -> Vec<TokenTree> {
    let mut out = Vec::new();
    for token in input {
        match token {
            TokenTree::Group(g) if g.delimiter() == Delimiter::None => {
                out.extend(flatten(g.stream()))
            }
            other => out.push(other),
        }
    }
    out
}

/// The value of a string literal as written in source: `"..."` with escapes, or a raw
/// `r"..."` / `r#"..."#`. `None` for any other literal.
fn unquote(source: &str) -> Option<String> {
    if let Some(raw) = source.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"')?;
        let body = body.strip_suffix(&"#".repeat(hashes))?.strip_suffix('"')?;
        return Some(body.to_string());
    }
    let body = source.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let mut hex = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        '_' => {}
                        h => hex.push(h),
                    }
                }
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            '\n' => {
                // A line continuation: skip the newline and the next line's leading whitespace.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

fn compile_error(message: &str) -> TokenStream {
    format!("::core::compile_error!({})", Literal::string(message))
        .parse()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_unquote_with_escapes_and_raw_forms() {
        assert_eq!(unquote("\"migrations\"").as_deref(), Some("migrations"));
        assert_eq!(unquote(r#""a\\b\"c\n""#).as_deref(), Some("a\\b\"c\n"));
        assert_eq!(unquote(r#""caf\u{e9}\x41""#).as_deref(), Some("caféA"));
        assert_eq!(unquote(r#"r"a\b""#).as_deref(), Some("a\\b"));
        assert_eq!(unquote(r###"r##"a"#b"##"###).as_deref(), Some("a\"#b"));
        assert_eq!(unquote("\"a\\\n    b\"").as_deref(), Some("ab"));
        assert_eq!(unquote("42"), None);
        assert_eq!(unquote("b\"bytes\""), None);
        assert_eq!(unquote("\"bad \\q\""), None);
    }

    #[test]
    fn only_sql_files_are_embedded() {
        assert!(is_sql("V1__a.sql"));
        assert!(is_sql("V1__a.SQL"));
        assert!(!is_sql("README.md"));
        assert!(!is_sql("sql"));
        assert!(!is_sql("é.sq"));
    }
}

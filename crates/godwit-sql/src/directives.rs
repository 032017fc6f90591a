//! Directives: `-- godwit:<name>` or `-- godwit:<name>=<value>` comment lines at the top of a
//! file, which change how godwit runs it (`no-transaction`, `statement-lock-timeout=5s`, …).

/// `-- godwit:breaking`: the migration breaks releases older than it (godwit's
/// compatibility floor, `docs/design.md` §22).
pub const BREAKING_DIRECTIVE: &str = "breaking";

/// One directive line at the top of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive<'a> {
    /// The 1-based line.
    pub line: u32,
    /// The name after `godwit:`, lowercased by the caller's comparison (as written here).
    pub name: &'a str,
    /// The text after `=`, trimmed; `None` when the line has no `=`.
    pub value: Option<&'a str>,
}

/// The directives on the first lines of a file: the lines from the first one on that are
/// `-- godwit:…` comments (a BOM, surrounding whitespace and the space after `--` are
/// ignored). The first line that is not such a comment ends them; `head` may end anywhere
/// (a partial last line is ignored unless it is the whole text).
pub fn leading_directives(head: &str) -> Vec<Directive<'_>> {
    let head = head.strip_prefix('\u{feff}').unwrap_or(head);
    let complete = head.ends_with('\n');
    let mut lines: Vec<&str> = head.lines().collect();
    if !complete && lines.len() > 1 {
        // The last line may be cut short: it is read again with more of the file, never guessed.
        lines.pop();
    }
    let mut out = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix("--") else {
            break;
        };
        let rest = rest.trim_start();
        let Some(body) = rest
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("godwit:"))
            .map(|_| &rest[7..])
        else {
            break;
        };
        if body.starts_with(char::is_whitespace) {
            // `-- godwit: name` is a comment, not a directive.
            break;
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.trim_end(), Some(v.trim())),
            None => (body.trim_end(), None),
        };
        out.push(Directive {
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            name,
            value,
        });
    }
    out
}

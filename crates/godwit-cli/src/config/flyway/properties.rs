//! `flyway.conf`: a Java properties file, read as `java.util.Properties` reads it (`key=value`,
//! `key: value` or `key value`; `#` and `!` comments; a `\` at the end of a line continues it;
//! `\t`, `\n`, `\uXXXX` and `\`-escaped characters), keeping the line of every key.

/// One `key=value` of a properties file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Property {
    pub(super) key: String,
    pub(super) value: String,
    /// The 1-based line the key is on.
    pub(super) line: usize,
}

/// Reads the properties of `text`, in file order (a key given twice appears twice: the later
/// one wins, as in Java).
pub(super) fn parse(text: &str) -> Vec<Property> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line_no = index + 1;
        let first = lines[index].trim_end_matches('\r').trim_start();
        index += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes continues the line.
        let mut logical = String::from(first);
        while ends_with_continuation(&logical) && index < lines.len() {
            logical.pop();
            logical.push_str(lines[index].trim_end_matches('\r').trim_start());
            index += 1;
        }
        if ends_with_continuation(&logical) {
            logical.pop();
        }
        let (key, value) = split_key_value(&logical);
        out.push(Property {
            key: unescape(key),
            value: unescape(value),
            line: line_no,
        });
    }
    out
}

fn ends_with_continuation(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace, as `Properties.load` does.
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(after) = rest.strip_prefix(['=', ':']) {
        rest = after.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) if hex.len() == 4 => {
                        out.push(decoded);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    _ => out.push('u'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect()
    }

    #[test]
    fn reads_properties_as_java_does() {
        let text = "# comment\n! also\n\nflyway.url=jdbc:postgresql://h/db\n  flyway.user : app\n\
                    flyway.locations = filesystem:sql,\\\n    filesystem:more\nflyway.placeholders.x=a\\=b\\u0041\r\n\
                    flyway.password\n key\\ with\\ space = v \n";
        assert_eq!(
            pairs(text),
            vec![
                ("flyway.url".into(), "jdbc:postgresql://h/db".into(), 4),
                ("flyway.user".into(), "app".into(), 5),
                (
                    "flyway.locations".into(),
                    "filesystem:sql,filesystem:more".into(),
                    6
                ),
                ("flyway.placeholders.x".into(), "a=bA".into(), 8),
                ("flyway.password".into(), "".into(), 9),
                ("key with space".into(), "v ".into(), 10),
            ]
        );
    }
}

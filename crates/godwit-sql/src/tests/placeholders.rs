//! `${name}` placeholders: replacement rules, and their effect on splitting.

use std::borrow::Cow;

use super::split;
use crate::{missing_placeholders, Dialect, Placeholders, SplitError, Splitter, Statement};

fn placeholders(pairs: &[(&str, &str)]) -> Placeholders {
    let mut placeholders = Placeholders::new();
    for (name, value) in pairs {
        placeholders.insert(*name, *value);
    }
    placeholders
}

/// Splits `input` with `pairs` as placeholders, returning `(line, sql)` pairs.
fn split_with(
    dialect: Dialect,
    input: &str,
    pairs: &[(&str, &str)],
) -> Result<Vec<(u32, String)>, SplitError> {
    Splitter::new(input.as_bytes(), dialect)
        .with_placeholders(placeholders(pairs))
        .map(|s| s.map(|Statement { sql, line, .. }| (line, sql)))
        .collect()
}

#[track_caller]
fn check_replace(pairs: &[(&str, &str)], line: &str, expected: &str) {
    let replaced = placeholders(pairs).replace_line(line);
    assert_eq!(replaced.as_deref(), Ok(expected), "line {line:?}");
}

#[test]
fn replaces_every_placeholder_in_a_line() {
    let pairs = [("schema", "app"), ("table", "users"), ("x.y-z:w_1", "odd")];
    check_replace(
        &pairs,
        "SELECT * FROM ${schema}.${table};",
        "SELECT * FROM app.users;",
    );
    check_replace(&pairs, "${schema}${table}", "appusers");
    check_replace(&pairs, "${x.y-z:w_1}", "odd");
    check_replace(&pairs, "'${schema}' -- ${table} é", "'app' -- users é");
}

#[test]
fn names_are_case_insensitive() {
    check_replace(
        &[("Schema", "app")],
        "${SCHEMA} ${schema} ${sChEmA}",
        "app app app",
    );
    let mut p = placeholders(&[("a", "1")]);
    p.insert("A", "2");
    assert_eq!(p.get("a"), Some("2"));
}

#[test]
fn flyway_prefix_is_the_godwit_prefix() {
    check_replace(
        &[("godwit:user", "me")],
        "${flyway:user} ${GODWIT:User}",
        "me me",
    );
    check_replace(
        &[("flyway:table", "hist")],
        "${godwit:table} ${Flyway:TABLE}",
        "hist hist",
    );
    let p = placeholders(&[("godwit:user", "me")]);
    assert_eq!(p.get("flyway:user"), Some("me"));
    assert_eq!(p.get("user"), None);
}

#[test]
fn lines_without_placeholders_are_borrowed() {
    let p = placeholders(&[("a", "1")]);
    assert!(matches!(
        p.replace_line("SELECT 1"),
        Ok(Cow::Borrowed("SELECT 1"))
    ));
    assert!(matches!(
        p.replace_line("cost: $5 {x}"),
        Ok(Cow::Borrowed(_))
    ));
}

#[test]
fn malformed_placeholders_are_left_as_they_are() {
    let pairs = [("a", "1")];
    check_replace(&pairs, "${a", "${a");
    check_replace(&pairs, "${}", "${}");
    check_replace(&pairs, "${a b}", "${a b}");
    check_replace(&pairs, "$ {a}", "$ {a}");
    check_replace(&pairs, "${é}", "${é}");
    check_replace(&pairs, "${a}}", "1}");
    check_replace(&pairs, "$${a}", "$1");
    check_replace(&pairs, "${${a}}", "${1}");
    check_replace(&pairs, "${a\n}", "${a\n}");
}

#[test]
fn values_are_not_expanded_again() {
    check_replace(&[("a", "${b}"), ("b", "no")], "${a}", "${b}");
}

#[test]
fn first_missing_placeholder_is_reported_as_written() {
    let p = placeholders(&[("known", "1")]);
    assert_eq!(
        p.replace_line("${known} ${Missing} ${other}"),
        Err("Missing".to_owned())
    );
    assert_eq!(
        Placeholders::new().replace_line("${flyway:x}"),
        Err("flyway:x".to_owned())
    );
}

#[test]
fn empty_and_debug() {
    let mut p = Placeholders::new();
    assert!(p.is_empty());
    p.insert("password", "hunter2");
    assert!(!p.is_empty());
    let debug = format!("{p:?}");
    assert!(debug.contains("password"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn clones_share_values_until_changed() {
    let original = placeholders(&[("a", "1")]);
    let mut copy = original.clone();
    copy.insert("a", "2");
    assert_eq!(original.get("a"), Some("1"));
    assert_eq!(copy.get("a"), Some("2"));
}

#[test]
fn splitter_replaces_inside_strings_and_comments() {
    assert_eq!(
        split_with(
            Dialect::Postgres,
            "INSERT INTO ${t} VALUES ('${v}'); -- ${t}\nSELECT $$${v}$$ /* ${v} */;",
            &[("t", "log"), ("v", "hello")],
        )
        .unwrap(),
        [
            (1, "INSERT INTO log VALUES ('hello')".to_owned()),
            (2, "SELECT $$hello$$ /* hello */".to_owned()),
        ]
    );
}

#[test]
fn values_are_lexed_after_replacement() {
    // A value may hold several statements, or open a string the file closes.
    assert_eq!(
        split_with(
            Dialect::Sqlite,
            "${two};\nSELECT ${open}still the string;';",
            &[("two", "SELECT 1; SELECT 2"), ("open", "'a;")],
        )
        .unwrap(),
        [
            (1, "SELECT 1".to_owned()),
            (1, "SELECT 2".to_owned()),
            (2, "SELECT 'a;still the string;'".to_owned()),
        ]
    );
}

#[test]
fn values_with_line_breaks_keep_original_line_numbers() {
    assert_eq!(
        split_with(
            Dialect::MySql,
            "${many}\nSELECT 3;\n-- ${comment}\n;\nSELECT 4;",
            &[
                ("many", "SELECT 1;\nSELECT\n2;"),
                ("comment", "x\nSELECT 'from value'")
            ],
        )
        .unwrap(),
        [
            (1, "SELECT 1".to_owned()),
            (1, "SELECT\n2".to_owned()),
            (2, "SELECT 3".to_owned()),
            // A line break in a value ends a line comment, as it does for the database.
            (3, "SELECT 'from value'".to_owned()),
            (5, "SELECT 4".to_owned()),
        ]
    );
}

#[test]
fn values_can_set_the_mysql_delimiter() {
    assert_eq!(
        split_with(
            Dialect::MySql,
            "DELIMITER ${d}\nSELECT 1; SELECT 2${d}\nDELIMITER ;\nSELECT 3;",
            &[("d", "//")],
        )
        .unwrap(),
        [
            (2, "SELECT 1; SELECT 2".to_owned()),
            (4, "SELECT 3".to_owned())
        ]
    );
}

#[test]
fn missing_placeholder_stops_the_split_at_its_line() {
    let input = "SELECT ${a};\n\nSELECT '${Missing}';\nSELECT 3;";
    let mut splitter = Splitter::new(input.as_bytes(), Dialect::Postgres)
        .with_placeholders(placeholders(&[("a", "1")]));
    assert_eq!(splitter.next().unwrap().unwrap().sql, "SELECT 1");
    let err = splitter.next().unwrap().unwrap_err();
    assert!(
        matches!(&err, SplitError::MissingPlaceholder { line: 3, name } if name == "Missing"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the placeholder `${Missing}` at line 3 has no value"
    );
    assert!(splitter.next().is_none());
}

#[test]
fn missing_placeholder_is_reported_even_in_comments() {
    let err = split_with(Dialect::Sqlite, "-- ${nope}\nSELECT 1;", &[]).unwrap_err();
    assert_eq!(err.line(), 1);
}

#[test]
fn without_placeholders_text_is_sent_as_written() {
    let statements = split(Dialect::Postgres, "SELECT '${not_replaced}';").unwrap();
    assert_eq!(statements[0].sql, "SELECT '${not_replaced}'");
}

#[test]
fn missing_placeholders_lists_every_occurrence_with_its_line() {
    let input: &[u8] =
        b"\xEF\xBB\xBFSELECT ${A}, ${known};\r\n-- ${b}\r\n\r\n'${flyway:c}' ${a}\n${ok:no ${d}\n\xff ${e}";
    let known = placeholders(&[("known", "1"), ("godwit:c", "2")]);
    assert_eq!(
        missing_placeholders(input, &known).unwrap(),
        [
            (1, "A".to_owned()),
            (2, "b".to_owned()),
            (4, "a".to_owned()),
            (5, "d".to_owned()),
            (6, "e".to_owned()),
        ]
    );
    assert_eq!(
        missing_placeholders("SELECT 1".as_bytes(), &Placeholders::new()).unwrap(),
        []
    );
}

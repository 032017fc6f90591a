//! The crate's contract beyond the rules: directives, levels, errors, server versions.

use std::collections::BTreeSet;

use godwit_lint::{lint, Dialect, File, FileKind, Level, Rule, ServerVersion, Settings};

fn file(name: &str, text: &str) -> File {
    File {
        path: name.into(),
        kind: FileKind::Versioned,
        version: Some("1".into()),
        text: text.into(),
    }
}

fn undo() -> BTreeSet<String> {
    ["1".to_owned()].into()
}

#[test]
fn levels_change_and_hide_findings() {
    let files = [file("V1__x.sql", "DROP TABLE t;\n")];
    let mut settings = Settings::new(Dialect::Sqlite);
    let report = lint(&files, &undo(), &settings).unwrap();
    assert!(report.has_errors());
    settings.levels.insert(Rule::DropTable, Level::Warn);
    let report = lint(&files, &undo(), &settings).unwrap();
    assert!(!report.has_errors());
    assert_eq!(report.findings[0].level, Level::Warn);
    settings.levels.insert(Rule::DropTable, Level::Off);
    assert!(lint(&files, &undo(), &settings)
        .unwrap()
        .findings
        .is_empty());
}

#[test]
fn allow_directive_needs_a_known_rule_and_a_reason() {
    let settings = Settings::new(Dialect::Postgres);
    let ok = [file(
        "V1__x.sql",
        "SELECT 1;\n  --   GODWIT:lint-allow DROP-TABLE it was empty  \nDROP TABLE t;\n",
    )];
    let report = lint(&ok, &undo(), &settings).unwrap();
    assert!(report.findings.iter().all(|f| f.rule != Rule::DropTable));
    assert_eq!(report.allowed[0].reason, "it was empty");
    assert_eq!(report.allowed[0].line, 3);
    let bad = [
        file("V1__a.sql", "-- godwit:lint-allow\nSELECT 1;\n"),
        file("V1__b.sql", "-- godwit:lint-allow drop-table\n"),
        file(
            "V1__c.sql",
            "\n\n-- godwit:lint-allow no-such-rule because\n",
        ),
    ];
    let errors = lint(&bad, &undo(), &settings).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{shown:?}");
    assert!(shown[0].starts_with("V1__a.sql:1: "), "{shown:?}");
    assert!(shown[1].contains("gives no reason"), "{shown:?}");
    assert!(
        shown[2].starts_with("V1__c.sql:3: `no-such-rule` is not a lint rule"),
        "{shown:?}"
    );
}

#[test]
fn unsplittable_sql_is_an_error_with_its_line() {
    let files = [file("V1__x.sql", "SELECT 1;\nSELECT 'open;\n")];
    let errors = lint(&files, &undo(), &Settings::new(Dialect::MySql)).unwrap_err();
    assert_eq!(errors[0].line, Some(2));
}

#[test]
fn server_versions() {
    let v = ServerVersion::parse("10.11.6-MariaDB-0+deb12u1").unwrap();
    assert!(v.mariadb && v.major == 10 && v.minor == 11 && v.patch == 6);
    let v = ServerVersion::parse("PostgreSQL 15.4 (Debian 15.4-1)").unwrap();
    assert!(!v.mariadb && v.major == 15 && v.minor == 4);
    assert!(ServerVersion::parse("latest").is_none());
}

#[test]
fn no_input_panics() {
    let settings = Settings::new(Dialect::Postgres);
    for text in [
        "",
        "ALTER",
        "ALTER TABLE",
        "ALTER TABLE t ADD",
        "CREATE INDEX",
        "DROP TABLE ,,,;",
        "INSERT",
        "$$",
        "ALTER TABLE \"",
        "\u{feff}-- godwit:contract\nALTER TABLE t RENAME",
        "CREATE TABLE t (a int);;;ALTER TABLE t ALTER COLUMN a TYPE",
    ] {
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let mut s = settings.clone();
            s.dialect = dialect;
            let _ = lint(&[file("V1__x.sql", text)], &undo(), &s);
        }
    }
}

//! The same CLI session, with the same files, gives the same results on SQLite, PostgreSQL
//! and MariaDB: what differs (the URL, the server version, timings and timestamps) is
//! normalised away, and everything else must match line for line.

use godwit_test_support::{Kind, Project};

const FILES: &[(&str, &str)] = &[
    (
        "V1__create_person.sql",
        "-- People; and their names.\nCREATE TABLE person (\n    id INT PRIMARY KEY,\n    name VARCHAR(100) NOT NULL /* never empty; */\n);\nINSERT INTO person (id, name) VALUES (1, 'O''Brien; Pat');\n",
    ),
    ("U1__create_person.sql", "DROP TABLE person;\n"),
    (
        "V2__add_email.sql",
        "ALTER TABLE person ADD COLUMN email VARCHAR(200);\n",
    ),
    ("U2__add_email.sql", "ALTER TABLE person DROP COLUMN email;\n"),
    (
        "R__person_names.sql",
        "DROP VIEW IF EXISTS person_names;\nCREATE VIEW person_names AS SELECT name FROM person;\n",
    ),
    (
        "D2__default_email.sql",
        "UPDATE person SET email = 'nobody@example.com' WHERE email IS NULL;\n",
    ),
];

const SESSION: &[&[&str]] = &[
    &["info"],
    &["migrate", "--target", "1"],
    &["current"],
    &["validate"],
    &["migrate"],
    &["info"],
    &["current"],
    &["migrate"],
    &["undo"],
    &["info"],
    &["migrate", "--json"],
    &["info", "--json"],
    &["validate", "--json"],
];

/// Drops what legitimately differs between databases and runs from one line of output.
fn normalise_line(line: &str) -> String {
    if line.starts_with("Migrating ") {
        return "Migrating <url>".into();
    }
    if line.starts_with('|') {
        // An `info` table row: column widths follow timings, so keep the cells that do not.
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let keep = [1, 2, 3, 4, 7];
        return keep
            .iter()
            .map(|&i| cells.get(i).copied().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    // Timings at the end of progress and summary lines: `(12ms)`, `(<1ms)`, `(1.25s)`.
    if let Some(open) = line.rfind(" (") {
        let inner = line[open + 2..].trim_end_matches(')');
        if line.ends_with(')')
            && inner.ends_with('s')
            && inner
                .trim_start_matches('<')
                .trim_end_matches("ms")
                .trim_end_matches('s')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
        {
            return line[..open].to_string();
        }
    }
    line.to_string()
}

/// JSON without the values that depend on time or on the database user.
fn normalise_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for key in [
                "installed_on",
                "installed_by",
                "execution_time",
                "duration_ms",
            ] {
                map.remove(key);
            }
            map.values_mut().for_each(normalise_json);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(normalise_json),
        _ => {}
    }
}

fn transcript(kind: Kind) -> Vec<String> {
    let p = Project::new(kind);
    for (name, text) in FILES {
        p.migration(name, text);
    }
    let mut out = Vec::new();
    for args in SESSION {
        let run = p.godwit(args);
        out.push(format!("$ godwit {} -> exit {}", args.join(" "), run.code));
        if args.contains(&"--json") {
            let mut json = run.json();
            normalise_json(&mut json);
            out.push(serde_json::to_string_pretty(&json).expect("json"));
        } else {
            out.extend(run.stdout.lines().map(normalise_line));
        }
        // Start lines (`Running V1 …...`) are left out: SQLite commits a run's migrations
        // together, so its `Applied` lines come later, after the next start lines.
        out.extend(
            run.stderr
                .lines()
                .filter(|l| !(l.starts_with("Running ") && l.ends_with("...")))
                .map(|l| format!("! {}", normalise_line(l))),
        );
    }
    let names = p.db.query("SELECT name FROM person_names");
    out.push(format!("person_names: {names:?}"));
    out
}

#[test]
fn same_session_gives_the_same_results_on_every_database() {
    let sqlite = transcript(Kind::Sqlite);
    // The session itself must have gone as planned, not merely fail alike everywhere.
    let text = sqlite.join("\n");
    for expected in [
        "$ godwit migrate --target 1 -> exit 0",
        "! Applied V1 create person",
        "! Applied V2 add email",
        "! Ran D2 default email",
        "! Undid V2 add email",
        "$ godwit validate --json -> exit 0",
        "person_names: [Some(\"O'Brien; Pat\")]",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    for kind in [Kind::Postgres, Kind::MySql] {
        let other = transcript(kind);
        if other != sqlite {
            let first = sqlite
                .iter()
                .zip(&other)
                .position(|(a, b)| a != b)
                .unwrap_or(sqlite.len().min(other.len()));
            panic!(
                "{kind:?} differs from SQLite at line {first}:\n  sqlite: {:?}\n  {kind:?}: {:?}\n--- SQLite ---\n{}\n--- {kind:?} ---\n{}",
                sqlite.get(first),
                other.get(first),
                sqlite.join("\n"),
                other.join("\n")
            );
        }
    }
}

//! What godwit prints, as a reviewer reads it: the text and `--json` output of every command,
//! success and failure, on each database, from the real binary. Each snapshot is one command's
//! exit code, stdout and stderr, with what changes from run to run (the project's path, the
//! database's name and URL, timings, timestamps, ports, versions) replaced by placeholders such
//! as `[PROJECT]` and `[TIME]`.
//!
//! The snapshots are in `tests/it/snapshots/`, one file per command, output format and database.
//! When output changes on purpose, review and accept the new snapshots with `cargo insta review`
//! (cargo-insta), or without it by running the tests with `INSTA_UPDATE=always` and reading the
//! diff of the `.snap` files; CI (`CI` set) never writes them and fails on a difference.

use godwit_test_support::{on_every_database, Kind, Project, Run};

/// What differs between runs and machines, replaced by placeholders; then the tables realigned,
/// since a placeholder is not as wide as what it replaces.
fn normalise(p: &Project, text: &str) -> String {
    let literal = |s: &str| regex::escape(s);
    let rules: Vec<(String, &str)> = vec![
        // The database's URL (as given, and as godwit redacts it), its name, the project's path.
        (literal(&p.db.url), "[URL]"),
        (literal(p.db.name()), "[DB]"),
        (literal(&p.path().display().to_string()), "[PROJECT]"),
        // Server versions.
        (
            r"PostgreSQL \d+(\.\d+)*( \([^)]*\))?".into(),
            "PostgreSQL [VERSION]",
        ),
        (
            r"\d+\.\d+\.\d+-MariaDB[\w.+~-]*".into(),
            "[VERSION]-MariaDB",
        ),
        (r"SQLite \d+(\.\d+)+".into(), "SQLite [VERSION]"),
        // Timestamps: `2026-11-25 18:23:29`, `2026-11-25T18:23:29.123456Z`, `+00:00`.
        (
            r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?".into(),
            "[TIMESTAMP]",
        ),
        // How long something took: `(12ms)`, `(<1ms)`, `(1.2s)`, and JSON's milliseconds.
        (r"\(<?\d+(\.\d+)?(ms|µs|s)\)".into(), "([TIME])"),
        (
            r#""(duration_ms|execution_time|elapsed_ms)": \d+"#.into(),
            r#""$1": "[MS]""#,
        ),
        // Ports.
        (r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[PORT]"),
        // The scratch database of `verify-undo`: a random suffix, or a temporary file.
        (
            r"_godwit_verify_[0-9a-f]+".into(),
            "_godwit_verify_[SUFFIX]",
        ),
        (
            r#"/[^\s"]*godwit-verify-[^/\s"]+/scratch\.db"#.into(),
            "[SCRATCH]",
        ),
    ];
    let mut text = text.to_string();
    for (pattern, replacement) in &rules {
        let re = regex::Regex::new(pattern).expect("a valid pattern");
        text = re.replace_all(&text, *replacement).into_owned();
    }
    realign_tables(&text)
}

/// Pads the cells of each table (lines starting with `|`) to their column's widest cell again;
/// a `Time` column's durations become `[TIME]`.
fn realign_tables(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |table: &mut Vec<Vec<String>>, out: &mut Vec<String>| {
        if table.is_empty() {
            return;
        }
        let time = table[0].iter().position(|c| c == "Time");
        for row in table.iter_mut().skip(1) {
            if let Some(cell) = time.and_then(|i| row.get_mut(i)) {
                if cell
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '<')
                {
                    *cell = "[TIME]".into();
                }
            }
        }
        let columns = table.iter().map(Vec::len).max().unwrap_or(0);
        let width: Vec<usize> = (0..columns)
            .map(|i| {
                table
                    .iter()
                    .filter(|row| !is_rule(row))
                    .filter_map(|row| row.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in table.drain(..) {
            let rule = is_rule(&row);
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if rule {
                        "-".repeat(width[i] + 2)
                    } else {
                        format!(" {c:<w$} ", w = width[i])
                    }
                })
                .collect();
            out.push(format!("|{}|", cells.join("|")));
        }
    };
    for line in text.lines() {
        if line.starts_with('|') && line.ends_with('|') && line.len() > 1 {
            let inner = &line[1..line.len() - 1];
            table.push(inner.split('|').map(|c| c.trim().to_string()).collect());
        } else {
            flush(&mut table, &mut out);
            out.push(line.to_string());
        }
    }
    flush(&mut table, &mut out);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// A table's rule line (`|----|---|`).
fn is_rule(row: &[String]) -> bool {
    row.iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-'))
}

/// One run as a snapshot shows it: the exit code, then stdout and stderr.
fn shown(p: &Project, run: &Run) -> String {
    normalise(
        p,
        &format!(
            "exit code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            run.code, run.stdout, run.stderr
        ),
    )
}

/// Runs `godwit <args>` (with `--json` after the command when `json`) and checks what it printed
/// against the snapshot `name` (`name_json`), for the project's database.
#[track_caller]
fn snapshot(p: &Project, json: bool, name: &str, args: &[&str]) {
    snapshot_env(p, json, name, args, &[]);
}

/// [`snapshot`] with more environment variables.
#[track_caller]
fn snapshot_env(p: &Project, json: bool, name: &str, args: &[&str], env: &[(&str, &str)]) {
    let mut args = args.to_vec();
    let mut name = name.to_string();
    if json {
        args.insert(1, "--json");
        name.push_str("_json");
    }
    let mut env = env.to_vec();
    env.push(("GODWIT_INSTALLED_BY", "ops"));
    let run = p.godwit_env(&args, &env);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(match p.db.kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
        Kind::MySql => "mysql",
    });
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("godwit {}", args.join(" ")));
    settings.bind(|| insta::assert_snapshot!(name, shown(p, &run)));
}

/// A project with two versioned migrations and their undo files, a data migration and a
/// repeatable one.
fn project(kind: Kind) -> Project {
    let p = Project::new(kind);
    p.migration(
        "V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100));\n",
    )
    .migration("U1__create_person.sql", "DROP TABLE person;\n")
    .migration(
        "V2__add_country.sql",
        "ALTER TABLE person ADD COLUMN country VARCHAR(2);\n",
    )
    .migration(
        "U2__add_country.sql",
        "ALTER TABLE person DROP COLUMN country;\n",
    )
    .migration(
        "D2__default_country.sql",
        "UPDATE person SET country = 'NL' WHERE country IS NULL;\n",
    )
    .migration(
        "R__person_view.sql",
        "DROP VIEW IF EXISTS person_view;\nCREATE VIEW person_view AS SELECT id, name FROM person;\n",
    );
    p
}

/// A new project through its life: info, a dry run, migrate, info, validate, current, undo,
/// validate after an edit (failure), repair, clean.
fn lifecycle(kind: Kind) {
    for json in [false, true] {
        lifecycle_shown(kind, json);
    }
}

fn lifecycle_shown(kind: Kind, json: bool) {
    let p = project(kind);
    snapshot(&p, json, "info_empty", &["info"]);
    snapshot(&p, json, "migrate_dry_run", &["migrate", "--dry-run"]);
    snapshot(&p, json, "migrate", &["migrate"]);
    snapshot(&p, json, "migrate_up_to_date", &["migrate"]);
    snapshot(&p, json, "info_applied", &["info"]);
    snapshot(&p, json, "validate", &["validate"]);
    snapshot(&p, json, "current", &["current"]);
    snapshot(&p, json, "undo_dry_run", &["undo", "--dry-run"]);
    snapshot(&p, json, "undo", &["undo"]);
    snapshot(&p, json, "migrate_again", &["migrate"]);
    p.migration(
        "V1__create_person.sql",
        "-- edited after it was applied\nCREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100));\n",
    );
    snapshot(&p, json, "validate_checksum_mismatch", &["validate"]);
    snapshot(&p, json, "migrate_checksum_mismatch", &["migrate"]);
    snapshot(&p, json, "repair_dry_run", &["repair", "--dry-run"]);
    snapshot(&p, json, "repair", &["repair"]);
    snapshot(&p, json, "clean_disabled", &["clean", "--yes"]);
    p.file("godwit.toml", "clean_disabled = false\n");
    snapshot(&p, json, "clean_dry_run", &["clean", "--yes", "--dry-run"]);
    snapshot(&p, json, "clean", &["clean", "--yes"]);
}

/// A migration that fails part way: the error names the file and line, and says what happened
/// to what ran before it.
fn failed_migration(kind: Kind) {
    for json in [false, true] {
        failed_migration_shown(kind, json);
    }
}

fn failed_migration_shown(kind: Kind, json: bool) {
    let p = Project::new(kind);
    p.migration("V1__good.sql", "CREATE TABLE good (id INT);\n")
        .migration(
            "V2__bad.sql",
            "CREATE TABLE fine (id INT);\n\nCREATE TABLEE broken (id INT);\n",
        );
    snapshot(&p, json, "migrate_failed", &["migrate"]);
    snapshot(&p, json, "info_after_failure", &["info"]);
}

/// An existing database godwit never managed: baseline, then migrate above it.
fn baseline(kind: Kind) {
    for json in [false, true] {
        baseline_shown(kind, json);
    }
}

fn baseline_shown(kind: Kind, json: bool) {
    let p = Project::new(kind);
    p.db.exec("CREATE TABLE legacy (id INT)");
    p.migration("V1__legacy.sql", "CREATE TABLE legacy (id INT);\n")
        .migration("V2__more.sql", "CREATE TABLE more (id INT);\n");
    snapshot(&p, json, "migrate_not_empty", &["migrate"]);
    snapshot(
        &p,
        json,
        "baseline_dry_run",
        &["baseline", "--baseline-version", "1", "--dry-run"],
    );
    snapshot(
        &p,
        json,
        "baseline",
        &["baseline", "--baseline-version", "1"],
    );
    snapshot(&p, json, "migrate_after_baseline", &["migrate"]);
}

/// Bad input that stops godwit before it connects: a configuration error and a bad file name.
fn refused_before_connecting(kind: Kind) {
    for json in [false, true] {
        refused_before_connecting_shown(kind, json);
    }
}

fn refused_before_connecting_shown(kind: Kind, json: bool) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    p.file("godwit.toml", "lock_timeout = \"soon\"\ncolour = true\n");
    snapshot(&p, json, "bad_config", &["migrate"]);
    p.remove("godwit.toml");
    p.migration("V1_a.sql", "CREATE TABLE b (id INT);\n");
    snapshot(&p, json, "bad_file_name", &["validate"]);
}

/// A server that is not there: exit 3, the URL redacted, a hint. `wait` says when it is up.
fn connection(kind: Kind) {
    for json in [false, true] {
        connection_shown(kind, json);
    }
}

fn connection_shown(kind: Kind, json: bool) {
    let p = Project::new(kind);
    let unreachable = match kind {
        Kind::Postgres => "postgres://app:secret@127.0.0.1:1/nope",
        Kind::MySql => "mysql://app:secret@127.0.0.1:1/nope",
        Kind::Sqlite => "sqlite:///nonexistent-dir/for/sure/x.db",
    };
    snapshot(&p, json, "unreachable", &["migrate", "--url", unreachable]);
    snapshot(&p, json, "wait", &["wait"]);
}

/// Rolling back with an older release (docs/design.md §21, §22): what it shows of the stored
/// undo scripts, the floor that stops it, the dry run that goes down; then `verify-undo`
/// finding an undo script that forgets an index (§23).
fn rollback(kind: Kind) {
    for json in [false, true] {
        rollback_shown(kind, json);
    }
}

fn rollback_shown(kind: Kind, json: bool) {
    let p = project(kind);
    p.migration(
        "V3__split_name.sql",
        "-- godwit:breaking\nALTER TABLE person ADD COLUMN last_name VARCHAR(100);\n",
    )
    .migration(
        "U3__split_name.sql",
        "ALTER TABLE person DROP COLUMN last_name;\n",
    );
    p.godwit(&["migrate"]).success();
    for f in [
        "V2__add_country",
        "U2__add_country",
        "D2__default_country",
        "V3__split_name",
        "U3__split_name",
    ] {
        p.remove(&format!("migrations/{f}.sql"));
    }
    snapshot(&p, json, "info_older_release", &["info"]);
    snapshot(&p, json, "migrate_below_floor", &["migrate"]);
    snapshot(
        &p,
        json,
        "migrate_down_stored_dry_run",
        &["migrate", "--target", "1", "--dry-run"],
    );

    let q = Project::new(kind);
    q.migration(
        "V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100));\n",
    )
    .migration("U1__create_person.sql", "DROP TABLE person;\n")
    .migration(
        "V2__index_name.sql",
        "CREATE INDEX person_name_idx ON person (name);\nALTER TABLE person ADD COLUMN country VARCHAR(2);\n",
    )
    .migration(
        "U2__index_name.sql",
        "ALTER TABLE person DROP COLUMN country;\n",
    );
    snapshot(&q, json, "verify_undo_forgotten_index", &["verify-undo"]);
}

/// A database Flyway migrated: the line saying its history table is used, in `info` and
/// `migrate` (docs/design.md §2.8).
fn flyway_history(kind: Kind) {
    for json in [false, true] {
        flyway_history_shown(kind, json);
    }
}

fn flyway_history_shown(kind: Kind, json: bool) {
    let p = project(kind);
    let v1 = std::fs::read_to_string(p.path().join("migrations/V1__create_person.sql")).unwrap();
    crate::flyway_history::flyway_database(
        &p,
        &["CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100))"],
        &[(
            1,
            Some("1"),
            "create person",
            "SQL",
            "V1__create_person.sql",
            Some(godwit::checksum_str(&v1)),
        )],
    );
    snapshot(&p, json, "flyway_info", &["info"]);
    snapshot(&p, json, "flyway_migrate", &["migrate"]);
}

/// A Flyway project (flyway.conf, the `sql` directory) run through `godwit flyway`, and a Flyway
/// setting godwit refuses, under `godwit flyway` (exit 1) and plain godwit (exit 2).
fn flyway(kind: Kind) {
    for json in [false, true] {
        flyway_shown(kind, json);
    }
}

fn flyway_shown(kind: Kind, json: bool) {
    let p = Project::new(kind);
    p.file(
        "flyway.conf",
        "flyway.locations=filesystem:sql\nflyway.placeholders.owner=app\n",
    )
    .file(
        "sql/V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, owner VARCHAR(20));\n",
    )
    .file(
        "sql/V2__add_person.sql",
        "INSERT INTO person VALUES (1, '${owner}');\n",
    );
    snapshot(
        &p,
        json,
        "flyway_command_migrate",
        &["flyway", "migrate", "info"],
    );
    p.file(
        "flyway.conf",
        "flyway.locations=filesystem:sql\nflyway.tablespace=fast\n",
    );
    snapshot(&p, json, "flyway_command_unsupported", &["flyway", "info"]);
    snapshot(&p, json, "flyway_unsupported_plain", &["info"]);
}

on_every_database!(
    lifecycle,
    failed_migration,
    baseline,
    refused_before_connecting,
    connection,
    rollback,
    flyway_history,
    flyway
);

/// `new` writes the next file (the same on every database).
#[test]
fn new_writes_the_next_migration() {
    for json in [false, true] {
        let p = project(Kind::Sqlite);
        snapshot(&p, json, "new", &["new", "add", "email"]);
        snapshot(&p, json, "new_undo", &["new", "--undo", "add fax"]);
        snapshot(&p, json, "new_dry_run", &["new", "--dry-run", "add phone"]);
    }
}

/// `godwit lint` on a project with one applied migration and pending ones that break the
/// previous release, one finding accepted by a directive; then `migrate --dry-run` with the lint
/// on (`warn`: the findings are warnings) and `migrate` with `lint = "error"` (refused).
fn lint(kind: Kind) {
    for json in [false, true] {
        lint_shown(kind, json);
    }
}

fn lint_shown(kind: Kind, json: bool) {
    let p = Project::new(kind);
    p.migration(
        "V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100), nickname VARCHAR(50));\n",
    )
    .migration("U1__create_person.sql", "DROP TABLE person;\n");
    p.godwit(&["migrate"]).success();
    p.migration(
        "V2__drop_nickname.sql",
        "-- Release 2 no longer reads it.\nALTER TABLE person DROP COLUMN nickname;\n",
    )
    .migration(
        "V3__scratch.sql",
        "-- godwit:lint-allow drop-table nothing ever read it\nCREATE TABLE scratch (id INT);\nDROP TABLE scratch;\nDROP TABLE person_old;\n",
    )
    .migration(
        "D3__seed.sql",
        "INSERT INTO person (id, name) VALUES (1, 'root');\n",
    );
    snapshot(&p, json, "lint", &["lint"]);
    snapshot_env(
        &p,
        json,
        "lint_migrate_dry_run",
        &["migrate", "--dry-run"],
        &[("GODWIT_LINT", "warn")],
    );
    snapshot_env(
        &p,
        json,
        "lint_migrate_refused",
        &["migrate"],
        &[("GODWIT_LINT", "error")],
    );
}

on_every_database!(lint);

/// `migrate --dry-run` with `group = true` (docs/design.md §5.8.8): one BEGIN before the first
/// migration and one COMMIT after the last, history rows inside; refused on MySQL/MariaDB.
fn group_dry_run(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__create_a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__fill_a.sql", "INSERT INTO a VALUES (1);\n");
    snapshot_env(
        &p,
        false,
        "group_migrate_dry_run",
        &["migrate", "--dry-run"],
        &[("GODWIT_GROUP", "true")],
    );
}

on_every_database!(group_dry_run);

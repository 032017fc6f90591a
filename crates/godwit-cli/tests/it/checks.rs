//! Bad input refused before anything runs (exit 2, nothing written): transaction-control
//! statements in a file godwit runs in a transaction, NUL bytes, values and names that do not
//! fit the history table; and `validate`, which checks files as strictly as `migrate`.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project, Run};

on_every_database!(
    committing_file_is_refused_before_anything_runs,
    every_transaction_control_statement_is_refused_at_its_line,
    statements_that_only_mention_transactions_run,
    undo_callbacks_and_data_migrations_are_checked_too,
    nul_byte_is_refused_by_every_command_that_reads_files,
    installed_by_too_long_is_refused_by_every_writing_command,
    version_too_long_is_refused,
    history_table_name_must_fit_the_dialect,
    validate_checks_files_like_migrate,
);

/// Asserts that the database holds no table at all, not even the history table.
#[track_caller]
fn nothing_written(p: &Project) {
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
}

/// Asserts a refusal of file problems: exit 2, the "nothing was run" headline, and `where`.
#[track_caller]
fn refused(run: &Run, at: &str) {
    run.code(2).stderr_has("nothing was run").stderr_has(at);
}

/// The regression from the issue: on PostgreSQL the file kept `b` and said nothing remained;
/// on SQLite it ended with "no such savepoint" and was recorded as a success. Now it is
/// refused before anything runs, in `migrate`, `migrate --dry-run` and `validate` alike.
fn committing_file_is_refused_before_anything_runs(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n")
        .migration(
            "V2__commits.sql",
            "CREATE TABLE b (i int);\nCOMMIT;\nCREATE TABLE c (i int);\nSELECT 1/0;\n",
        );
    for args in [&["migrate"][..], &["migrate", "--dry-run"], &["validate"]] {
        let run = p.godwit(args);
        refused(
            &run,
            "migrations/V2__commits.sql:2: `COMMIT` controls transactions",
        );
        run.stderr_has("-- godwit:no-transaction")
            .stderr_has("on the first line");
        nothing_written(&p);
    }
    let json = p.godwit(&["migrate", "--json"]).code(2).json();
    assert_eq!(json["error"]["category"], "usage");
    assert_eq!(json["error"]["details"][0]["line"], 2);
    nothing_written(&p);

    // A file that manages its own transactions says so, and runs.
    p.migration(
        "V2__commits.sql",
        "-- godwit:no-transaction\nBEGIN;\nCREATE TABLE b (i int);\nCOMMIT;\nCREATE TABLE c (i int);\n",
    );
    p.godwit(&["validate"]).success();
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V2 commits [no transaction]");
    assert_eq!(p.db.tables(), ["a", "b", "c", "godwit_schema_history"]);
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|a|SQL|true", "2|commits|SQL|true"]
    );
}

/// Every form of transaction control the dialect has is refused at its own line; all the
/// files are listed in one run.
fn every_transaction_control_statement_is_refused_at_its_line(kind: Kind) {
    let statements: &[&str] = match kind {
        Kind::Postgres => &[
            "BEGIN",
            "begin transaction isolation level serializable",
            "START TRANSACTION",
            "COMMIT WORK",
            "COMMIT AND CHAIN",
            "END",
            "ROLLBACK",
            "ROLLBACK TO SAVEPOINT s",
            "ABORT",
            "SAVEPOINT s",
            "RELEASE SAVEPOINT s",
            "RELEASE s",
            "PREPARE TRANSACTION 'x'",
            "COMMIT PREPARED 'x'",
            "ROLLBACK PREPARED 'x'",
        ],
        Kind::MySql => &[
            "BEGIN",
            "BEGIN WORK",
            "START TRANSACTION",
            "COMMIT",
            "COMMIT WORK AND CHAIN",
            "ROLLBACK",
            "ROLLBACK TO SAVEPOINT s",
            "SAVEPOINT s",
            "RELEASE SAVEPOINT s",
            "XA START 'x'",
            "SET autocommit = 0",
            "SET SESSION autocommit = 1",
            "SET @@session.autocommit = 0",
            "SET NAMES utf8mb4, autocommit = 0",
            "/*!40101 SET autocommit = 0 */",
        ],
        Kind::Sqlite => &[
            "BEGIN",
            "BEGIN IMMEDIATE TRANSACTION",
            "COMMIT",
            "END TRANSACTION",
            "ROLLBACK",
            "ROLLBACK TO SAVEPOINT s",
            "SAVEPOINT s",
            "RELEASE s",
        ],
    };
    let p = Project::new(kind);
    for (i, sql) in statements.iter().enumerate() {
        let v = i + 1;
        p.migration(
            &format!("V{v}__control.sql"),
            &format!("-- statement {v}\nCREATE TABLE t{v} (i int);\n\n{sql};\n"),
        );
    }
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has(&format!("{} problems", statements.len()));
    for (i, sql) in statements.iter().enumerate() {
        run.stderr_has(&format!(
            "migrations/V{}__control.sql:4: `{sql}` controls transactions",
            i + 1
        ));
    }
    nothing_written(&p);
}

/// `BEGIN`, `END` and `COMMIT` inside routine bodies, blocks, strings, comments and names are
/// not transaction control: such files run in a transaction as before.
fn statements_that_only_mention_transactions_run(kind: Kind) {
    let p = Project::new(kind);
    let common = "-- COMMIT; BEGIN; END;\nCREATE TABLE t (id INT, note VARCHAR(20));\n/* ROLLBACK */\nINSERT INTO t VALUES (1, 'COMMIT;');\nSELECT * FROM t WHERE note = 'BEGIN';\n";
    p.migration("V1__common.sql", common);
    match kind {
        Kind::Postgres => {
            p.migration(
                "V2__bodies.sql",
                "DO $$\nBEGIN\n  INSERT INTO t VALUES (2, 'do');\nEND\n$$;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1;\nEND\n$$;\nCREATE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 2;\nEND;\nCREATE TABLE \"end\" (\"commit\" int);\nSELECT id FROM t FOR UPDATE;\n",
            );
        }
        Kind::MySql => {
            p.migration(
                "V2__bodies.sql",
                "CREATE PROCEDURE p()\nBEGIN\n  START TRANSACTION;\n  INSERT INTO t VALUES (3, 'p');\n  COMMIT;\nEND;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.note = CONCAT(NEW.note, '');\nEND;\nBEGIN NOT ATOMIC\n  INSERT INTO t VALUES (2, 'block');\nEND;\nCREATE TABLE `end` (`commit` INT);\nSET @autocommit = 0;\nSELECT @@autocommit;\nSELECT id FROM t FOR UPDATE;\n",
            );
        }
        Kind::Sqlite => {
            p.migration(
                "V2__bodies.sql",
                "CREATE TABLE log (id INT);\nCREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n  INSERT INTO log VALUES (NEW.id);\nEND;\nCREATE TABLE \"end\" ([commit] INT, \"begin\" INT);\nINSERT INTO t VALUES (2, 'trigger');\n",
            );
        }
    }
    p.godwit(&["validate"]).success();
    let report = p.godwit(&["migrate", "--json"]).success().json();
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2);
    assert!(
        steps.iter().all(|s| s["transactional"] == true),
        "{steps:?}"
    );
    assert!(p.db.tables().contains(&"end".to_string()));
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|common|SQL|true", "2|bodies|SQL|true"]
    );
}

/// The rule holds for every kind of file that runs in a transaction: undo scripts (also in a
/// dry run), callbacks and data migrations. A callback that says it manages its own
/// transactions may contain them.
fn undo_callbacks_and_data_migrations_are_checked_too(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n")
        .migration("U1__a.sql", "DROP TABLE a;\nCOMMIT;\n");
    p.godwit(&["migrate"]).success();
    for args in [&["undo"][..], &["undo", "--dry-run"]] {
        refused(
            &p.godwit(args),
            "migrations/U1__a.sql:2: `COMMIT` controls transactions",
        );
    }
    assert_eq!(
        p.db.tables(),
        ["a", "godwit_schema_history", "godwit_schema_history_undo"]
    );
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);

    p.migration("V2__b.sql", "CREATE TABLE b (i int);\n")
        .migration(
            "afterMigrate.sql",
            "DELETE FROM a;\nROLLBACK;\nINSERT INTO a VALUES (1);\n",
        )
        .migration(
            "D2__fill.sql",
            "SAVEPOINT s;\nINSERT INTO a VALUES (3);\nRELEASE SAVEPOINT s;\n",
        );
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has("migrations/afterMigrate.sql:2: `ROLLBACK` controls transactions")
        .stderr_has("migrations/D2__fill.sql:1: `SAVEPOINT s` controls transactions");
    assert_eq!(
        p.db.tables(),
        ["a", "godwit_schema_history", "godwit_schema_history_undo"]
    );
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);

    p.migration("D2__fill.sql", "INSERT INTO a VALUES (3);\n");
    p.migration(
        "afterMigrate.sql",
        "-- godwit:no-transaction\nBEGIN;\nINSERT INTO a VALUES (1);\nCOMMIT;\n",
    );
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.query("SELECT count(*) FROM a"),
        [Some("2".to_string())]
    );
}

/// A NUL byte in any migration file: exit 2 naming the file and line, in every command that
/// reads files, nothing written. (`migrate` used to spin forever on SQLite holding the lock,
/// and MariaDB ran part of the file.)
fn nul_byte_is_refused_by_every_command_that_reads_files(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n")
        .migration(
            "V2__nul.sql",
            "CREATE TABLE b (i int);\nINSERT INTO b VALUES (1);\nSELECT 'x\0y';\nCREATE TABLE c (i int);\n",
        );
    for args in [
        &["migrate"][..],
        &["migrate", "--dry-run"],
        &["validate"],
        &["info"],
    ] {
        let run = p.godwit(args);
        refused(
            &run,
            "migrations/V2__nul.sql:3: this line contains a NUL byte",
        );
        run.stderr_has("remove the NUL byte");
        nothing_written(&p);
    }
    // Callbacks too, wherever the byte is (here on a line ended by a lone CR).
    p.migration("V2__nul.sql", "CREATE TABLE b (i int);\n")
        .migration("beforeMigrate.sql", "SELECT 1;\rSELECT 2;\n-- \0\n");
    refused(
        &p.godwit(&["migrate"]),
        "migrations/beforeMigrate.sql:3: this line contains a NUL byte",
    );
    nothing_written(&p);
    p.remove("migrations/beforeMigrate.sql");
    p.godwit(&["migrate"]).success();
    assert_eq!(p.db.tables(), ["a", "b", "godwit_schema_history"]);
}

/// `installed_by` over the column's 100 characters is refused by `migrate` (also dry), `undo`,
/// `baseline` and `repair` before anything is written. (On MariaDB a migration used to create its
/// table and then fail to write its row.)
fn installed_by_too_long_is_refused_by_every_writing_command(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n")
        .migration("U1__a.sql", "DROP TABLE a;\n");
    let long = "x".repeat(101);
    let env = [("GODWIT_INSTALLED_BY", long.as_str())];
    let says = |run: &Run| {
        run.code(2)
            .stderr_has("`installed_by` is 101 characters long")
            .stderr_has("holds 100")
            .stderr_has("GODWIT_INSTALLED_BY");
    };
    for args in [
        &["migrate"][..],
        &["migrate", "--dry-run"],
        &["baseline"],
        &["baseline", "--dry-run"],
    ] {
        says(&p.godwit_env(args, &env));
        nothing_written(&p);
    }
    // Exactly 100 characters fit.
    let longest = "y".repeat(100);
    p.godwit_env(&["migrate"], &[("GODWIT_INSTALLED_BY", longest.as_str())])
        .success();
    assert_eq!(
        p.db.query("SELECT installed_by FROM godwit_schema_history"),
        [Some(longest.clone())]
    );
    for args in [
        &["undo"][..],
        &["undo", "--dry-run"],
        &["repair"],
        &["repair", "--dry-run"],
    ] {
        says(&p.godwit_env(args, &env));
    }
    assert_eq!(
        p.db.tables(),
        ["a", "godwit_schema_history", "godwit_schema_history_undo"]
    );
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);
}

/// A version over the `version` column's 50 characters, from a file name or from the baseline
/// version, is refused before anything runs; 50 fit.
fn version_too_long_is_refused(kind: Kind) {
    let p = Project::new(kind);
    let long = "1".repeat(51);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n")
        .migration(&format!("V{long}__b.sql"), "CREATE TABLE b (i int);\n");
    let run = p.godwit(&["migrate"]);
    refused(
        &run,
        &format!("V{long}__b.sql: the version `{long}` is 51 characters long"),
    );
    run.stderr_has("holds 50");
    nothing_written(&p);
    p.remove(&format!("migrations/V{long}__b.sql"));
    let longest = "2".repeat(50);
    p.migration(&format!("V{longest}__b.sql"), "CREATE TABLE b (i int);\n");
    p.godwit(&["migrate"]).success();
    assert_eq!(p.db.tables(), ["a", "b", "godwit_schema_history"]);

    // The baseline version, given or configured.
    let q = Project::new(kind);
    q.db.exec("CREATE TABLE legacy (i int)");
    let existing = q.db.tables();
    q.godwit(&["baseline", "--baseline-version", &long])
        .code(2)
        .stderr_has("cannot record the baseline")
        .stderr_has("51 characters long");
    q.godwit_env(
        &["migrate"],
        &[
            ("GODWIT_BASELINE_ON_MIGRATE", "true"),
            ("GODWIT_BASELINE_VERSION", long.as_str()),
        ],
    )
    .code(2)
    .stderr_has("`baseline_version`");
    assert_eq!(q.db.tables(), existing);
}

/// The history table's name, and the index and constraint names derived from it, must fit
/// PostgreSQL's 63 bytes (it would cut them, making the two derived names collide) and MySQL's
/// 64 characters; SQLite has no limit. The longest name that fits works.
fn history_table_name_must_fit_the_dialect(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n");
    let fits = match kind {
        Kind::Postgres => 57,
        Kind::MySql => 58,
        Kind::Sqlite => 120,
    };
    if kind != Kind::Sqlite {
        let long = "h".repeat(fits + 1);
        for args in [&["migrate"][..], &["migrate", "--dry-run"], &["baseline"]] {
            p.godwit(&[args, &["--table", long.as_str()][..]].concat())
                .code(2)
                .stderr_has(&format!("needs the index name `{long}_s_idx`"))
                .stderr_has(&format!("of at most {fits}"));
            nothing_written(&p);
        }
    }
    let name = "h".repeat(fits);
    p.godwit(&["migrate", "--table", &name]).success();
    assert_eq!(p.db.history(&name), ["1|a|SQL|true"]);
    p.godwit(&["validate", "--table", &name]).success();
}

/// `validate` runs the checks `migrate` runs on the files it would run: placeholders,
/// splitting, transaction modes and transaction control. A clean `validate` means `migrate`
/// does not refuse a file.
fn validate_checks_files_like_migrate(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i int);\n");
    p.godwit(&["migrate"]).success();
    p.migration("V2__placeholder.sql", "CREATE TABLE ${name} (i int);\n")
        .migration("V3__unterminated.sql", "SELECT 1;\nSELECT 'open;\n")
        .migration("V4__control.sql", "SELECT 1;\nROLLBACK;\n")
        .migration("R__view.sql", "CREATE VIEW v AS SELECT 1 AS x;\nBEGIN;\n");
    let mixed = match kind {
        Kind::Postgres => {
            Some("CREATE TABLE m (i int);\nCREATE INDEX CONCURRENTLY m_i ON m (i);\n")
        }
        Kind::Sqlite => Some("CREATE TABLE m (i int);\nVACUUM;\n"),
        Kind::MySql => None,
    };
    if let Some(sql) = mixed {
        p.migration("V5__mixed.sql", sql);
    }
    let expected = [
        "migrations/V2__placeholder.sql:1: the placeholder `${name}` has no value",
        "migrations/V3__unterminated.sql:2: the string literal that starts at line 2 is never closed",
        "migrations/V4__control.sql:2: `ROLLBACK` controls transactions",
        "migrations/R__view.sql:2: `BEGIN` controls transactions",
    ];
    for args in [&["validate"][..], &["migrate"]] {
        let run = p.godwit(args);
        run.code(2);
        for text in expected {
            run.stderr_has(text);
        }
        if mixed.is_some() {
            run.stderr_has("migrations/V5__mixed.sql:2:")
                .stderr_has("cannot run inside a transaction");
        }
    }
    let json = p.godwit(&["validate", "--json"]).code(2).json();
    assert_eq!(json["error"]["category"], "usage");
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);

    // Fixed, validate passes, and so does migrate.
    p.migration("V2__placeholder.sql", "CREATE TABLE b (i int);\n")
        .migration("V3__unterminated.sql", "SELECT 1;\nSELECT 'closed';\n")
        .migration("V4__control.sql", "SELECT 1;\n")
        .migration("R__view.sql", "CREATE VIEW v AS SELECT 1 AS x;\n");
    if mixed.is_some() {
        p.migration("V5__mixed.sql", "CREATE TABLE m (i int);\n");
    }
    p.godwit(&["validate"])
        .success()
        .stderr_has("files and history agree");
    p.godwit(&["migrate"]).success();
}

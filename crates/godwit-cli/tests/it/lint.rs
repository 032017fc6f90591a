//! `godwit lint` as a user runs it: exit codes, `--json`, the `-- godwit:lint-allow` directive,
//! rule levels from godwit.toml and the environment, and the lint before `migrate` and
//! `validate` (the `lint` setting), on each database. What it prints is snapshotted in
//! `output.rs`; the rules themselves are checked by the labelled corpus of `godwit-lint`.

use godwit_test_support::{on_every_database, Kind, Project};

/// A project whose first migration is applied, with a pending one that drops a column (an
/// error-level finding) and its undo script.
fn applied_then_drop(kind: Kind) -> Project {
    let p = Project::new(kind);
    p.migration(
        "V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, nickname VARCHAR(50));\n",
    )
    .migration("U1__create_person.sql", "DROP TABLE person;\n");
    p.godwit(&["migrate"]).success();
    p.migration(
        "V2__drop_nickname.sql",
        "ALTER TABLE person DROP COLUMN nickname;\n",
    )
    .migration(
        "U2__drop_nickname.sql",
        "ALTER TABLE person ADD COLUMN nickname VARCHAR(50);\n",
    );
    p
}

/// Without arguments, the pending migrations are linted (the applied V1 is not), with the
/// server's dialect; an error-level finding is exit 1, and `--json` says the same as data.
fn pending_files_are_linted(kind: Kind) {
    let p = applied_then_drop(kind);
    p.godwit(&["lint"])
        .code(1)
        .stderr_has("[drop-column]")
        .stderr_has("V2__drop_nickname.sql:1")
        .stderr_has("docs/lint.md#drop-column")
        .stderr_has("Linted 1 migration file: 1 error");
    let run = p.godwit(&["lint", "--json"]);
    run.code(1);
    let json = run.json();
    assert_eq!(json["files"], 1, "{run}");
    assert_eq!(json["errors"], 1, "{run}");
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"drop-column"), "{run}");
    assert!(
        !json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"].as_str().unwrap().contains("V1__")),
        "the applied migration is not linted\n{run}"
    );
    // Once applied, nothing is pending: nothing to find.
    p.godwit(&["migrate"]).success();
    p.godwit(&["lint"])
        .success()
        .stderr_has("Linted 0 migration files: 0 errors, 0 warnings");
}

/// `lint = "error"` stops `migrate` (also a dry run) and `validate` with exit 1 before anything
/// runs; `warn` (the default) prints the findings and migrates; `off` prints nothing.
fn the_lint_setting_gates_migrate(kind: Kind) {
    let p = applied_then_drop(kind);
    for args in [&["migrate"][..], &["migrate", "--dry-run"], &["validate"]] {
        p.godwit_env(args, &[("GODWIT_LINT", "error")])
            .code(1)
            .stderr_has("error[drop-column]")
            .stderr_has("(lint = \"error\")");
    }
    p.godwit(&["current"]).success().stdout_has("1");
    let run = p.godwit_env(&["migrate", "--json"], &[("GODWIT_LINT", "error")]);
    run.code(1);
    assert_eq!(
        run.json()["error"]["details"]["findings"][0]["rule"],
        "drop-column",
        "{run}"
    );
    // A rule lowered to `warn` no longer stops it.
    p.godwit_env(
        &["migrate", "--dry-run"],
        &[
            ("GODWIT_LINT", "error"),
            ("GODWIT_LINT_RULES", "drop-column=warn"),
        ],
    )
    .success()
    .stderr_has("warning[drop-column]");
    p.godwit_env(&["validate"], &[("GODWIT_LINT", "warn")])
        .success()
        .stderr_has("warning[drop-column]");
    let run = p.godwit_env(&["migrate"], &[("GODWIT_LINT", "warn")]);
    run.success().stderr_has("warning[drop-column]");
    p.godwit(&["current"]).success().stdout_has("2");
    let quiet = p.godwit_env(&["migrate"], &[("GODWIT_LINT", "off")]);
    assert!(!quiet.stderr.contains("warning["), "{quiet}");
}

/// The rules read the server's version when godwit connects: MariaDB 10.11 adds a column
/// instantly, so the hint says `ALGORITHM=INSTANT`; PostgreSQL reports a blocking index build.
fn the_server_decides_what_is_online(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, email VARCHAR(100));\n",
    )
    .migration("U1__create_person.sql", "DROP TABLE person;\n");
    p.godwit(&["migrate"]).success();
    p.migration(
        "V2__index_email.sql",
        "ALTER TABLE person ADD COLUMN phone VARCHAR(20);\nCREATE INDEX person_email ON person (email);\n",
    )
    .migration("U2__index_email.sql", "DROP INDEX person_email;\n");
    let run = p.godwit(&["lint"]);
    match kind {
        Kind::Postgres => {
            run.code(1).stderr_has("error[index-not-concurrent]");
        }
        Kind::MySql => {
            run.success()
                .stderr_has("warning[mysql-online-ddl]")
                .stderr_has("add `, ALGORITHM=INSTANT`");
        }
        Kind::Sqlite => {
            run.success()
                .stderr_has("0 errors, 0 warnings")
                .stderr_has("Linted 1 migration file");
        }
    }
}

on_every_database!(
    pending_files_are_linted,
    the_lint_setting_gates_migrate,
    the_server_decides_what_is_online
);

/// With `--dialect`, no database is needed: files named, or `--all`.
#[test]
fn dialect_lints_without_a_database() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__ok.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n")
        .migration("U1__ok.sql", "DROP TABLE t;\n")
        .migration("V2__rename.sql", "ALTER TABLE t RENAME COLUMN id TO key;\n");
    let unreachable = "postgres://app@127.0.0.1:1/nope";
    p.godwit_env(
        &["lint", "--dialect", "postgres", "migrations/V1__ok.sql"],
        &[("GODWIT_URL", unreachable)],
    )
    .success()
    .stderr_has("Linted 1 migration file: 0 errors, 0 warnings");
    p.godwit_env(
        &["lint", "--dialect", "mysql", "--all"],
        &[("GODWIT_URL", unreachable)],
    )
    .code(1)
    .stderr_has("error[rename-column]")
    .stderr_has("warning[missing-undo]")
    .stderr_has("Linted 3 migration files");
    // Without a URL or a dialect, it says how to give either.
    p.godwit_env(&["lint", "--all"], &[("GODWIT_URL", "")])
        .code(2)
        .stderr_has("no database URL is configured, and no --dialect");
    // Without files or --all it cannot know what is pending.
    p.godwit(&["lint", "--dialect", "sqlite"])
        .code(2)
        .stderr_has("cannot tell which migrations are pending");
    p.godwit(&[
        "lint",
        "--dialect",
        "mysql",
        "--server-version",
        "latest",
        "--all",
    ])
    .code(2)
    .stderr_has("--server-version `latest`");
    p.godwit(&["lint", "--dialect", "sqlite", "notes.txt"])
        .code(2)
        .stderr_has("cannot read notes.txt");
}

/// `-- godwit:lint-allow <rule> <reason>` accepts one file's finding; a directive without a
/// reason, or naming no rule godwit knows, is bad input (exit 2) with the file and line.
#[test]
fn the_allow_directive() {
    let p = Project::new(Kind::Sqlite);
    p.migration(
        "V1__drop.sql",
        "-- godwit:lint-allow drop-table scratch was never read by any release\n-- godwit:lint-allow missing-undo nothing to restore\nDROP TABLE scratch;\n",
    );
    p.godwit(&["lint", "migrations/V1__drop.sql"])
        .success()
        .stderr_has("0 errors, 0 warnings, 2 accepted by -- godwit:lint-allow");
    let run = p.godwit(&["lint", "--json", "migrations/V1__drop.sql"]);
    run.success();
    let json = run.json();
    let drop = json["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "drop-table")
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(drop["reason"], "scratch was never read by any release");
    assert_eq!(drop["line"], 3);
    p.migration(
        "V2__bad.sql",
        "SELECT 1;\n-- godwit:lint-allow drop-table\n",
    );
    p.godwit(&["lint", "migrations/V2__bad.sql"])
        .code(2)
        .stderr_has("gives no reason")
        .stderr_has("migrations/V2__bad.sql:2");
    p.migration(
        "V3__typo.sql",
        "-- godwit:lint-allow drop-tabel it is fine\nSELECT 1;\n",
    );
    p.godwit(&["lint", "migrations/V3__typo.sql"])
        .code(2)
        .stderr_has("`drop-tabel` is not a lint rule")
        .stderr_has("migrations/V3__typo.sql:1");
}

/// `[lint_rules]` in godwit.toml sets a rule's level: `off` hides it, `error` makes it fail; an
/// unknown rule is refused with the file and line.
#[test]
fn rule_levels_from_the_configuration() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n");
    p.godwit(&["lint", "--all"])
        .success()
        .stderr_has("warning[missing-undo]");
    p.file("godwit.toml", "[lint_rules]\nmissing-undo = \"error\"\n");
    p.godwit(&["lint", "--all"])
        .code(1)
        .stderr_has("error[missing-undo]");
    p.file("godwit.toml", "[lint_rules]\nmissing-undo = \"off\"\n");
    p.godwit(&["lint", "--all"])
        .success()
        .stderr_has("0 errors, 0 warnings");
    p.file(
        "godwit.toml",
        "lint = \"error\"\n\n[lint_rules]\nmissing_undo = \"off\"\n",
    );
    p.godwit(&["lint", "--all"])
        .code(2)
        .stderr_has("`missing_undo` is not a lint rule")
        .stderr_has("godwit.toml:4");
}

/// A file over 4 MiB (bulk data) is not read whole by the lint: it says so and lints the rest,
/// as `migrate` streams such a file in bounded memory.
#[test]
fn large_files_are_not_read_whole() {
    let p = Project::new(Kind::Sqlite);
    let row =
        "INSERT INTO t (id, name) VALUES (1, 'a fairly long name to fill the file quickly');\n";
    p.migration("V1__t.sql", "CREATE TABLE t (id INT, name TEXT);\n")
        .migration("U1__t.sql", "DROP TABLE t;\n")
        .migration("D1__bulk.sql", &row.repeat(5 * 1024 * 1024 / row.len() + 1));
    let run = p.godwit(&["lint", "--dialect", "sqlite", "--all", "--json"]);
    run.success()
        .stderr_has("D1__bulk.sql: not linted: over 4 MiB");
    let json = run.json();
    assert_eq!(json["files"], 2, "{run}");
    assert_eq!(json["skipped"][0], "migrations/D1__bulk.sql", "{run}");
}

/// The sequence of docs/rolling-upgrades.md passes `lint = "error"` release by release: expand
/// and migrate data in release 2, the contract step in release 3. Shipped in one release, the
/// contract step is refused (`contract-with-expand`) and nothing runs.
fn rolling_upgrade_passes_the_gate(kind: Kind) {
    let contract = match kind {
        Kind::Postgres => "-- godwit:contract\nALTER TABLE orders ALTER COLUMN currency SET NOT NULL;\n",
        Kind::MySql => "-- godwit:contract\nALTER TABLE orders MODIFY COLUMN currency VARCHAR(3) NOT NULL, ALGORITHM=INPLACE, LOCK=NONE;\n",
        Kind::Sqlite => "-- godwit:contract\n\
            CREATE TABLE orders_new (id INTEGER PRIMARY KEY, amount_cents INT NOT NULL, currency VARCHAR(3) NOT NULL);\n\
            INSERT INTO orders_new (id, amount_cents, currency) SELECT id, amount_cents, currency FROM orders;\n\
            DROP TABLE orders;\n\
            ALTER TABLE orders_new RENAME TO orders;\n",
    };
    let strict = [
        ("GODWIT_LINT", "error"),
        ("GODWIT_STATEMENT_LOCK_TIMEOUT", "5s"),
    ];
    let release = |p: &Project| {
        p.godwit_env(&["migrate"], &strict).success();
    };
    let release_1 = |p: &Project| {
        p.migration(
            "V1__create_orders.sql",
            "CREATE TABLE orders (id INT PRIMARY KEY, amount_cents INT NOT NULL);\n",
        )
        .migration("U1__create_orders.sql", "DROP TABLE orders;\n");
    };
    let release_2 = |p: &Project| {
        p.migration(
            "V2__add_currency.sql",
            "ALTER TABLE orders ADD COLUMN currency VARCHAR(3);\n",
        )
        .migration(
            "U2__add_currency.sql",
            "ALTER TABLE orders DROP COLUMN currency;\n",
        )
        .migration(
            "D2__backfill_currency.sql",
            "UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;\n",
        );
    };
    let release_3 = |p: &Project| {
        p.migration("V3__require_currency.sql", contract)
            .migration("U3__require_currency.sql", "SELECT 1;\n");
    };

    let p = Project::new(kind);
    release_1(&p);
    release(&p);
    release_2(&p);
    release(&p);
    release_3(&p);
    release(&p);
    p.godwit(&["current"]).success().stdout_has("3");

    // The contract step in the same release as its expand step.
    let p = Project::new(kind);
    release_1(&p);
    release(&p);
    release_2(&p);
    release_3(&p);
    p.godwit_env(&["migrate"], &strict)
        .code(1)
        .stderr_has("error[contract-with-expand]")
        .stderr_has("V3__require_currency.sql");
    p.godwit(&["current"]).success().stdout_has("1");
}

on_every_database!(rolling_upgrade_passes_the_gate);

/// A run the lint refuses writes nothing: not even the SQLite file it would have created.
#[test]
fn a_refused_run_leaves_no_database_file() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__drop.sql", "DROP TABLE legacy;\n");
    p.godwit_env(
        &["migrate"],
        &[
            ("GODWIT_LINT", "error"),
            ("GODWIT_URL", "sqlite://fresh.db"),
        ],
    )
    .code(1)
    .stderr_has("error[drop-table]");
    assert!(!p.path().join("fresh.db").exists());
}

/// Before a run, a project without undo scripts gets the first ten findings in full and the
/// rest counted by rule in one line, not four lines for every pending file; `godwit lint`
/// itself still lists them all.
#[test]
fn migrate_prints_ten_findings_and_counts_the_rest() {
    let p = Project::new(Kind::Sqlite);
    for v in 1..=13 {
        p.migration(
            &format!("V{v}__t{v}.sql"),
            &format!("CREATE TABLE t{v} (id INT PRIMARY KEY);\n"),
        );
    }
    let run = p.godwit_env(&["migrate"], &[("GODWIT_LINT", "warn")]);
    run.success().stderr_has(
        "3 more lint findings not shown (missing-undo: 3): `godwit lint` lists them all",
    );
    assert_eq!(
        run.stderr.matches("warning[missing-undo]").count(),
        10,
        "{run}"
    );
    assert!(run.stderr.contains("no U10__"), "{run}");
    assert!(!run.stderr.contains("no U11__"), "{run}");
    let all = p.godwit_env(&["lint", "--all"], &[("GODWIT_LINT", "warn")]);
    all.success();
    assert_eq!(
        all.stderr.matches("warning[missing-undo]").count(),
        13,
        "{all}"
    );
}

/// The lint before a run sees the run's own plan: it runs no callback of its own (it used to
/// read the pending files through `info`, which ran `beforeInfo`, `afterInfo` and a second
/// `afterConnect`).
fn the_lint_runs_no_callbacks_of_its_own(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "afterConnect.sql",
        "INSERT INTO seen VALUES ('afterConnect');\n",
    )
    .migration(
        "beforeInfo.sql",
        "INSERT INTO seen VALUES ('beforeInfo');\n",
    )
    .migration("afterInfo.sql", "INSERT INTO seen VALUES ('afterInfo');\n");
    p.db.exec("CREATE TABLE seen (event VARCHAR(40))");
    p.migration("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n");
    // The `seen` table makes the database non-empty: baseline it below V1.
    p.godwit_env(
        &["migrate"],
        &[
            ("GODWIT_LINT", "warn"),
            ("GODWIT_BASELINE_ON_MIGRATE", "true"),
            ("GODWIT_BASELINE_VERSION", "0"),
        ],
    )
    .success()
    .stderr_has("warning[missing-undo]");
    p.godwit_env(&["validate"], &[("GODWIT_LINT", "warn")])
        .success();
    assert_eq!(
        p.db.query("SELECT event FROM seen"),
        [Some("afterConnect".into()), Some("afterConnect".into())],
        "one afterConnect for each command, nothing else"
    );
}

on_every_database!(the_lint_runs_no_callbacks_of_its_own);

/// `godwit lint` finds the pending files read-only: it runs none of `info`'s callbacks.
#[test]
fn godwit_lint_runs_no_info_callbacks() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT PRIMARY KEY);\n")
        .migration("U1__a.sql", "DROP TABLE a;\n");
    p.godwit(&["migrate"]).success();
    p.migration("beforeInfo.sql", "CREATE TABLE info_ran (id INT);\n")
        .migration("V2__drop.sql", "DROP TABLE a;\n");
    p.godwit_env(&["lint"], &[("GODWIT_LINT", "warn")])
        .code(1)
        .stderr_has("error[drop-table]")
        .stderr_has("Linted 1 migration file");
    assert!(
        !p.db.tables().iter().any(|t| t.contains("info_ran")),
        "beforeInfo did not run"
    );
}

//! Flyway's settings that have godwit counterparts (issue 14, docs/design.md §1.9, §4.6, §5.8,
//! §15.6): file naming, ignore patterns, cherry-picking, placeholder syntax, recording without
//! running, schemas, `init_sql`, the baseline's description and skipping callbacks (`group` has
//! its own module, `group.rs`).

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    naming_settings_name_the_files,
    names_that_do_not_parse_are_errors_unless_naming_is_not_validated,
    ignore_patterns_let_missing_files_pass,
    cherry_pick_applies_only_the_named_migrations,
    placeholder_syntax_is_configurable,
    skip_executing_migrations_records_without_running,
    init_sql_runs_on_the_connection_first,
    baseline_description_names_the_marker,
    skip_default_callbacks_leaves_callbacks_alone,
    script_config_runs_a_file_outside_a_transaction,
    script_config_reads_another_encoding,
    script_config_turns_placeholders_off_and_refuses_unknown_keys,
    callbacks_run_at_every_flyway_event,
    unsupported_flyway_callbacks_are_refused,
);

fn tables(p: &Project) -> Vec<String> {
    p.db.tables()
}

/// Flyway's naming settings: other prefixes, separator and endings, and callbacks with the
/// separator; the default `V` prefix then means nothing.
fn naming_settings_name_the_files(kind: Kind) {
    let p = Project::new(kind);
    p.file(
        "godwit.toml",
        "sql_migration_prefix = \"M\"\nsql_migration_separator = \"--\"\nsql_migration_suffixes = [\".sql\", \".ddl\"]\nrepeatable_sql_migration_prefix = \"RR\"\nundo_sql_migration_prefix = \"UNDO\"\n",
    );
    p.migration("M1--create_a.sql", "CREATE TABLE a (id INT);\n")
        .migration("M2--create_b.DDL", "CREATE TABLE b (id INT);\n")
        .migration("UNDO2--create_b.sql", "DROP TABLE b;\n")
        .migration(
            "RR--views.sql",
            "DROP VIEW IF EXISTS va;\nCREATE VIEW va AS SELECT id FROM a;\n",
        )
        .migration(
            "beforeMigrate--log.sql",
            "CREATE TABLE IF NOT EXISTS cb (id INT);\n",
        )
        // Not a migration under these settings.
        .migration("V3__not_a_migration.sql", "THIS IS NOT SQL;\n");
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.history("godwit_schema_history"),
        [
            "1|create a|SQL|true",
            "2|create b|SQL|true",
            "|views|SQL|true"
        ]
    );
    let scripts =
        p.db.query("SELECT script FROM godwit_schema_history ORDER BY installed_rank");
    assert_eq!(
        scripts.into_iter().flatten().collect::<Vec<_>>(),
        ["M1--create_a.sql", "M2--create_b.DDL", "RR--views.sql"]
    );
    assert!(tables(&p).contains(&"cb".to_string()), "the callback ran");
    p.godwit(&["undo"]).success();
    assert!(!tables(&p).contains(&"b".to_string()));
    p.godwit(&["validate"]).success();

    // `godwit new` names files the same way.
    p.godwit(&["new", "add_c"]).success();
    assert!(p.path().join("migrations/M3--add_c.sql").is_file());
    p.godwit(&["new", "--kind", "repeatable", "more_views"])
        .success();
    assert!(p.path().join("migrations/RR--more_views.sql").is_file());
    p.remove("migrations/M3--add_c.sql");
    p.remove("migrations/RR--more_views.sql");

    // Two kinds on one prefix is refused before connecting.
    p.godwit_env(&["validate"], &[("GODWIT_UNDO_SQL_MIGRATION_PREFIX", "RR")])
        .code(2)
        .stderr_has("are both `RR`");
}

/// `validate_migration_naming`: on (godwit's default) a misspelt name is an error naming the
/// fix; off (Flyway's default) the file is ignored.
fn names_that_do_not_parse_are_errors_unless_naming_is_not_validated(kind: Kind) {
    let p = Project::new(kind);
    p.file("godwit.toml", "sql_migration_prefix = \"M\"\n");
    p.migration("M1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("m2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("M3_c.sql", "CREATE TABLE c (id INT);\n");
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("the prefix `m` must be upper-case: rename it to `M2__b.sql`")
        .stderr_has("no `__` between the version and the description: name it `M<version>__<description>.sql`");
    assert!(!tables(&p).contains(&"a".to_string()));
    p.godwit_env(
        &["migrate"],
        &[("GODWIT_VALIDATE_MIGRATION_NAMING", "false")],
    )
    .success();
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);
}

/// `ignore_migration_patterns = ["*:missing"]` lets an applied migration whose file is gone pass
/// validation, so `migrate` goes on; a pattern godwit cannot read is refused.
fn ignore_patterns_let_missing_files_pass(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "R__r.sql",
            "DROP VIEW IF EXISTS r;\nCREATE VIEW r AS SELECT 1 AS x;\n",
        )
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n");
    p.godwit(&["migrate"]).success();
    p.remove("migrations/V1__a.sql");
    p.remove("migrations/R__r.sql");
    p.migration("V3__c.sql", "CREATE TABLE c (id INT);\n");
    p.godwit(&["validate"])
        .code(1)
        .stderr_has("V1 (V1__a.sql) was applied but its file is not in any location");
    // Only repeatables: V1 is still missing.
    p.godwit_env(
        &["validate"],
        &[("GODWIT_IGNORE_MIGRATION_PATTERNS", "repeatable:missing")],
    )
    .code(1);
    p.godwit_env(
        &["migrate"],
        &[("GODWIT_IGNORE_MIGRATION_PATTERNS", "*:missing")],
    )
    .success();
    assert!(tables(&p).contains(&"c".to_string()));
    p.godwit_env(
        &["validate"],
        &[("GODWIT_IGNORE_MIGRATION_PATTERNS", "*:bogus")],
    )
    .code(2)
    .stderr_has("`bogus` in `*:bogus` is not a state");
}

/// `cherry_pick` applies the versions and repeatables it names, and nothing else.
fn cherry_pick_applies_only_the_named_migrations(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("V3__c.sql", "CREATE TABLE c (id INT);\n")
        .migration(
            "R__the_view.sql",
            "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1 AS x;\n",
        )
        .migration(
            "R__other.sql",
            "DROP VIEW IF EXISTS o;\nCREATE VIEW o AS SELECT 1 AS x;\n",
        );
    p.godwit_env(&["migrate"], &[("GODWIT_CHERRY_PICK", "1,3,the_view")])
        .success();
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|a|SQL|true", "3|c|SQL|true", "|the view|SQL|true"]
    );
    assert!(!tables(&p).contains(&"b".to_string()));
}

/// Other placeholder delimiters, and no replacement at all.
fn placeholder_syntax_is_configurable(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE #[name] (id INT, note VARCHAR(20));\nINSERT INTO #[name] (id, note) VALUES (1, '${kept}');\n",
    );
    let env = [
        ("GODWIT_PLACEHOLDER_PREFIX", "#["),
        ("GODWIT_PLACEHOLDER_SUFFIX", "]"),
        ("GODWIT_PLACEHOLDERS_NAME", "t1"),
    ];
    p.godwit_env(&["migrate"], &env[..2])
        .code(2)
        .stderr_has("the placeholder `#[name]` has no value");
    p.godwit_env(&["migrate"], &env).success();
    assert_eq!(
        p.db.query("SELECT note FROM t1"),
        [Some("${kept}".to_string())]
    );

    let q = Project::new(kind);
    q.migration(
        "V1__a.sql",
        "CREATE TABLE t2 (id INT, note VARCHAR(20));\n-- ${no_value}\nINSERT INTO t2 (id, note) VALUES (1, '${no_value}');\n",
    );
    q.godwit(&["migrate"]).code(2).stderr_has("no_value");
    q.godwit_env(&["migrate"], &[("GODWIT_PLACEHOLDER_REPLACEMENT", "false")])
        .success();
    assert_eq!(
        q.db.query("SELECT note FROM t2"),
        [Some("${no_value}".to_string())]
    );
}

/// `skip_executing_migrations` records pending migrations as applied without running them.
fn skip_executing_migrations_records_without_running(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("R__r.sql", "CREATE TABLE r (id INT);\n");
    p.godwit_env(
        &["migrate"],
        &[("GODWIT_SKIP_EXECUTING_MIGRATIONS", "true")],
    )
    .success();
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|a|SQL|true", "|r|SQL|true"]
    );
    let tables = tables(&p);
    assert!(!tables.contains(&"a".to_string()), "{tables:?}");
    assert!(!tables.contains(&"r".to_string()), "{tables:?}");
    p.godwit(&["validate"]).success();
}

/// `init_sql` runs on the connection before anything else; when it fails, the command fails
/// and says it was `init_sql`.
fn init_sql_runs_on_the_connection_first(kind: Kind) {
    let p = Project::new(kind);
    // A temporary table lives in the session `init_sql` ran in: the migration sees it only
    // on that connection.
    p.migration(
        "V1__a.sql",
        "INSERT INTO init_ran (id) VALUES (1);\nCREATE TABLE seen AS SELECT id FROM init_ran;\n",
    );
    p.godwit_env(
        &["migrate"],
        &[(
            "GODWIT_INIT_SQL",
            "CREATE TEMPORARY TABLE init_ran (id INT)",
        )],
    )
    .success();
    assert_eq!(p.db.query("SELECT id FROM seen"), [Some("1".to_string())]);
    p.godwit_env(&["info"], &[("GODWIT_INIT_SQL", "SELEC 1")])
        .code(1)
        .stderr_has("`init_sql` failed");
}

/// `baseline_description` is what `baseline` records (Flyway writes `<< Flyway Baseline >>`).
fn baseline_description_names_the_marker(kind: Kind) {
    let p = Project::new(kind);
    p.godwit_env(
        &["baseline"],
        &[("GODWIT_BASELINE_DESCRIPTION", "<< Flyway Baseline >>")],
    )
    .success();
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|<< Flyway Baseline >>|BASELINE|true"]
    );
}

/// `skip_default_callbacks` leaves the callback files in the locations alone.
fn skip_default_callbacks_leaves_callbacks_alone(kind: Kind) {
    let p = Project::new(kind);
    p.migration("beforeMigrate.sql", "CREATE TABLE cb (id INT);\n")
        .migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    p.godwit_env(&["migrate"], &[("GODWIT_SKIP_DEFAULT_CALLBACKS", "true")])
        .success();
    let tables = tables(&p);
    assert!(tables.contains(&"a".to_string()), "{tables:?}");
    assert!(!tables.contains(&"cb".to_string()), "{tables:?}");
}

/// `V1__a.sql.conf` with `executeInTransaction=false`: the file runs outside a transaction, so a
/// failure leaves its first statement in place and is recorded as failed, on every database.
fn script_config_runs_a_file_outside_a_transaction(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    .migration(
        "V1__a.sql.conf",
        "# Flyway's script configuration\nexecuteInTransaction=false\n",
    );
    p.godwit(&["migrate"]).code(1);
    assert!(tables(&p).contains(&"a".to_string()), "{:?}", tables(&p));
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|false"]);
}

/// `encoding=ISO-8859-1`: the file is read in that encoding, and its checksum is Flyway's (of
/// the decoded lines); without the setting the file is refused as not UTF-8.
fn script_config_reads_another_encoding(kind: Kind) {
    let p = Project::new(kind);
    let text = "CREATE TABLE t (note VARCHAR(20));\nINSERT INTO t (note) VALUES ('caf\u{e9}');\n";
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    std::fs::write(p.path().join("migrations/V1__latin.sql"), &latin1).unwrap();
    p.godwit(&["migrate"]).code(2).stderr_has("UTF-8");
    p.migration("V1__latin.sql.conf", "encoding = ISO-8859-1\n");
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.query("SELECT note FROM t"),
        [Some("caf\u{e9}".to_string())]
    );
    assert_eq!(
        p.db.query("SELECT checksum FROM godwit_schema_history"),
        [Some(godwit::checksum_str(text).to_string())]
    );
    p.godwit(&["validate"]).success();
}

/// `placeholderReplacement=false` runs one file as written; a key Flyway's `.conf` has but godwit
/// does not (`shouldExecute`) is refused, naming the file and line.
fn script_config_turns_placeholders_off_and_refuses_unknown_keys(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE t (note VARCHAR(20));\nINSERT INTO t (note) VALUES ('${raw}');\n",
    )
    .migration("V1__a.sql.conf", "placeholderReplacement: false\n")
    .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
    .migration(
        "V2__b.sql.conf",
        "executeInTransaction=false\nshouldExecute=true\n",
    );
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("V2__b.sql.conf:2: `shouldExecute` is not supported");
    p.remove("migrations/V2__b.sql.conf");
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.query("SELECT note FROM t"),
        [Some("${raw}".to_string())]
    );
}

/// Appends `name` to `cb_log` (created when needed).
fn log_entry(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS cb_log (n INT, name VARCHAR(50));\nINSERT INTO cb_log (n, name) SELECT COUNT(*) + 1, '{name}' FROM cb_log;\n"
    )
}

fn cb_log(p: &Project) -> Vec<String> {
    p.db.query("SELECT name FROM cb_log ORDER BY n")
        .into_iter()
        .flatten()
        .collect()
}

/// Every Flyway callback event godwit has runs at its moment, in every command (§5.9).
fn callbacks_run_at_every_flyway_event(kind: Kind) {
    let p = Project::new(kind);
    p.file("godwit.toml", "clean_disabled = false\n");
    for event in [
        "afterConnect",
        "beforeBaseline",
        "afterBaseline",
        "beforeMigrate",
        "beforeEachMigrate",
        "afterEachMigrate",
        "afterVersioned",
        "beforeRepeatables",
        "afterMigrate",
        "afterMigrateApplied",
        "afterEachMigrateError",
        "afterMigrateError",
        "beforeInfo",
        "afterInfo",
        "beforeValidate",
        "afterValidate",
        "afterValidateError",
        "beforeUndo",
        "beforeEachUndo",
        "afterEachUndo",
        "afterUndo",
        "beforeRepair",
        "afterRepair",
        "beforeClean",
        "afterClean",
    ] {
        p.migration(&format!("{event}.sql"), &log_entry(event));
    }
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("U2__b.sql", "DROP TABLE b;\n")
        .migration(
            "R__r.sql",
            "DROP VIEW IF EXISTS r;\nCREATE VIEW r AS SELECT 1 AS x;\n",
        );
    let mut expected: Vec<&str> = Vec::new();
    let mut check = |args: &[&str], code: i32, events: &[&'static str]| {
        p.godwit(args).code(code);
        expected.extend(events);
        assert_eq!(cb_log(&p), expected, "after godwit {args:?}");
    };
    check(
        &["baseline", "--baseline-version", "0"],
        0,
        &["afterConnect", "beforeBaseline", "afterBaseline"],
    );
    check(
        &["migrate"],
        0,
        &[
            "afterConnect",
            // `migrate`'s own validation, as Flyway's (§5.9.7).
            "beforeValidate",
            "afterValidate",
            "beforeMigrate",
            "beforeEachMigrate",
            "afterEachMigrate",
            "beforeEachMigrate",
            "afterEachMigrate",
            "afterVersioned",
            "beforeRepeatables",
            "beforeEachMigrate",
            "afterEachMigrate",
            "afterMigrate",
            "afterMigrateApplied",
        ],
    );
    check(&["info"], 0, &["afterConnect", "beforeInfo", "afterInfo"]);
    check(
        &["validate"],
        0,
        &["afterConnect", "beforeValidate", "afterValidate"],
    );
    check(
        &["undo"],
        0,
        &[
            "afterConnect",
            "beforeUndo",
            "beforeEachUndo",
            "afterEachUndo",
            "afterUndo",
        ],
    );
    check(
        &["repair"],
        0,
        &["afterConnect", "beforeRepair", "afterRepair"],
    );
    p.migration("V3__fails.sql", "INSERT INTO no_such_table VALUES (1);\n");
    check(
        &["migrate"],
        1,
        &[
            "afterConnect",
            "beforeValidate",
            "afterValidate",
            "beforeMigrate",
            // V2, undone above, applies again; then V3 fails.
            "beforeEachMigrate",
            "afterEachMigrate",
            "beforeEachMigrate",
            "afterEachMigrateError",
            "afterMigrateError",
        ],
    );
    // A changed applied file: `migrate`'s validation fails, after its error callbacks.
    p.migration("V1__a.sql", "CREATE TABLE a (id INT, changed INT);\n");
    check(
        &["migrate"],
        1,
        &["afterConnect", "beforeValidate", "afterValidateError"],
    );
    // `clean` drops the log with everything else; `afterClean` starts a new one.
    p.godwit(&["clean", "--yes"]).success();
    assert_eq!(cb_log(&p), ["afterClean"]);
}

/// Flyway events godwit has no moment for are refused by name, never ignored.
fn unsupported_flyway_callbacks_are_refused(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("beforeEachMigrateStatement.sql", "SELECT 1;\n")
        .migration("beforeConnect__x.sql", "SELECT 1;\n");
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("Flyway's `beforeEachMigrateStatement` callback is not supported")
        .stderr_has("Flyway's `beforeConnect` callback is not supported: no SQL can run before the connection exists");
    assert!(tables(&p).is_empty());
}

mod schemas {
    use godwit_test_support::{Kind, Project};

    /// `create_schemas = false`: a missing schema is an error, not created.
    fn create_schemas_off_refuses_a_missing_schema(kind: Kind) {
        let p = Project::new(kind);
        let missing = format!("{}_missing", p.db.name());
        p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
        p.godwit_env(
            &["migrate"],
            &[
                ("GODWIT_SCHEMAS", missing.as_str()),
                ("GODWIT_CREATE_SCHEMAS", "false"),
            ],
        )
        .code(2)
        .stderr_has(&format!("the schema `{missing}` does not exist"));
    }

    #[test]
    fn postgres_create_schemas_off() {
        create_schemas_off_refuses_a_missing_schema(Kind::Postgres);
    }

    #[test]
    fn mysql_create_schemas_off() {
        create_schemas_off_refuses_a_missing_schema(Kind::MySql);
    }

    /// `createSchema` callbacks run before godwit creates a missing schema.
    #[test]
    fn postgres_create_schema_callback() {
        let p = Project::new(Kind::Postgres);
        p.migration("createSchema.sql", "CREATE TABLE public.cs_log (id INT);\n")
            .migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
        p.godwit_env(&["migrate"], &[("GODWIT_SCHEMAS", "cs_app")])
            .success();
        assert_eq!(
            p.db.query("SELECT table_schema::text FROM information_schema.tables WHERE table_name IN ('cs_log', 'a') ORDER BY table_name"),
            [Some("cs_app".to_string()), Some("public".to_string())]
        );
        // The schema exists now: no callback on the next run.
        p.godwit_env(&["migrate"], &[("GODWIT_SCHEMAS", "cs_app")])
            .success();
    }

    /// `default_schema` holds the history table and comes first in `schemas`.
    #[test]
    fn postgres_default_schema_holds_the_history() {
        let p = Project::new(Kind::Postgres);
        p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
        p.godwit_env(
            &["migrate"],
            &[
                ("GODWIT_SCHEMAS", "other"),
                ("GODWIT_DEFAULT_SCHEMA", "app"),
            ],
        )
        .success();
        assert_eq!(
            p.db.query(
                "SELECT table_schema::text FROM information_schema.tables WHERE table_name IN ('godwit_schema_history', 'a') ORDER BY table_name"
            ),
            [Some("app".to_string()), Some("app".to_string())]
        );
        assert_eq!(
            p.db.query(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'other'"
            ),
            [Some("1".to_string())]
        );
    }
}

//! A database Flyway has been migrating continues under godwit with the default settings
//! (issue 14, docs/design.md §2.7, §2.8): `flyway_schema_history` is created with Flyway's own
//! DDL for each database and filled as Flyway fills it (the rank-0 `SCHEMA` row, `BASELINE`,
//! `SQL`, `JDBC`, `UNDO_SQL`, `DELETE`, `SQL_BASELINE`, repeatables); `info`, `validate`,
//! `migrate`, `undo` and `repair` then work on that table, say so in one line, and never create
//! a second history table.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    a_flyway_history_with_a_baseline_continues,
    a_flyway_history_with_a_baseline_migration_continues,
    an_explicit_table_is_not_replaced_by_flyways,
);

const NOTICE: &str = "Using Flyway's history table flyway_schema_history";

/// Flyway's `CREATE TABLE` and index for its history table, as its `getRawCreateScript` writes
/// them for PostgreSQL, MySQL/MariaDB and SQLite (with the database's own schema name).
fn flyway_ddl(p: &Project) -> Vec<String> {
    match p.db.kind {
        Kind::Postgres => vec![
            "CREATE TABLE \"public\".\"flyway_schema_history\" (\n    \"installed_rank\" INT NOT NULL,\n    \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INTEGER,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n    \"execution_time\" INTEGER NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n)".into(),
            "ALTER TABLE \"public\".\"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\")".into(),
            "CREATE INDEX \"flyway_schema_history_s_idx\" ON \"public\".\"flyway_schema_history\" (\"success\")".into(),
        ],
        Kind::MySql => {
            let db = p.db.name();
            vec![
                format!("CREATE TABLE `{db}`.`flyway_schema_history` (\n    `installed_rank` INT NOT NULL,\n    `version` VARCHAR(50),\n    `description` VARCHAR(200) NOT NULL,\n    `type` VARCHAR(20) NOT NULL,\n    `script` VARCHAR(1000) NOT NULL,\n    `checksum` INT,\n    `installed_by` VARCHAR(100) NOT NULL,\n    `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    `execution_time` INT NOT NULL,\n    `success` BOOL NOT NULL,\n    CONSTRAINT `flyway_schema_history_pk` PRIMARY KEY (`installed_rank`)\n)"),
                format!("CREATE INDEX `flyway_schema_history_s_idx` ON `{db}`.`flyway_schema_history` (`success`)"),
            ]
        }
        Kind::Sqlite => vec![
            "CREATE TABLE \"main\".\"flyway_schema_history\" (\n    \"installed_rank\" INT NOT NULL PRIMARY KEY,\n    \"version\" VARCHAR(50),\n    \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \"checksum\" INT,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),\n    \"execution_time\" INT NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n)".into(),
            "CREATE INDEX \"main\".\"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\")".into(),
        ],
    }
}

/// One row as Flyway inserts it: `(rank, version, description, type, script, checksum)`, by
/// user `flyway`, successful.
type Row<'a> = (i32, Option<&'a str>, &'a str, &'a str, &'a str, Option<i32>);

/// A database as Flyway leaves it: `objects` created by its migrations, its history table, the
/// rank-0 row recording that Flyway created the schema, and `rows` written as Flyway writes them
/// (booleans as the database spells them, `installed_on` left to its default).
fn flyway_database(p: &Project, objects: &[&str], rows: &[Row<'_>]) {
    for sql in objects {
        p.db.exec(sql);
    }
    for sql in flyway_ddl(p) {
        p.db.exec(&sql);
    }
    let schema = schema_script(p);
    let schema_row: Row<'_> = (
        0,
        None,
        "<< Flyway Schema Creation >>",
        "SCHEMA",
        &schema,
        None,
    );
    let (q, truth) = match p.db.kind {
        Kind::MySql => ('`', "1"),
        Kind::Postgres => ('"', "true"),
        Kind::Sqlite => ('"', "1"),
    };
    for (rank, version, description, kind, script, checksum) in
        std::iter::once(&schema_row).chain(rows)
    {
        let text = |v: &str| format!("'{}'", v.replace('\'', "''"));
        p.db.exec(&format!(
            "INSERT INTO {q}flyway_schema_history{q} ({q}installed_rank{q}, {q}version{q}, {q}description{q}, {q}type{q}, {q}script{q}, {q}checksum{q}, {q}installed_by{q}, {q}execution_time{q}, {q}success{q}) VALUES ({rank}, {}, {}, {}, {}, {}, 'flyway', 7, {truth})",
            version.map_or_else(|| "NULL".to_string(), text),
            text(description),
            text(kind),
            text(script),
            checksum.map_or_else(|| "NULL".to_string(), |c| c.to_string()),
        ));
    }
}

/// The schema-creation marker's script: the schema as Flyway quotes it.
fn schema_script(p: &Project) -> String {
    match p.db.kind {
        Kind::Postgres => "\"public\"".into(),
        Kind::MySql => format!("`{}`", p.db.name()),
        Kind::Sqlite => "\"main\"".into(),
    }
}

fn checksum(text: &str) -> Option<i32> {
    Some(godwit::checksum_str(text))
}

/// The state `info --json` gives the versioned migration with this version (or the repeatable
/// with this description).
fn state_of(info: &serde_json::Value, version: Option<&str>, description: &str) -> String {
    info["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .find(|m| match version {
            Some(v) => m["kind"] == "Versioned" && m["version"] == v,
            None => m["kind"] == "Repeatable" && m["description"] == description,
        })
        .unwrap_or_else(|| panic!("no {version:?} {description} in {info}"))["state"]
        .as_str()
        .expect("state")
        .to_string()
}

const V2: &str = "CREATE TABLE city (id INT);\n";
const V4: &str = "CREATE TABLE street (id INT);\n";
const U4: &str = "DROP TABLE street;\n";
const VIEWS: &str = "DROP VIEW IF EXISTS v_city;\nCREATE VIEW v_city AS SELECT id FROM city;\n";
const V6: &str = "CREATE TABLE zip (id INT);\n";
const U6: &str = "DROP TABLE zip;\n";

/// A database Flyway created the schema of, baselined at 1, migrated (V2, a Java migration V3,
/// V4 undone and applied again, V5 applied and then marked deleted by `flyway repair`, a
/// repeatable): every godwit command continues on Flyway's table.
fn a_flyway_history_with_a_baseline_continues(kind: Kind) {
    let p = Project::new(kind);
    // What those migrations did, before godwit ever saw the database.
    let objects = [
        "CREATE TABLE person (id INT)",
        V2.trim_end(),
        "CREATE TABLE java_seeded (id INT)",
        V4.trim_end(),
        "CREATE VIEW v_city AS SELECT id FROM city",
    ];
    flyway_database(
        &p,
        &objects,
        &[
            (
                1,
                Some("1"),
                "<< Flyway Baseline >>",
                "BASELINE",
                "<< Flyway Baseline >>",
                None,
            ),
            (
                2,
                Some("2"),
                "add city",
                "SQL",
                "V2__add_city.sql",
                checksum(V2),
            ),
            (
                3,
                Some("3"),
                "seed via java",
                "JDBC",
                "db.migration.V3__seed_via_java",
                None,
            ),
            (
                4,
                Some("4"),
                "add street",
                "SQL",
                "V4__add_street.sql",
                checksum(V4),
            ),
            (
                5,
                Some("4"),
                "add street",
                "UNDO_SQL",
                "U4__add_street.sql",
                checksum(U4),
            ),
            (
                6,
                Some("4"),
                "add street",
                "SQL",
                "V4__add_street.sql",
                checksum(V4),
            ),
            (7, Some("5"), "old", "SQL", "V5__old.sql", Some(12345)),
            (8, Some("5"), "old", "DELETE", "V5__old.sql", None),
            (9, None, "views", "SQL", "R__views.sql", checksum(VIEWS)),
        ],
    );
    p.migration("V1__create_person.sql", "CREATE TABLE person (id INT);\n")
        .migration("V2__add_city.sql", V2)
        .migration("V4__add_street.sql", V4)
        .migration("U4__add_street.sql", U4)
        .migration("R__views.sql", VIEWS)
        .migration("V6__add_zip.sql", V6)
        .migration("U6__add_zip.sql", U6);
    let flyway_rows = p.db.history("flyway_schema_history");

    let run = p.godwit(&["info", "--json"]);
    run.success().stderr_has(NOTICE);
    let info = run.json();
    assert_eq!(info["current_version"], "4", "{info}");
    assert_eq!(info["history_table"], "flyway_schema_history");
    assert_eq!(state_of(&info, Some("1"), ""), "Below Baseline");
    assert_eq!(state_of(&info, Some("2"), ""), "Success");
    assert_eq!(
        state_of(&info, Some("3"), ""),
        "Success",
        "a Java migration"
    );
    assert_eq!(state_of(&info, Some("4"), ""), "Success");
    assert_eq!(state_of(&info, Some("5"), ""), "Deleted");
    assert_eq!(state_of(&info, None, "views"), "Success");
    assert_eq!(state_of(&info, Some("6"), ""), "Pending");

    p.godwit(&["validate"]).success().stderr_has(NOTICE);
    p.godwit(&["current"]).success().stdout_has("4");
    // `repair` finds nothing to change: the Java migration is not "missing".
    p.godwit(&["repair"]).success().stderr_has(NOTICE);
    assert_eq!(p.db.history("flyway_schema_history"), flyway_rows);

    // `baseline_on_migrate`, which used to create a second history table and run V2 again.
    p.godwit_env(&["migrate"], &[("GODWIT_BASELINE_ON_MIGRATE", "true")])
        .success()
        .stderr_has(NOTICE);
    let mut expected = flyway_rows.clone();
    expected.push("6|add zip|SQL|true".into());
    assert_eq!(p.db.history("flyway_schema_history"), expected);
    assert!(p.db.tables().contains(&"zip".to_string()));

    p.godwit(&["undo"]).success().stderr_has(NOTICE);
    expected.push("6|add zip|UNDO_SQL|true".into());
    assert_eq!(p.db.history("flyway_schema_history"), expected);
    assert!(!p.db.tables().contains(&"zip".to_string()));
    p.godwit(&["current"]).success().stdout_has("4");

    p.godwit(&["migrate"]).success();
    expected.push("6|add zip|SQL|true".into());
    assert_eq!(p.db.history("flyway_schema_history"), expected);
    p.godwit(&["validate"]).success();

    assert!(
        !p.db.tables().contains(&"godwit_schema_history".to_string()),
        "a second history table: {:?}",
        p.db.tables()
    );
    // The rows godwit added read as Flyway's: ranks go on from Flyway's.
    let ranks =
        p.db.query("SELECT installed_rank FROM flyway_schema_history ORDER BY installed_rank");
    let ranks: Vec<String> = ranks.into_iter().flatten().collect();
    assert_eq!(
        ranks,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]
    );
}

/// A database whose Flyway history starts from a baseline migration (`B3`, recorded as
/// `SQL_BASELINE`): the versions it covers stay below the baseline, the next one applies.
fn a_flyway_history_with_a_baseline_migration_continues(kind: Kind) {
    let p = Project::new(kind);
    const B3: &str = "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);\n";
    let objects = [
        "CREATE TABLE a (id INT)",
        "CREATE TABLE b (id INT)",
        V4.trim_end(),
    ];
    flyway_database(
        &p,
        &objects,
        &[
            (
                1,
                Some("3"),
                "squashed",
                "SQL_BASELINE",
                "B3__squashed.sql",
                checksum(B3),
            ),
            (
                2,
                Some("4"),
                "add street",
                "SQL",
                "V4__add_street.sql",
                checksum(V4),
            ),
        ],
    );
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("B3__squashed.sql", B3)
        .migration("V4__add_street.sql", V4)
        .migration("V6__add_zip.sql", V6);
    let run = p.godwit(&["info", "--json"]);
    run.success().stderr_has(NOTICE);
    let info = run.json();
    assert_eq!(info["current_version"], "4", "{info}");
    assert_eq!(state_of(&info, Some("1"), ""), "Below Baseline");
    assert_eq!(state_of(&info, Some("6"), ""), "Pending");
    p.godwit(&["validate"]).success();
    p.godwit(&["migrate"]).success().stderr_has(NOTICE);
    assert_eq!(
        p.db.history("flyway_schema_history"),
        [
            "|<< Flyway Schema Creation >>|SCHEMA|true",
            "3|squashed|SQL_BASELINE|true",
            "4|add street|SQL|true",
            "6|add zip|SQL|true",
        ]
    );
    p.godwit(&["repair"]).success();
    assert_eq!(p.db.history("flyway_schema_history").len(), 4);
    assert!(!p.db.tables().contains(&"godwit_schema_history".to_string()));
}

/// Set explicitly, even to its default name, the history table is the one used: godwit does not
/// look for Flyway's (and so sees a database it never managed).
fn an_explicit_table_is_not_replaced_by_flyways(kind: Kind) {
    let p = Project::new(kind);
    flyway_database(
        &p,
        &[V2.trim_end()],
        &[(
            1,
            Some("2"),
            "add city",
            "SQL",
            "V2__add_city.sql",
            checksum(V2),
        )],
    );
    p.migration("V2__add_city.sql", V2);
    let run = p.godwit_env(
        &["info", "--json"],
        &[("GODWIT_TABLE", "godwit_schema_history")],
    );
    run.success();
    assert!(!run.stderr.contains(NOTICE), "{}", run.stderr);
    assert_eq!(state_of(&run.json(), Some("2"), ""), "Pending");
    // Without the setting, the same database is Flyway's.
    let run = p.godwit(&["info", "--json"]);
    run.success().stderr_has(NOTICE);
    assert_eq!(state_of(&run.json(), Some("2"), ""), "Success");
}

//! Rolling back without the newer release (issue 16): undo scripts stored in the database, the
//! compatibility floor, and `verify-undo`, on every database (`docs/design.md` §21–§23,
//! `docs/rolling-upgrades.md`).

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project, TestDb};

on_every_database!(
    an_older_release_goes_down_with_the_stored_scripts,
    a_tampered_stored_script_is_refused,
    without_store_undo_nothing_travels,
    a_breaking_migration_stops_an_older_release,
    verify_undo_finds_a_forgotten_index,
);

/// V1–V5, each with its undo script.
fn five_versions(p: &Project) {
    p.migration(
        "V1__person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100));\n",
    )
    .migration("U1__person.sql", "DROP TABLE person;\n")
    .migration(
        "V2__email.sql",
        "ALTER TABLE person ADD COLUMN email VARCHAR(100);\n",
    )
    .migration("U2__email.sql", "ALTER TABLE person DROP COLUMN email;\n")
    .migration(
        "V3__city.sql",
        "CREATE TABLE city (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL DEFAULT 'x');\n",
    )
    .migration("U3__city.sql", "DROP TABLE city;\n")
    .migration(
        "V4__person_city.sql",
        "ALTER TABLE person ADD COLUMN city_id INT;\nCREATE INDEX person_city_idx ON person (city_id);\n",
    )
    .migration(
        "U4__person_city.sql",
        // Quotes, a backslash and non-ASCII text travel through the side table as they are: a
        // changed text would be refused as changed in the database.
        &format!(
            "-- V4's undo: a \\ backslash, 'quotes', \"double\", ünïcode\n{}ALTER TABLE person DROP COLUMN city_id;\n",
            drop_index(p.db.kind, "person_city_idx", "person")
        ),
    )
    .migration(
        "V5__note.sql",
        "-- a comment; with a semicolon\nCREATE TABLE note (id INT, body VARCHAR(200));\nINSERT INTO note VALUES (1, 'it''s; here');\n",
    )
    .migration("U5__note.sql", "DROP TABLE note;\n");
}

/// Leaves only the files of the older release: V1, V2 and their undo scripts.
fn stop_at_v2(p: &Project) {
    for v in [
        "V3__city",
        "U3__city",
        "V4__person_city",
        "U4__person_city",
        "V5__note",
        "U5__note",
    ] {
        p.remove(&format!("migrations/{v}.sql"));
    }
}

fn drop_index(kind: Kind, index: &str, table: &str) -> String {
    match kind {
        Kind::MySql => format!("DROP INDEX {index} ON {table};\n"),
        _ => format!("DROP INDEX {index};\n"),
    }
}

/// The application's schema as the catalog describes it: tables, columns with type, nullability
/// and default, and indexes; godwit's own tables left out.
fn schema(db: &TestDb) -> Vec<String> {
    let sql = match db.kind {
        Kind::Postgres => "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'godwit%' UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename NOT LIKE 'godwit%' ORDER BY 1",
        Kind::MySql => "SELECT CAST(CONCAT('column ', table_name, '.', column_name, ' ', column_type, ' ', is_nullable, ' ', COALESCE(column_default, '')) AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name NOT LIKE 'godwit%' UNION ALL SELECT CAST(CONCAT('index ', table_name, '.', index_name, ' ', column_name) AS CHAR) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name NOT LIKE 'godwit%' ORDER BY 1",
        Kind::Sqlite => "SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || coalesce(p.dflt_value, '') FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'godwit%' UNION ALL SELECT 'index ' || name || ' ' || tbl_name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' AND tbl_name NOT LIKE 'godwit%' ORDER BY 1",
    };
    db.query(sql).into_iter().flatten().collect()
}

fn an_older_release_goes_down_with_the_stored_scripts(kind: Kind) {
    // A fresh database at V1, to compare with.
    let fresh = Project::new(kind);
    five_versions(&fresh);
    fresh.godwit(&["migrate", "--target", "1"]).success();
    let v1 = schema(&fresh.db);
    assert!(!v1.is_empty());

    let p = Project::new(kind);
    five_versions(&p);
    p.godwit(&["migrate"])
        .success()
        .stderr_has("now at version 5");
    assert!(p
        .db
        .tables()
        .contains(&"godwit_schema_history_undo".to_string()));
    // The history keeps Flyway's layout: nothing of the scripts is in it.
    assert_eq!(p.db.history("godwit_schema_history").len(), 5);

    // The older release: its files stop at V2.
    stop_at_v2(&p);
    let info = p.godwit(&["info", "--json"]).success().json();
    let undo: Vec<(&str, &str)> = info["migrations"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["version"].as_str().unwrap(), r["undo"].as_str().unwrap()))
        .collect();
    assert_eq!(
        undo,
        [
            ("1", "both"),
            ("2", "both"),
            ("3", "stored"),
            ("4", "stored"),
            ("5", "stored")
        ]
    );
    // What it would run is shown like any undo, and nothing changes.
    let history = p.db.history("godwit_schema_history");
    p.godwit(&["migrate", "--target", "1", "--dry-run"])
        .success()
        .stdout_has("U5__note.sql, stored in the database")
        .stdout_has("DROP TABLE note;")
        .stdout_has("ALTER TABLE person DROP COLUMN city_id;");
    assert_eq!(p.db.history("godwit_schema_history"), history);

    p.godwit(&["migrate", "--target", "1"])
        .success()
        .stderr_has("Undid V5")
        .stderr_has("Undid V3")
        .stderr_has("Undid V2")
        .stderr_has("now at version 1");
    assert_eq!(schema(&p.db), v1);
    assert_eq!(p.godwit(&["current"]).stdout, "1\n");
    // The older release goes up again with its own files, and stores U2 again.
    p.godwit(&["migrate"])
        .success()
        .stderr_has("now at version 2");
    p.godwit(&["undo"]).success().stderr_has("Undid V2");
    assert_eq!(schema(&p.db), v1);
    p.godwit(&["validate"]).success();
}

fn a_tampered_stored_script_is_refused(kind: Kind) {
    let p = Project::new(kind);
    five_versions(&p);
    p.godwit(&["migrate"]).success();
    stop_at_v2(&p);
    p.db.exec(
        "UPDATE godwit_schema_history_undo SET undo_sql = 'DROP TABLE person' WHERE version = '4'",
    );
    let tables = p.db.tables();
    let history = p.db.history("godwit_schema_history");
    // `migrate` validates first (validate_on_migrate), `undo` checks the scripts on its way.
    p.godwit(&["migrate", "--target", "1"])
        .code(1)
        .stderr_has("U4: the undo script of V4 stored in the database (U4__person_city.sql) was changed after it was stored");
    p.godwit(&["undo", "--target", "3"]).code(1).stderr_has(
        "the undo script stored in the database for V4 was changed after it was stored",
    );
    assert_eq!(p.db.tables(), tables);
    assert_eq!(p.db.history("godwit_schema_history"), history);
    p.godwit(&["validate"])
        .code(1)
        .stderr_has("was changed after it was stored");
    // Above the tampered one, the stored script still runs.
    p.godwit(&["undo"]).success().stderr_has("Undid V5");

    // A `U` file edited since it was stored is no problem: `info` says the two differ, going
    // down runs the file, and repair stores the file's text for older releases.
    p.migration(
        "U2__email.sql",
        "-- fixed\nALTER TABLE person DROP COLUMN email;\n",
    );
    let info = p.godwit(&["info", "--json"]).success().json();
    assert_eq!(info["migrations"][1]["undo"], "differs");
    // Repair also forgets the changed script of V4, whose `U` file this release does not have.
    p.godwit(&["repair"])
        .success()
        .stderr_has("store U2 (U2__email.sql) in the database")
        .stderr_has("forget the undo script of V4 stored in the database");
    p.godwit(&["validate"]).success();
    p.godwit(&["undo", "--target", "3"])
        .code(2)
        .stderr_has("no undo script for V4");
    let stored =
        p.db.query("SELECT undo_sql FROM godwit_schema_history_undo WHERE version = '2'");
    assert_eq!(
        stored,
        [Some(
            "-- fixed\nALTER TABLE person DROP COLUMN email;\n".to_string()
        )]
    );
    let info = p.godwit(&["info", "--json"]).success().json();
    assert_eq!(info["migrations"][1]["undo"], "both");
}

fn without_store_undo_nothing_travels(kind: Kind) {
    let p = Project::new(kind);
    five_versions(&p);
    p.godwit_env(&["migrate"], &[("GODWIT_STORE_UNDO", "false")])
        .success();
    assert!(!p
        .db
        .tables()
        .contains(&"godwit_schema_history_undo".to_string()));
    stop_at_v2(&p);
    p.godwit(&["migrate", "--target", "1"])
        .code(2)
        .stderr_has("no undo script for V5, V4, V3");
}

fn a_breaking_migration_stops_an_older_release(kind: Kind) {
    for breaking in [false, true] {
        let p = Project::new(kind);
        p.migration(
            "V1__person.sql",
            "CREATE TABLE person (id INT, name VARCHAR(100));\n",
        )
        .migration("U1__person.sql", "DROP TABLE person;\n")
        .migration(
            "V2__add_email.sql",
            &format!(
                "{}ALTER TABLE person ADD COLUMN email VARCHAR(100);\n",
                if breaking { "-- godwit:breaking\n" } else { "" }
            ),
        )
        .migration(
            "U2__add_email.sql",
            "ALTER TABLE person DROP COLUMN email;\n",
        );
        p.godwit(&["migrate"]).success();
        let info = p.godwit(&["info", "--json"]).success().json();
        assert_eq!(
            info["floor"],
            if breaking {
                serde_json::json!("2")
            } else {
                serde_json::Value::Null
            }
        );
        assert_eq!(info["migrations"][1]["breaking"], breaking);

        p.remove("migrations/V2__add_email.sql");
        p.remove("migrations/U2__add_email.sql");
        if !breaking {
            // Additive: the older release starts, as before.
            p.godwit(&["migrate"]).success().stderr_has("up to date");
            continue;
        }
        let history = p.db.history("godwit_schema_history");
        p.godwit(&["migrate"])
            .code(1)
            .stderr_has("V2 was applied and is marked breaking for older releases")
            .stderr_has("stop at V1")
            .stderr_has("deploy a release that has V2")
            .stderr_has("--target");
        assert_eq!(p.db.history("godwit_schema_history"), history);
        // The way out with this release: roll back below the floor, then it starts.
        p.godwit(&["migrate", "--target", "1"])
            .success()
            .stderr_has("Undid V2");
        p.godwit(&["migrate"]).success();
        let info = p.godwit(&["info", "--json"]).success().json();
        assert_eq!(info["floor"], serde_json::Value::Null);
    }
}

/// The scratch databases `verify-undo` created from the test's database and left behind.
fn leftover_scratch(db: &TestDb) -> usize {
    let sql = match db.kind {
        Kind::Postgres => "SELECT count(*)::text FROM pg_database WHERE datname LIKE current_database() || '\\_godwit\\_verify\\_%'",
        Kind::MySql => "SELECT CAST(count(*) AS CHAR) FROM information_schema.schemata WHERE schema_name LIKE CONCAT(DATABASE(), '\\_godwit\\_verify\\_%')",
        Kind::Sqlite => return 0,
    };
    db.query(sql)[0].as_deref().unwrap_or("0").parse().unwrap()
}

fn verify_undo_finds_a_forgotten_index(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__person.sql", "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100));\n")
        .migration("U1__person.sql", "DROP TABLE person;\n")
        .migration(
            "V2__email.sql",
            "ALTER TABLE person ADD COLUMN email VARCHAR(100);\nCREATE INDEX person_name_idx ON person (name);\n",
        )
        // Forgets the index.
        .migration("U2__email.sql", "ALTER TABLE person DROP COLUMN email;\n")
        .migration("V3__note.sql", "CREATE TABLE note (id INT);\n")
        .migration("V4__tag.sql", "CREATE TABLE tag (id INT NOT NULL DEFAULT 7);\n")
        .migration("U4__tag.sql", "DROP TABLE tag;\n");
    let run = p.godwit(&["verify-undo", "--json"]);
    run.code(1)
        .stderr_has("V2: migrations/U2__email.sql does not restore the schema")
        .stderr_has("person_name_idx")
        .stderr_has("is left after the undo");
    let report = run.json();
    assert_eq!(report["passed"], false);
    assert_eq!(report["checked"][0]["migration"], "V1");
    assert_eq!(report["checked"][0]["differences"], serde_json::json!([]));
    // Past the broken undo script, the scratch database is rebuilt and the next one checked.
    assert_eq!(report["checked"][2]["migration"], "V4");
    assert_eq!(report["checked"][2]["differences"], serde_json::json!([]));
    assert_eq!(report["stopped_at"], serde_json::Value::Null);
    assert_eq!(leftover_scratch(&p.db), 0);
    // Nothing was done to the configured database.
    assert!(!p.db.tables().contains(&"person".to_string()));
    // A scratch database given with --scratch-url must be empty.
    p.godwit(&["migrate", "--target", "1"]).success();
    let url = p.db.url.clone();
    p.godwit(&["verify-undo", "--scratch-url", &url])
        .code(1)
        .stderr_has("the scratch database is not empty");
    p.godwit(&["migrate", "--target", "none"]).success();

    p.migration(
        "U2__email.sql",
        &format!(
            "{}ALTER TABLE person DROP COLUMN email;\n",
            drop_index(kind, "person_name_idx", "person")
        ),
    );
    let run = p.godwit(&["verify-undo", "--json"]);
    run.success().stderr_has("Verified 3 undo scripts");
    let report = run.json();
    assert_eq!(report["passed"], true);
    assert_eq!(report["without_undo"], serde_json::json!(["V3"]));
    assert_eq!(leftover_scratch(&p.db), 0);
}

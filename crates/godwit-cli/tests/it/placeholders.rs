//! Placeholders: `${name}` from `godwit.toml`, `GODWIT_PLACEHOLDERS_NAME` and `--placeholder`,
//! the built-ins, missing values, and what checksums see; on every database.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    placeholders_come_from_file_env_and_flag_in_that_order,
    built_in_placeholders_have_real_values,
    missing_placeholders_are_all_reported_before_anything_runs,
    versioned_checksum_is_taken_before_replacement,
    repeatable_runs_again_when_its_replaced_text_changes,
);

/// The `v` column of a `(k, v)` table, ordered by `k`.
fn values(p: &Project, table: &str) -> Vec<(String, String)> {
    let keys = p.db.query(&format!("SELECT k FROM {table} ORDER BY k"));
    let values = p.db.query(&format!("SELECT v FROM {table} ORDER BY k"));
    keys.into_iter()
        .zip(values)
        .map(|(k, v)| (k.unwrap_or_default(), v.unwrap_or_default()))
        .collect()
}

fn value(p: &Project, table: &str, key: &str) -> String {
    values(p, table)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key} in {table}"))
}

fn placeholders_come_from_file_env_and_flag_in_that_order(kind: Kind) {
    let p = Project::new(kind);
    p.file(
        "godwit.toml",
        "[placeholders]\nonly_file = \"file\"\nfile_env = \"file\"\neverywhere = \"file\"\n",
    );
    p.migration(
        "V1__values.sql",
        "CREATE TABLE ph (k VARCHAR(20), v VARCHAR(50));\n\
         INSERT INTO ph VALUES ('only_file', '${only_file}');\n\
         INSERT INTO ph VALUES ('file_env', '${FILE_ENV}');\n\
         INSERT INTO ph VALUES ('everywhere', '${Everywhere}');\n\
         INSERT INTO ph VALUES ('only_env', '${only_env}');\n\
         INSERT INTO ph VALUES ('only_flag', '${only_flag}');\n\
         INSERT INTO ph VALUES ('semicolon', '${semicolon}');\n",
    );
    p.godwit_env(
        &[
            "migrate",
            "--placeholder",
            "everywhere=flag",
            "--placeholder",
            "Only_Flag=flag",
            "--placeholder",
            "semicolon=a;b",
        ],
        &[
            ("GODWIT_PLACEHOLDERS_FILE_ENV", "env"),
            ("GODWIT_PLACEHOLDERS_EVERYWHERE", "env"),
            ("GODWIT_PLACEHOLDERS_ONLY_ENV", "env"),
        ],
    )
    .success();
    // Replaced before the text is split: the `;` of a value stays inside its string.
    let expected = [
        ("everywhere", "flag"),
        ("file_env", "env"),
        ("only_env", "env"),
        ("only_file", "file"),
        ("only_flag", "flag"),
        ("semicolon", "a;b"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(values(&p, "ph"), expected);
}

fn built_in_placeholders_have_real_values(kind: Kind) {
    let p = Project::new(kind);
    let record = |key: &str, placeholder: &str| {
        format!("INSERT INTO builtins VALUES ('{key}', '${{{placeholder}}}');\n")
    };
    let mut v1 = "CREATE TABLE builtins (k VARCHAR(30), v VARCHAR(500));\n".to_string();
    for (key, placeholder) in [
        ("schema", "godwit:defaultSchema"),
        ("user", "godwit:user"),
        ("database", "godwit:database"),
        ("timestamp", "godwit:timestamp"),
        ("filename", "godwit:filename"),
        ("table", "godwit:table"),
        ("flyway_filename", "flyway:filename"),
        ("flyway_user", "flyway:user"),
        ("flyway_schema", "FLYWAY:DEFAULTSCHEMA"),
        ("flyway_table", "flyway:table"),
    ] {
        v1.push_str(&record(key, placeholder));
    }
    // In a subfolder: the file name is the name alone, not its path.
    p.migration("sub/V1__builtins.sql", &v1)
        .migration(
            "D1__record.sql",
            &format!(
                "DELETE FROM builtins WHERE k = 'data_filename';\n{}",
                record("data_filename", "godwit:filename")
            ),
        )
        .migration(
            "afterMigrate.sql",
            &format!(
                "DELETE FROM builtins WHERE k = 'callback_filename';\n{}",
                record("callback_filename", "flyway:filename")
            ),
        );
    p.godwit(&["migrate", "--table", "audit_history"]).success();
    let (user, schema, database) = match kind {
        Kind::Postgres => (
            p.db.query("SELECT current_user::text")[0]
                .clone()
                .unwrap_or_default(),
            "public".to_string(),
            p.db.name().to_string(),
        ),
        Kind::MySql => (
            p.db.query("SELECT CAST(SUBSTRING_INDEX(USER(), '@', 1) AS CHAR)")[0]
                .clone()
                .unwrap_or_default(),
            p.db.name().to_string(),
            p.db.name().to_string(),
        ),
        // SQLite has no users; its database is the file.
        Kind::Sqlite => (
            String::new(),
            "main".to_string(),
            p.path()
                .join(format!("{}.db", p.db.name()))
                .display()
                .to_string(),
        ),
    };
    if kind != Kind::Sqlite {
        assert!(!user.is_empty());
    }
    assert_eq!(value(&p, "builtins", "user"), user);
    assert_eq!(value(&p, "builtins", "flyway_user"), user);
    assert_eq!(value(&p, "builtins", "schema"), schema);
    assert_eq!(value(&p, "builtins", "flyway_schema"), schema);
    assert_eq!(value(&p, "builtins", "database"), database);
    assert_eq!(value(&p, "builtins", "table"), "audit_history");
    assert_eq!(value(&p, "builtins", "flyway_table"), "audit_history");
    assert_eq!(value(&p, "builtins", "filename"), "V1__builtins.sql");
    assert_eq!(value(&p, "builtins", "flyway_filename"), "V1__builtins.sql");
    assert_eq!(value(&p, "builtins", "data_filename"), "D1__record.sql");
    assert_eq!(
        value(&p, "builtins", "callback_filename"),
        "afterMigrate.sql"
    );
    // `YYYY-MM-DD HH:MM:SS`, in UTC.
    let timestamp = value(&p, "builtins", "timestamp");
    let shape: String = timestamp
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "{timestamp}");
    assert!(timestamp.as_str() > "2024", "{timestamp}");
}

fn missing_placeholders_are_all_reported_before_anything_runs(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__ok.sql", "CREATE TABLE ok_table (id INT);\n")
        .migration(
            "V2__two.sql",
            "CREATE TABLE t2 (id INT);\nINSERT INTO t2 VALUES (${first});\n-- ${in_comment}\nINSERT INTO t2 VALUES (${second}), (${set_one});\n",
        )
        .migration(
            "R__view.sql",
            "CREATE VIEW v AS\nSELECT '${view_owner}' AS o;\n",
        )
        .migration("D1__data.sql", "UPDATE ok_table SET id = ${data_value};\n")
        .migration("afterMigrate.sql", "UPDATE ok_table SET id = ${cb_value};\n");
    let run = p.godwit(&["migrate", "--placeholder", "set_one=1"]);
    run.code(2)
        .stderr_has("6 problems with migration files; nothing was run")
        .stderr_has("migrations/V2__two.sql:2: the placeholder `${first}` has no value")
        .stderr_has("migrations/V2__two.sql:3: the placeholder `${in_comment}` has no value")
        .stderr_has("migrations/V2__two.sql:4: the placeholder `${second}` has no value")
        .stderr_has("migrations/R__view.sql:2: the placeholder `${view_owner}` has no value")
        .stderr_has("migrations/D1__data.sql:1: the placeholder `${data_value}` has no value")
        .stderr_has("migrations/afterMigrate.sql:1: the placeholder `${cb_value}` has no value")
        .stderr_has("GODWIT_PLACEHOLDERS_FIRST");
    assert!(!run.stderr.contains("set_one"), "{run}");
    // Nothing was written: not even the history table, not the V1 that needed nothing.
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    let json = p
        .godwit(&["migrate", "--json", "--placeholder", "set_one=1"])
        .code(2)
        .json();
    assert_eq!(json["error"]["category"], "usage");
    assert_eq!(json["error"]["details"].as_array().map(Vec::len), Some(6));
    // With every value given, the same files run.
    p.godwit(&[
        "migrate",
        "--placeholder",
        "set_one=1",
        "--placeholder",
        "first=2",
        "--placeholder",
        "in_comment=x",
        "--placeholder",
        "second=3",
        "--placeholder",
        "view_owner=me",
        "--placeholder",
        "data_value=4",
        "--placeholder",
        "cb_value=5",
    ])
    .success();
    assert_eq!(
        p.db.query("SELECT id FROM t2 ORDER BY id"),
        ["1", "2", "3"].map(|v| Some(v.to_string()))
    );
}

fn versioned_checksum_is_taken_before_replacement(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (k VARCHAR(10), v VARCHAR(20));\nINSERT INTO t VALUES ('x', '${val}');\n",
    );
    // The checksum of the raw file, as `info` shows it while the file is pending.
    let info = p.godwit(&["info", "--json"]).success().json();
    let raw = info["migrations"][0]["checksum"].clone();
    assert!(raw.is_i64(), "{info}");
    p.godwit(&["migrate", "--placeholder", "val=one"]).success();
    let applied = p
        .godwit(&["info", "--json", "--placeholder", "val=one"])
        .success()
        .json();
    assert_eq!(applied["migrations"][0]["checksum"], raw);
    // Another value, or none at all, does not make the applied file look changed.
    p.godwit(&["validate", "--placeholder", "val=two"])
        .success();
    p.godwit(&["validate"]).success();
    let info = p
        .godwit(&["info", "--json", "--placeholder", "val=two"])
        .success()
        .json();
    assert_eq!(info["migrations"][0]["state"], "Success");
    p.godwit(&["migrate", "--placeholder", "val=two"])
        .success()
        .stderr_has("up to date at version 1");
    assert_eq!(value(&p, "t", "x"), "one");
}

fn repeatable_runs_again_when_its_replaced_text_changes(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "R__greeting.sql",
        "DROP VIEW IF EXISTS greeting;\nCREATE VIEW greeting AS SELECT '${greeting}' AS g;\n",
    );
    let greeting = |p: &Project| p.db.query("SELECT g FROM greeting")[0].clone();
    p.godwit(&["migrate", "--placeholder", "greeting=hello"])
        .success()
        .stderr_has("Applied R__greeting");
    assert_eq!(greeting(&p).as_deref(), Some("hello"));
    // Same text after replacement: nothing to do.
    let run = p.godwit(&["migrate", "--placeholder", "greeting=hello"]);
    run.success();
    assert!(!run.stderr.contains("Applied"), "{run}");
    let state = |value: &str| {
        let info = p
            .godwit(&[
                "info",
                "--json",
                "--placeholder",
                &format!("greeting={value}"),
            ])
            .success()
            .json();
        info["migrations"][0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(state("hello"), "Success");
    // Same file, another value: the replaced text changed, so it runs again.
    assert_eq!(state("bonjour"), "Outdated");
    p.godwit(&["validate", "--placeholder", "greeting=bonjour"])
        .success();
    p.godwit(&["migrate", "--placeholder", "greeting=bonjour"])
        .success()
        .stderr_has("Applied R__greeting");
    assert_eq!(greeting(&p).as_deref(), Some("bonjour"));
    assert_eq!(state("bonjour"), "Success");
    let checksums =
        p.db.query("SELECT checksum FROM godwit_schema_history ORDER BY installed_rank");
    assert_eq!(checksums.len(), 2);
    assert_ne!(checksums[0], checksums[1]);
}

//! A Flyway project as Flyway users have it (`flyway.conf` or `flyway.toml`, JDBC URLs,
//! `FLYWAY_*` variables, the `sql` directory, placeholders), migrated through `godwit flyway …`
//! and through plain `godwit` with the Flyway files in place; Flyway's exit codes; and every kind
//! of unsupported setting refused with its message and exit code (docs/flyway.md).

use godwit_test_support::on_every_database;
use godwit_test_support::{run, Kind, Project, Run};

on_every_database!(
    flyway_conf_project_runs_through_godwit_flyway,
    flyway_toml_project_runs_through_plain_godwit,
    flyway_variables_alone_run_a_project,
    godwit_flyway_exits_with_flyways_codes,
    flyway_naming_placeholders_and_callbacks_apply,
    a_flyway_file_added_later_keeps_godwits_history,
);

/// The test database's URL in JDBC form, with the user as a separate setting (Flyway's
/// `user`), and whatever password the URL had as a JDBC parameter.
fn jdbc(p: &Project) -> (String, Option<String>) {
    let url = &p.db.url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        return (format!("jdbc:sqlite:{path}"), None);
    }
    let (scheme, rest) = url.split_once("://").expect("a server URL");
    let (userinfo, hostpath) = rest.rsplit_once('@').unwrap_or(("", rest));
    let (user, password) = match userinfo.split_once(':') {
        Some((u, pw)) => (u, Some(pw)),
        None => (userinfo, None),
    };
    let sub = if scheme.starts_with("postgres") {
        "postgresql"
    } else {
        "mysql"
    };
    let mut jdbc = format!("jdbc:{sub}://{hostpath}");
    if let Some(pw) = password.filter(|pw| !pw.is_empty()) {
        jdbc.push(if jdbc.contains('?') { '&' } else { '?' });
        jdbc.push_str(&format!("password={pw}"));
        // A password needs its user in the URL too.
        jdbc.push_str(&format!("&user={user}"));
        return (jdbc, None);
    }
    (jdbc, (!user.is_empty()).then(|| user.to_owned()))
}

/// Runs `godwit <args>` in the project without `GODWIT_URL`: the Flyway files say where.
fn godwit_flyway_env(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = p.command(args);
    cmd.env_remove("GODWIT_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd)
}

/// Flyway's layout: migrations in `sql/`, with placeholders and a repeatable.
fn write_sql(p: &Project) {
    p.file(
        "sql/V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100), owner VARCHAR(50));\n",
    );
    p.file(
        "sql/V2__add_people.sql",
        "INSERT INTO person VALUES (1, 'Ada', '${owner}');\nINSERT INTO person VALUES (2, '${second}', '${owner}');\n",
    );
    p.file(
        "sql/R__person_view.sql",
        "DROP VIEW IF EXISTS person_names;\nCREATE VIEW person_names AS SELECT name FROM person;\n",
    );
}

fn names(p: &Project) -> Vec<String> {
    p.db.query("SELECT name FROM person ORDER BY id")
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn flyway_history(p: &Project) -> Vec<String> {
    p.db.query("SELECT script FROM flyway_schema_history ORDER BY installed_rank")
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn flyway_conf_project_runs_through_godwit_flyway(kind: Kind) {
    let p = Project::new(kind);
    write_sql(&p);
    let (url, user) = jdbc(&p);
    let mut conf = format!(
        "# Flyway's own file, untouched\nflyway.url={url}\nflyway.locations=filesystem:sql\n\
         flyway.placeholders.owner=app_owner\nflyway.connectRetries=2\n"
    );
    if let Some(user) = &user {
        conf.push_str(&format!("flyway.user={user}\n"));
    }
    p.file("flyway.conf", &conf);

    // The deploy script's command line, with `flyway` changed to `godwit flyway`.
    godwit_flyway_env(
        &p,
        &[
            "flyway",
            "-placeholders.second=Grace",
            "-outOfOrder=false",
            "migrate",
        ],
        &[],
    )
    .success()
    .stderr_has("history table flyway_schema_history")
    .stderr_has("Successfully applied 3 migrations");
    assert_eq!(names(&p), ["Ada", "Grace"]);
    assert_eq!(
        flyway_history(&p),
        [
            "V1__create_person.sql",
            "V2__add_people.sql",
            "R__person_view.sql"
        ]
    );
    assert!(
        !p.db.tables().iter().any(|t| t == "godwit_schema_history"),
        "a second history table"
    );

    // info and validate, Flyway's way, and as JSON.
    godwit_flyway_env(&p, &["flyway", "info", "validate"], &[])
        .success()
        .stdout_has("add people");
    let json = godwit_flyway_env(&p, &["flyway", "-outputType=json", "info"], &[])
        .success()
        .json();
    assert!(json.to_string().contains("add people"), "{json}");

    // Plain godwit reads the same files: the same table, nothing pending.
    godwit_flyway_env(&p, &["migrate"], &[])
        .success()
        .stderr_has("history table flyway_schema_history");
    let after = flyway_history(&p);
    assert_eq!(after.len(), 3, "{after:?}");
}

fn flyway_toml_project_runs_through_plain_godwit(kind: Kind) {
    let p = Project::new(kind);
    write_sql(&p);
    let (url, user) = jdbc(&p);
    let user_line = user
        .map(|_| "user = \"${env.DB_USER}\"\n".to_owned())
        .unwrap_or_default();
    p.file(
        "flyway.toml",
        &format!(
            "[environments.default]\nurl = \"jdbc:sqlite:never.db\"\n\n\
             [environments.ci]\nurl = \"${{env.DB_URL}}\"\n{user_line}\n\
             [environments.ci.flyway]\nlocations = [\"filesystem:sql\"]\n\n\
             [flyway]\nenvironment = \"ci\"\nlocations = [\"filesystem:nowhere\"]\n\n\
             [flyway.placeholders]\nowner = \"toml_owner\"\n"
        ),
    );
    let (_, user) = jdbc(&p);
    let user = user.unwrap_or_default();
    let env = [
        ("DB_URL", url.as_str()),
        ("DB_USER", user.as_str()),
        ("FLYWAY_PLACEHOLDERS_SECOND", "Grace"),
    ];
    godwit_flyway_env(&p, &["migrate"], &env)
        .success()
        .stderr_has("history table flyway_schema_history");
    assert_eq!(names(&p), ["Ada", "Grace"]);
    let owners = p.db.query("SELECT owner FROM person ORDER BY id");
    assert_eq!(
        owners,
        [Some("toml_owner".into()), Some("toml_owner".into())]
    );
    godwit_flyway_env(&p, &["validate"], &env).success();
    // godwit's own file wins over Flyway's: here, the placeholder.
    p.file("godwit.toml", "[placeholders]\nowner = \"godwit_owner\"\n");
    p.file(
        "sql/V3__more.sql",
        "INSERT INTO person VALUES (3, 'Linus', '${owner}');\n",
    );
    godwit_flyway_env(&p, &["migrate"], &env).success();
    let owners = p.db.query("SELECT owner FROM person WHERE id = 3");
    assert_eq!(owners, [Some("godwit_owner".into())]);
}

fn flyway_variables_alone_run_a_project(kind: Kind) {
    let p = Project::new(kind);
    write_sql(&p);
    let (url, user) = jdbc(&p);
    let user = user.unwrap_or_default();
    let mut env = vec![
        ("FLYWAY_URL", url.as_str()),
        ("FLYWAY_PLACEHOLDERS_OWNER", "env_owner"),
        ("FLYWAY_PLACEHOLDERS_SECOND", "Grace"),
        ("FLYWAY_TABLE", "deploy_history"),
        ("FLYWAY_HOME", "/opt/flyway"),
    ];
    if !user.is_empty() {
        env.push(("FLYWAY_USER", user.as_str()));
    }
    godwit_flyway_env(&p, &["flyway", "migrate"], &env).success();
    assert_eq!(names(&p), ["Ada", "Grace"]);
    let rows =
        p.db.query("SELECT script FROM deploy_history ORDER BY installed_rank");
    assert_eq!(rows.len(), 3, "{rows:?}");
}

fn godwit_flyway_exits_with_flyways_codes(kind: Kind) {
    let p = Project::new(kind);
    let (url, user) = jdbc(&p);
    let mut args = vec![
        "flyway".to_owned(),
        format!("-url={url}"),
        "-locations=filesystem:sql".to_owned(),
    ];
    if let Some(user) = user {
        args.push(format!("-user={user}"));
    }
    let call = |extra: &[&str]| {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend_from_slice(extra);
        godwit_flyway_env(&p, &all, &[])
    };
    p.file("sql/V1__ok.sql", "CREATE TABLE ok_table (id INT);\n");
    p.file("sql/V2__broken.sql", "CREATE TABLE broken (id INT;\n");
    // A failed migration: 1 (godwit migrate says 1 too).
    call(&["migrate"]).code(1);
    // Bad configuration: 1 under godwit flyway, 2 for godwit's commands.
    call(&["-tablespace=fast", "migrate"])
        .code(1)
        .stderr_has("-tablespace is a Flyway setting godwit does not support");
    godwit_flyway_env(
        &p,
        &["info"],
        &[("FLYWAY_URL", &url), ("FLYWAY_TABLESPACE", "fast")],
    )
    .code(2)
    .stderr_has(
        "environment variable FLYWAY_TABLESPACE is a Flyway setting godwit does not support",
    );
    // An unknown command, no command, no URL.
    call(&["migrat"])
        .code(1)
        .stderr_has("unknown Flyway command `migrat`");
    call(&[]).code(1).stderr_has("no Flyway command");
    godwit_flyway_env(&p, &["flyway", "info"], &[])
        .code(1)
        .stderr_has("no database URL is configured")
        .stderr_has("FLYWAY_URL");
    // clean is disabled by default, as in Flyway: 1.
    call(&["clean"]).code(1).stderr_has("clean is disabled");
    // Fixed, the commands run in order and the run succeeds: 0.
    p.file("sql/V2__broken.sql", "CREATE TABLE broken (id INT);\n");
    call(&["repair", "migrate", "validate"]).success();
    assert_eq!(flyway_history(&p), ["V1__ok.sql", "V2__broken.sql"]);
}

/// Custom prefixes, placeholder delimiters, SQL callbacks (also in the `event__description`
/// form) and `.sql.conf` files, set the Flyway way.
fn flyway_naming_placeholders_and_callbacks_apply(kind: Kind) {
    let p = Project::new(kind);
    let (url, user) = jdbc(&p);
    let mut conf = format!(
        "flyway.url={url}\nflyway.sqlMigrationPrefix=M\nflyway.repeatableSqlMigrationPrefix=RR\n\
         flyway.placeholderPrefix=#[\nflyway.placeholderSuffix=]\nflyway.placeholders.owner=hash_owner\n"
    );
    if let Some(user) = &user {
        conf.push_str(&format!("flyway.user={user}\n"));
    }
    p.file("flyway.conf", &conf);
    p.file(
        "sql/M1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100), owner VARCHAR(50));\n",
    );
    p.file(
        "sql/M2__add_people.sql",
        "INSERT INTO person VALUES (1, 'Ada', '#[owner]');\n",
    );
    p.file(
        "sql/RR__person_view.sql",
        "DROP VIEW IF EXISTS person_names;\nCREATE VIEW person_names AS SELECT name FROM person;\n",
    );
    p.file(
        "sql/beforeMigrate.sql",
        "CREATE TABLE IF NOT EXISTS cb_log (event VARCHAR(40));\nINSERT INTO cb_log VALUES ('beforeMigrate');\n",
    );
    p.file(
        "sql/afterMigrate.sql",
        "INSERT INTO cb_log VALUES ('afterMigrate');\n",
    );
    p.file(
        "sql/beforeEachMigrate__count.sql",
        "INSERT INTO cb_log VALUES ('beforeEachMigrate');\n",
    );
    // Per-script configuration, as Flyway reads it: one file outside a transaction, one in
    // another encoding (its comment is Latin-1).
    p.file(
        "sql/M2__add_people.sql.conf",
        "executeInTransaction=false\n",
    );
    p.file("sql/M1__create_person.sql.conf", "encoding=ISO-8859-1\n");
    let mut latin1 = b"-- caf\xe9\n".to_vec();
    latin1.extend_from_slice(
        b"CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100), owner VARCHAR(50));\n",
    );
    std::fs::write(p.path().join("sql/M1__create_person.sql"), latin1).unwrap();
    godwit_flyway_env(&p, &["flyway", "migrate"], &[]).success();
    assert_eq!(
        p.db.query("SELECT owner FROM person"),
        [Some("hash_owner".into())]
    );
    assert_eq!(
        flyway_history(&p),
        [
            "M1__create_person.sql",
            "M2__add_people.sql",
            "RR__person_view.sql"
        ]
    );
    let events: Vec<String> =
        p.db.query("SELECT event FROM cb_log")
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect();
    assert_eq!(
        events,
        [
            "beforeMigrate",
            "beforeEachMigrate",
            "beforeEachMigrate",
            "beforeEachMigrate",
            "afterMigrate"
        ]
    );
    // The same files validate through plain godwit: the checksums were taken as Flyway takes
    // them.
    godwit_flyway_env(&p, &["validate"], &[]).success();
}

/// An unreachable database is 1 under `godwit flyway` (3 for godwit's own commands).
#[test]
fn unreachable_database_is_exit_one() {
    let p = Project::new(Kind::Postgres);
    p.file("sql/V1__a.sql", "SELECT 1;\n");
    let env = [
        ("FLYWAY_URL", "jdbc:postgresql://127.0.0.1:1/nothing?user=x"),
        ("FLYWAY_CONNECT_RETRIES", "0"),
    ];
    godwit_flyway_env(&p, &["flyway", "info"], &env).code(1);
    godwit_flyway_env(&p, &["info"], &env).code(3);
}

/// Every kind of setting godwit cannot honour is refused by name, from each source, with what to
/// do instead: exit 2 for godwit's commands, 1 for `godwit flyway`; the password never shows.
#[test]
fn unsupported_settings_are_refused_with_their_message() {
    let p = Project::new(Kind::Sqlite);
    let url = format!(
        "jdbc:sqlite:{}",
        p.db.url.strip_prefix("sqlite://").unwrap()
    );
    for (conf, says) in [
        ("flyway.tablespace=fast", "flyway.conf:2"),
        (
            "flyway.tablespace=fast",
            "`flyway.tablespace` is a Flyway setting godwit does not support",
        ),
        (
            "flyway.callbacks=com.example.Audit",
            "`flyway.callbacks` is a Flyway setting godwit does not support",
        ),
        ("flyway.jarDirs=jars", "Java classes have no counterpart"),
        (
            "flyway.encoding=ISO-8859-1",
            "`flyway.encoding` is set to \"ISO-8859-1\", which godwit does not support",
        ),
        ("flyway.executeInTransaction=false", ".sql.conf"),
        (
            "flyway.cleanOnValidationError=true",
            "godwit never cleans by itself",
        ),
        (
            "flyway.jdbcProperties.ssl=true",
            "give the parameter in the URL",
        ),
        (
            "flyway.workingDirectory=/srv",
            "run godwit from that directory",
        ),
        ("flyway.licenseKey=FL01", "needs no licence key"),
        ("flyway.dryRunOutput=out.sql", "--dry-run"),
        (
            "flyway.bogusSetting=1",
            "`flyway.bogusSetting` is not a Flyway setting godwit knows",
        ),
        ("flyway.lockRetryCount=-5", "must be -1 or more"),
        ("url=jdbc:sqlite:x.db", "write it as flyway.url"),
    ] {
        p.file("flyway.conf", &format!("flyway.url={url}\n{conf}\n"));
        godwit_flyway_env(&p, &["info"], &[])
            .code(2)
            .stderr_has(says);
        godwit_flyway_env(&p, &["flyway", "info"], &[])
            .code(1)
            .stderr_has(says);
    }
    p.remove("flyway.conf");
    // JDBC parameters without a counterpart, by name, never with the password.
    let run = godwit_flyway_env(
        &p,
        &[
            "flyway",
            "-url=jdbc:postgresql://127.0.0.1/x?user=u&password=Sup3rSecret&prepareThreshold=0",
            "info",
        ],
        &[],
    );
    run.code(1)
        .stderr_has("the JDBC parameter `prepareThreshold`");
    assert!(!run.stderr.contains("Sup3rSecret"), "{}", run.stderr);
    let run = godwit_flyway_env(
        &p,
        &["info"],
        &[
            ("FLYWAY_URL", "jdbc:mysql://127.0.0.1/x?serverTimezone=UTC"),
            ("FLYWAY_PASSWORD", "Sup3rSecret"),
        ],
    );
    run.code(2).stderr_has("`serverTimezone`");
    assert!(!run.stderr.contains("Sup3rSecret"), "{}", run.stderr);
    // outputType outside `godwit flyway`.
    godwit_flyway_env(
        &p,
        &["info"],
        &[("FLYWAY_URL", &url), ("FLYWAY_OUTPUT_TYPE", "json")],
    )
    .code(2)
    .stderr_has("pass --json");
    // Flyway's paid commands.
    godwit_flyway_env(&p, &["flyway", "check"], &[("FLYWAY_URL", &url)])
        .code(1)
        .stderr_has("`check` is a Flyway command godwit does not have");
}

/// A project godwit has been migrating, to which a `flyway.conf` is added later (with
/// `baselineOnMigrate`, the dangerous case): Flyway's default table does not exist, godwit's
/// does, so godwit carries on in its own table and says so; it neither refuses the database nor
/// baselines a second history table (docs/design.md §2.8.5).
fn a_flyway_file_added_later_keeps_godwits_history(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__create_person.sql",
        "CREATE TABLE person (id INT PRIMARY KEY, name VARCHAR(100));\n",
    )
    .migration("V2__add_ada.sql", "INSERT INTO person VALUES (1, 'Ada');\n");
    p.godwit(&["migrate"]).success();
    p.file(
        "flyway.conf",
        "flyway.locations=filesystem:migrations\nflyway.baselineOnMigrate=true\n",
    );
    p.godwit(&["info"]).success().stderr_has(
        "Using godwit's history table godwit_schema_history: flyway_schema_history does not exist (set `table` to choose)",
    );
    p.migration(
        "V3__add_grace.sql",
        "INSERT INTO person VALUES (2, 'Grace');\n",
    );
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Using godwit's history table godwit_schema_history");
    assert_eq!(names(&p), ["Ada", "Grace"]);
    let tables = p.db.tables();
    assert!(
        !tables.iter().any(|t| t.contains("flyway_schema_history")),
        "no second history table: {tables:?}"
    );
    assert_eq!(p.db.history("godwit_schema_history").len(), 3);
    // Set explicitly, Flyway's table is the one used: the database is not godwit's to baseline
    // silently, but the user asked for it.
    p.file(
        "flyway.conf",
        "flyway.locations=filesystem:migrations\nflyway.table=flyway_schema_history\n",
    );
    let run = p.godwit(&["info"]);
    assert!(
        !run.stderr.contains("Using godwit's history table"),
        "{run}"
    );
}

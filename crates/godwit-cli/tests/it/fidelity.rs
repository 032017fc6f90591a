//! Each file runs as the database's own client would run it (issue 12): the server's own
//! session settings, a session a migration changed given back before godwit writes, values
//! godwit writes stored exactly under any server setting, syntax errors pinned to their line, and
//! definitions stored as the client stores them.

use sqlx::Connection as _;

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, PrivateMaria, Project, TestDb};

/// An `installed_by` that breaks out of a literal that does not escape backslashes and quotes
/// as the server reads them (`standard_conforming_strings = off`, `NO_BACKSLASH_ESCAPES`).
const INSTALLED_BY: &str = r"ops\'; DROP TABLE x; -- \n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Text columns of every row, joined with `|` (NULL as `NULL`), through sqlx.
fn mysql_rows(url: &str, sql: &str) -> Vec<String> {
    use sqlx::Row as _;
    runtime().block_on(async {
        let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
        let rows = sqlx::query(sql).fetch_all(&mut c).await.expect(sql);
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<Option<String>, _>(i)
                            .expect("a text column")
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    })
}

/// The history as `version|description|script|installed_by|success`, in rank order.
fn history_values(db: &TestDb) -> Vec<String> {
    let sql = match db.kind {
        Kind::MySql => "SELECT CONCAT_WS('|', COALESCE(version, ''), description, script, installed_by, success) FROM godwit_schema_history ORDER BY installed_rank",
        _ => "SELECT COALESCE(version, '') || '|' || description || '|' || script || '|' || installed_by || '|' || CAST(success AS INTEGER) FROM godwit_schema_history ORDER BY installed_rank",
    };
    db.query(sql).into_iter().flatten().collect()
}

// --- 3. Literals --------------------------------------------------------------------------

/// `installed_by`, descriptions and script names with quotes and backslashes are stored as
/// they are, and `validate` and `repair` agree with them afterwards. On PostgreSQL the
/// database reads strings with `standard_conforming_strings = off`, where a literal that does
/// not escape backslashes executed the `DROP TABLE` hidden in `installed_by`.
fn values_godwit_writes_are_stored_exactly(kind: Kind) {
    let p = Project::new(kind);
    if kind == Kind::Postgres {
        p.db.exec(&format!(
            "ALTER DATABASE {} SET standard_conforming_strings = off",
            p.db.name()
        ));
        assert_eq!(
            p.db.query("SHOW standard_conforming_strings"),
            [Some("off".to_string())]
        );
    }
    p.migration("V1__first.sql", "CREATE TABLE x (id INT);\n");
    p.migration(r"V2__a\b.sql", "CREATE TABLE second_table (id INT);\n");
    let env = [("GODWIT_INSTALLED_BY", INSTALLED_BY)];
    p.godwit_env(&["migrate"], &env).success();
    assert!(
        p.db.tables().contains(&"x".to_string()),
        "{:?}",
        p.db.tables()
    );
    let success = "1";
    let expected = [
        format!("1|first|V1__first.sql|{INSTALLED_BY}|{success}"),
        format!(r"2|a\b|V2__a\b.sql|{INSTALLED_BY}|{success}"),
    ];
    let history = history_values(&p.db);
    // `x`, created by V1, survived the history writes that followed it.
    assert_eq!(history, expected, "history as stored");
    p.godwit(&["validate"]).success();
    // An edited file: validate refuses, repair realigns the row (writing the description
    // again), and both agree afterwards.
    p.migration(
        r"V2__a\b.sql",
        "-- edited\nCREATE TABLE second_table (id INT);\n",
    );
    p.godwit(&["validate"]).code(1);
    p.godwit_env(&["repair"], &env).success();
    p.godwit(&["validate"]).success();
    assert_eq!(history_values(&p.db), expected, "history after repair");
    assert!(p.db.tables().contains(&"x".to_string()));
    // What info reads back is what was written.
    let info = p.godwit(&["info", "--json"]);
    let json = info.success().json();
    let rows = json["migrations"].as_array().expect("migrations").clone();
    let v2 = rows
        .iter()
        .find(|r| r["version"] == "2")
        .unwrap_or_else(|| panic!("no V2 in {json}"));
    assert_eq!(v2["description"], r"a\b");
    assert_eq!(v2["installed_by"], INSTALLED_BY);
}

/// The dry run prints the SQL that runs: `psql` given it, on a database that reads strings with
/// `standard_conforming_strings = off`, records the same values.
#[test]
fn postgres_dry_run_replayed_by_psql_stores_the_same_values() {
    let p = Project::new(Kind::Postgres);
    p.db.exec(&format!(
        "ALTER DATABASE {} SET standard_conforming_strings = off",
        p.db.name()
    ));
    p.migration("V1__first.sql", "CREATE TABLE x (id INT);\n");
    p.migration(r"V2__a\b.sql", "CREATE TABLE y (id INT);\n");
    let env = [("GODWIT_INSTALLED_BY", INSTALLED_BY)];
    let dry = p.godwit_env(&["migrate", "--dry-run"], &env);
    dry.success();
    p.db.run_client(&dry.stdout)
        .unwrap_or_else(|e| panic!("psql refused the dry run: {e}\n{}", dry.stdout));
    let expected = [
        format!("1|first|V1__first.sql|{INSTALLED_BY}|1"),
        format!(r"2|a\b|V2__a\b.sql|{INSTALLED_BY}|1"),
    ];
    assert_eq!(history_values(&p.db), expected);
    assert!(p.db.tables().contains(&"x".to_string()));
    p.godwit(&["validate"]).success();
}

// --- 4. Syntax errors ---------------------------------------------------------------------

/// A syntax error on line 21 of a file is reported at line 21, although PostgreSQL parses the
/// whole batch before it runs any of it.
fn syntax_error_is_pinned_to_its_line(kind: Kind) {
    let p = Project::new(kind);
    let mut text = String::from("CREATE TABLE t (id INT);\n");
    for n in 2..=20 {
        text.push_str(&format!("INSERT INTO t VALUES ({n});\n"));
    }
    text.push_str("SELEC 21 FROM t;\n");
    for n in 22..=30 {
        text.push_str(&format!("INSERT INTO t VALUES ({n});\n"));
    }
    assert_eq!(text.lines().nth(20), Some("SELEC 21 FROM t;"));
    p.migration("V1__broken.sql", &text);
    let run = p.godwit(&["migrate", "--json"]);
    run.code(1)
        .stderr_has("migrations/V1__broken.sql:21")
        .stderr_has("SELEC 21 FROM t");
    assert_eq!(run.json()["error"]["details"]["line"], 21, "{run}");
}

// --- 5. Stored definitions ----------------------------------------------------------------

/// The same file applied by godwit and by the database's own client leaves the same stored
/// definitions (SQLite's `sqlite_master.sql`, PostgreSQL's function sources and view
/// definitions, MariaDB's routine and trigger bodies and their `sql_mode`).
fn definitions_are_stored_as_the_client_stores_them(kind: Kind) {
    let (text, query): (&str, &str) = match kind {
        Kind::Sqlite => (
            "CREATE TABLE t (a INT, b TEXT);\nCREATE INDEX t_a ON t (a);\nCREATE UNIQUE INDEX t_b\n  ON t (b);\nCREATE VIEW v AS SELECT a FROM t;\nCREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n  UPDATE t SET b = 'x' WHERE a = NEW.a;\nEND;\nCREATE INDEX t_ab ON t (a, b) -- both\n;\nCREATE TABLE u (x INT) /* trailing */;\n",
            "SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE name NOT LIKE 'godwit%' ORDER BY name",
        ),
        Kind::Postgres => (
            "CREATE TABLE t (a INT, b TEXT);\nCREATE INDEX t_a ON t (a);\nCREATE VIEW v AS SELECT a FROM t;\nCREATE FUNCTION one() RETURNS int LANGUAGE sql\nRETURN 1;\nCREATE FUNCTION two() RETURNS int LANGUAGE sql AS 'SELECT 2';\nCREATE FUNCTION three() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 3;\nEND\n$$;\nCOMMENT ON TABLE t IS 'a table';\n",
            "SELECT p.proname || ': ' || p.prosrc || ' / ' || pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' \
             UNION ALL SELECT 'view v: ' || pg_catalog.pg_get_viewdef('v'::regclass) \
             UNION ALL SELECT 'index: ' || indexdef FROM pg_catalog.pg_indexes WHERE tablename = 't' \
             UNION ALL SELECT 'comment: ' || obj_description('t'::regclass) ORDER BY 1",
        ),
        Kind::MySql => (
            "CREATE TABLE t (a INT, b VARCHAR(20));\nCREATE VIEW v AS SELECT a FROM t;\nCREATE FUNCTION one() RETURNS INT DETERMINISTIC\nRETURN 1;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW\nSET NEW.b = 'x';\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND//\nDELIMITER ;\n",
            "SELECT CONCAT(routine_name, ': ', routine_definition, ' / ', sql_mode) FROM information_schema.routines WHERE routine_schema = DATABASE() \
             UNION ALL SELECT CONCAT(trigger_name, ': ', action_statement, ' / ', sql_mode) FROM information_schema.triggers WHERE trigger_schema = DATABASE() \
             UNION ALL SELECT CONCAT(table_name, ': ', REPLACE(view_definition, DATABASE(), 'db')) FROM information_schema.views WHERE table_schema = DATABASE() ORDER BY 1",
        ),
    };
    let p = Project::new(kind);
    p.migration("V1__objects.sql", text);
    p.godwit(&["migrate"]).success();
    let client = TestDb::create(kind, p.path());
    client
        .run_client(text)
        .unwrap_or_else(|e| panic!("the client refused the file: {e}"));
    let by_godwit = p.db.query(query);
    let by_client = client.query(query);
    assert!(!by_client.is_empty());
    assert_eq!(by_godwit, by_client);
}

on_every_database!(
    values_godwit_writes_are_stored_exactly,
    syntax_error_is_pinned_to_its_line,
    definitions_are_stored_as_the_client_stores_them,
);

// --- 1. MySQL and MariaDB session settings ---------------------------------------------------

/// The user's SQL runs under the server's own `sql_mode` and `time_zone`: `a || b` is what the
/// `mariadb` client makes of it (`OR` by default, not concatenation), and routines and triggers
/// keep the server's `sql_mode`.
#[test]
fn mysql_migrations_run_under_the_servers_own_session() {
    let text = "CREATE TABLE t (a VARCHAR(10), b VARCHAR(10), c VARCHAR(20), tz VARCHAR(64), mode VARCHAR(500));\n\
                INSERT INTO t (a, b) VALUES ('1', '0');\n\
                UPDATE t SET c = (a || b), tz = @@session.time_zone, mode = @@session.sql_mode;\n\
                CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1;\n\
                CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.c = NEW.a || NEW.b;\n\
                CREATE VIEW v AS SELECT a || b AS x FROM t;\n";
    let p = Project::new(Kind::MySql);
    p.migration("V1__session.sql", text);
    p.godwit(&["migrate"]).success();
    let client = TestDb::create(Kind::MySql, p.path());
    client.run_client(text).expect("the client runs the file");
    let query = "SELECT CONCAT_WS('|', c, tz, mode) FROM t \
                 UNION ALL SELECT CONCAT(routine_name, ': ', sql_mode) FROM information_schema.routines WHERE routine_schema = DATABASE() \
                 UNION ALL SELECT CONCAT(trigger_name, ': ', sql_mode) FROM information_schema.triggers WHERE trigger_schema = DATABASE() \
                 UNION ALL SELECT CONCAT(table_name, ': ', REPLACE(view_definition, DATABASE(), 'db')) FROM information_schema.views WHERE table_schema = DATABASE()";
    let by_godwit = p.db.query(query);
    let by_client = client.query(query);
    assert_eq!(by_godwit, by_client);
    // `'1' || '0'` is `1 OR 0` unless the server's sql_mode says otherwise.
    let server_mode = client.query("SELECT @@GLOBAL.sql_mode");
    if !server_mode[0]
        .as_deref()
        .unwrap_or("")
        .contains("PIPES_AS_CONCAT")
    {
        assert!(by_godwit[0].as_deref().unwrap_or("").starts_with("1|"));
    }
}

const STRICT_MODE: &str =
    "ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT,ONLY_FULL_GROUP_BY,STRICT_ALL_TABLES";

/// godwit's own statements work under any `sql_mode`: the whole lifecycle on a server whose
/// every session has `ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT,ONLY_FULL_GROUP_BY,
/// STRICT_ALL_TABLES`, with values holding quotes and backslashes stored exactly.
#[test]
fn mysql_lifecycle_works_under_a_strict_sql_mode() {
    // A MariaDB server of the test's own, started with `--sql-mode=…`, so that every connection
    // godwit opens has that mode without touching the shared server's settings.
    let server = PrivateMaria::start_with(&[&format!("--sql-mode={STRICT_MODE}")]);
    server.client(
        "mysql",
        "CREATE DATABASE app; CREATE DATABASE legacy; CREATE DATABASE replay;",
    );
    let app = server.url("app");
    let modes = mysql_rows(&app, "SELECT @@SESSION.sql_mode");
    assert!(modes[0].contains("NO_BACKSLASH_ESCAPES"), "{modes:?}");
    let p = Project::new(Kind::Sqlite);
    let env = |url: &str| vec![("GODWIT_URL", url.to_string())];
    let run = |args: &[&str], url: &str| {
        let mut cmd = p.command(args);
        for (k, v) in env(url) {
            cmd.env(k, v);
        }
        cmd.env("GODWIT_INSTALLED_BY", INSTALLED_BY);
        godwit_test_support::run(cmd)
    };
    p.migration(
        "V1__create.sql",
        "CREATE TABLE x (id INT, k VARCHAR(10));\nINSERT INTO x VALUES (1, 'a'), (2, 'a');\nCREATE VIEW counts AS SELECT k, COUNT(*) AS n FROM x GROUP BY k;\n",
    );
    p.migration("U1__create.sql", "DROP VIEW counts;\nDROP TABLE x;\n");
    p.migration(
        r"V2__a\b.sql",
        "CREATE TABLE y (s VARCHAR(10));\nINSERT INTO y VALUES ('p' || 'q');\n",
    );
    p.migration(r"U2__a\b.sql", "DROP TABLE y;\n");
    run(&["info"], &app).success();
    run(&["migrate"], &app).success();
    run(&["info"], &app).success().stdout_has(r"a\b");
    run(&["validate"], &app).success();
    run(&["undo"], &app).success();
    run(&["migrate", "--dry-run"], &app).success();
    run(&["migrate"], &app).success();
    // The server's own PIPES_AS_CONCAT applies to the user's SQL.
    assert_eq!(mysql_rows(&app, "SELECT s FROM y"), ["pq"]);
    p.migration(
        r"V2__a\b.sql",
        "-- edited\nCREATE TABLE y (s VARCHAR(10));\nINSERT INTO y VALUES ('p' || 'q');\n",
    );
    run(&["validate"], &app).code(1);
    run(&["repair"], &app).success();
    run(&["validate"], &app).success();
    let history = mysql_rows(
        &app,
        "SELECT CONCAT_WS('|', version, description, script, installed_by, type, success) FROM godwit_schema_history ORDER BY installed_rank",
    );
    assert_eq!(
        history,
        [
            format!("1|create|V1__create.sql|{INSTALLED_BY}|SQL|1"),
            format!(r"2|a\b|V2__a\b.sql|{INSTALLED_BY}|SQL|1"),
            format!(r"2|a\b|U2__a\b.sql|{INSTALLED_BY}|UNDO_SQL|1"),
            format!(r"2|a\b|V2__a\b.sql|{INSTALLED_BY}|SQL|1"),
        ]
    );
    assert_eq!(
        mysql_rows(&app, "SELECT CAST(COUNT(*) AS CHAR) FROM x"),
        ["2"]
    );
    // Baseline on a database godwit never managed.
    let legacy = server.url("legacy");
    server.client("legacy", "CREATE TABLE old (id INT)");
    run(&["baseline"], &legacy).success();
    run(&["info"], &legacy).success();
    assert_eq!(
        mysql_rows(
            &legacy,
            "SELECT CONCAT_WS('|', version, installed_by, type) FROM godwit_schema_history"
        ),
        [format!("1|{INSTALLED_BY}|BASELINE")]
    );
    // The dry run prints what runs: the mariadb client replaying it records the same values.
    let replay = server.url("replay");
    let dry = run(&["migrate", "--dry-run"], &replay);
    dry.success();
    server.client("replay", &dry.stdout);
    assert_eq!(
        mysql_rows(
            &replay,
            "SELECT CONCAT_WS('|', version, description, script, installed_by) FROM godwit_schema_history ORDER BY installed_rank",
        ),
        [
            format!("1|create|V1__create.sql|{INSTALLED_BY}"),
            format!(r"2|a\b|V2__a\b.sql|{INSTALLED_BY}"),
        ]
    );
    run(&["validate"], &replay).success();
    // And clean empties the database.
    let mut cmd = p.command(&["clean", "--yes"]);
    cmd.env("GODWIT_URL", &app)
        .env("GODWIT_CLEAN_DISABLED", "false");
    godwit_test_support::run(cmd).success();
    assert!(mysql_rows(
        &app,
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = 'app'"
    )
    .is_empty());
}

// --- 2. PostgreSQL session state --------------------------------------------------------------

/// A role created for one test, dropped with it.
struct TestRole {
    db: String,
    name: String,
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let _ = runtime().block_on(async {
            let mut c = sqlx::PgConnection::connect(&self.db).await?;
            sqlx::raw_sql(&format!("DROP ROLE IF EXISTS {}", self.name))
                .execute(&mut c)
                .await
        });
    }
}

/// A migration that ends with `SET ROLE` to a role that may not write the history table, and
/// one that empties the search path as pg_dump does, both apply and are recorded (as `psql`
/// runs them), and the next migration starts from the session's original role and search
/// path. A non-transactional migration is held to the same.
#[test]
fn postgres_session_changes_do_not_leak_out_of_a_migration() {
    let p = Project::new(Kind::Postgres);
    let role = TestRole {
        db: p.db.url.clone(),
        name: format!("{}_r", p.db.name()),
    };
    p.db.exec(&format!("CREATE ROLE {} NOLOGIN", role.name));
    p.migration(
        "V1__role.sql",
        &format!(
            "CREATE TABLE before_role (id INT);\nSET ROLE {};\n",
            role.name
        ),
    );
    p.migration(
        "V2__dump.sql",
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.dumped (id INT);\n",
    );
    p.migration(
        "V3__outside.sql",
        &format!(
            "-- godwit:no-transaction\nSET ROLE {};\nSET search_path TO pg_catalog;\n",
            role.name
        ),
    );
    p.migration(
        "V4__seen.sql",
        "CREATE TABLE seen AS SELECT current_user::text AS u, current_setting('search_path') AS p;\n",
    );
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.history("godwit_schema_history"),
        [
            "1|role|SQL|true",
            "2|dump|SQL|true",
            "3|outside|SQL|true",
            "4|seen|SQL|true"
        ]
    );
    let user = p.db.query("SELECT current_user::text");
    assert_eq!(p.db.query("SELECT u FROM seen"), user);
    assert_eq!(
        p.db.query("SELECT p FROM seen"),
        p.db.query("SELECT current_setting('search_path')")
    );
    // With managed schemas, the search path each migration starts from is godwit's own.
    let q = Project::new(Kind::Postgres);
    q.file("godwit.toml", "schemas = [\"app\"]\n");
    q.migration(
        "V1__dump.sql",
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE app.dumped (id INT);\n",
    );
    q.migration(
        "V2__seen.sql",
        "CREATE TABLE seen AS SELECT current_setting('search_path') AS p;\n",
    );
    q.godwit(&["migrate"]).success();
    assert_eq!(
        q.db.query("SELECT p FROM app.seen"),
        [Some("app".to_string())]
    );
    drop(role);
}

//! Where the history table lives: `--schemas` / `schemas` and a schema-qualified `--table`.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(history_table_has_flyways_layout);

/// The history table has Flyway's columns in each dialect's own types, its primary key and
/// its index on `success`, so that Flyway and its habits carry over.
fn history_table_has_flyways_layout(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.godwit(&["migrate"]).success();
    let columns = match kind {
        Kind::Postgres => p.db.query(
            "SELECT column_name || ' ' || data_type || COALESCE('(' || character_maximum_length || ')', '') || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END FROM information_schema.columns WHERE table_name = 'godwit_schema_history' ORDER BY ordinal_position",
        ),
        Kind::MySql => p.db.query(&format!(
            "SELECT CAST(CONCAT(column_name, ' ', column_type, IF(is_nullable = 'NO', ' not null', '')) AS CHAR) FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 'godwit_schema_history' ORDER BY ordinal_position",
            p.db.name()
        )),
        Kind::Sqlite => p.db.query(
            "SELECT name || ' ' || lower(type) || CASE WHEN \"notnull\" = 1 THEN ' not null' ELSE '' END FROM pragma_table_info('godwit_schema_history') ORDER BY cid",
        ),
    };
    let columns: Vec<String> = columns.into_iter().flatten().collect();
    let expected: &[&str] = match kind {
        Kind::Postgres => &[
            "installed_rank integer not null",
            "version character varying(50)",
            "description character varying(200) not null",
            "type character varying(20) not null",
            "script character varying(1000) not null",
            "checksum integer",
            "installed_by character varying(100) not null",
            "installed_on timestamp without time zone not null",
            "execution_time integer not null",
            "success boolean not null",
        ],
        Kind::MySql => &[
            "installed_rank int(11) not null",
            "version varchar(50)",
            "description varchar(200) not null",
            "type varchar(20) not null",
            "script varchar(1000) not null",
            "checksum int(11)",
            "installed_by varchar(100) not null",
            "installed_on timestamp not null",
            "execution_time int(11) not null",
            "success tinyint(1) not null",
        ],
        Kind::Sqlite => &[
            "installed_rank integer not null",
            "version varchar(50)",
            "description varchar(200) not null",
            "type varchar(20) not null",
            "script varchar(1000) not null",
            "checksum integer",
            "installed_by varchar(100) not null",
            "installed_on text not null",
            "execution_time integer not null",
            "success boolean not null",
        ],
    };
    assert_eq!(columns, expected);
    let (primary_key, indexes) = match kind {
        Kind::Postgres => (
            p.db.query(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'godwit_schema_history'::regclass AND i.indisprimary",
            ),
            p.db.query(
                "SELECT indexname::text FROM pg_indexes WHERE tablename = 'godwit_schema_history' AND indexname NOT LIKE '%_pk'",
            ),
        ),
        Kind::MySql => (
            p.db.query(&format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.statistics WHERE table_schema = '{}' AND table_name = 'godwit_schema_history' AND index_name = 'PRIMARY'",
                p.db.name()
            )),
            p.db.query(&format!(
                "SELECT CAST(index_name AS CHAR) FROM information_schema.statistics WHERE table_schema = '{}' AND table_name = 'godwit_schema_history' AND index_name <> 'PRIMARY'",
                p.db.name()
            )),
        ),
        Kind::Sqlite => (
            p.db.query("SELECT name FROM pragma_table_info('godwit_schema_history') WHERE pk = 1"),
            p.db.query(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'godwit_schema_history'",
            ),
        ),
    };
    assert_eq!(primary_key, [Some("installed_rank".to_string())]);
    assert_eq!(indexes, [Some("godwit_schema_history_s_idx".to_string())]);
}

/// Every user table as `schema.table`, sorted.
fn pg_tables(p: &Project) -> Vec<String> {
    p.db.query(
        "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .into_iter()
    .flatten()
    .collect()
}

/// `--schemas app`: the first schema is created, holds the history table, and is where
/// unqualified names in migrations resolve; every other listed schema is created too.
#[test]
fn postgres_schemas_hold_the_history_table_and_unqualified_objects() {
    let p = Project::new(Kind::Postgres);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (id int);\nCREATE TABLE ${godwit:defaultSchema}.u (id int);\nCREATE TABLE audit.log (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM t $$;\n",
    );
    p.godwit(&["migrate", "--schemas", "app,audit"])
        .success()
        .stderr_has("Created history table app.godwit_schema_history");
    assert_eq!(
        pg_tables(&p),
        ["app.godwit_schema_history", "app.t", "app.u", "audit.log"]
    );
    assert_eq!(
        p.db.query("SELECT n.nspname::text FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace WHERE proname = 'f'"),
        [Some("app".into())]
    );
    assert_eq!(p.db.history("app.godwit_schema_history"), ["1|t|SQL|true"]);
    // The same setting from the environment reads the same history.
    p.godwit_env(&["migrate"], &[("GODWIT_SCHEMAS", "app,audit")])
        .success()
        .stderr_has("up to date at version 1");
    p.godwit(&["info", "--schemas", "app"])
        .success()
        .stdout_has("Success")
        .stderr_has("History table app.godwit_schema_history");
    p.godwit(&["validate", "--schemas", "app"]).success();
    p.godwit(&["current", "--schemas", "app"])
        .success()
        .stdout_has("1");
    // Without the setting godwit looks in the default schema and finds no history there.
    p.godwit(&["current"]).success().stdout_has("none");
}

/// `--table audit.history`: the history table's schema is created and used, while unqualified
/// objects stay in the connection's default schema.
#[test]
fn postgres_history_table_may_be_schema_qualified() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__t.sql", "CREATE TABLE t (id int);")
        .migration("V2__u.sql", "CREATE TABLE u (id int);");
    p.godwit(&["migrate", "--table", "audit.history", "--target", "1"])
        .success()
        .stderr_has("Created history table audit.history");
    p.godwit_env(&["migrate"], &[("GODWIT_TABLE", "audit.history")])
        .success()
        .stderr_has("Applied V2 u");
    assert_eq!(pg_tables(&p), ["audit.history", "public.t", "public.u"]);
    assert_eq!(
        p.db.history("audit.history"),
        ["1|t|SQL|true", "2|u|SQL|true"]
    );
    p.godwit(&["info", "--table", "audit.history"])
        .success()
        .stderr_has("History table audit.history; current version: 2");

    // With both, the table's own schema wins for the history, `schemas` for the objects.
    let q = Project::new(Kind::Postgres);
    q.migration("V1__t.sql", "CREATE TABLE t (id int);");
    q.godwit(&["migrate", "--schemas", "app", "--table", "meta.history"])
        .success();
    assert_eq!(pg_tables(&q), ["app.t", "meta.history"]);
}

/// On MySQL a schema is a database: `--schemas` creates it, keeps the history there and makes
/// it the default for unqualified names.
#[test]
fn mysql_schemas_name_the_database_that_holds_everything() {
    let p = Project::new(Kind::MySql);
    let app = format!("{}_app", p.db.name());
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (id INT);\nCREATE TABLE `${godwit:defaultSchema}`.u (id INT);\n",
    );
    let run = p.godwit(&["migrate", "--schemas", &app]);
    // Drop the extra database whatever happened, then check.
    let tables = p.db.query(&format!(
        "SELECT CAST(CONCAT(table_schema, '.', table_name) AS CHAR) FROM information_schema.tables WHERE table_schema IN ('{app}', '{}') ORDER BY 1",
        p.db.name()
    ));
    let history = if run.code == 0 {
        p.db.history(&format!("`{app}`.godwit_schema_history"))
    } else {
        Vec::new()
    };
    let again = p.godwit(&["current", "--schemas", &app]);
    p.db.exec(&format!("DROP DATABASE IF EXISTS `{app}`"));
    run.success().stderr_has(&format!(
        "Created history table {app}.godwit_schema_history"
    ));
    let expected: Vec<Option<String>> = ["godwit_schema_history", "t", "u"]
        .iter()
        .map(|t| Some(format!("{app}.{t}")))
        .collect();
    assert_eq!(tables, expected);
    assert_eq!(history, ["1|t|SQL|true"]);
    again.success();
    assert_eq!(again.stdout, "1\n");
}

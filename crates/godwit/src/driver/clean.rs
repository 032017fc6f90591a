//! What `clean` drops, per dialect: every table, view, sequence, routine and type in the managed
//! schemas, found by introspection, as `DROP` statements the executor runs (or prints).

use super::dialect::{quote_ident, quote_literal};
use super::{Dialect, Driver, DriverResult};

/// The `DROP` statements that empty `schemas` (the connection's default schema when empty).
pub async fn drop_statements(db: &mut dyn Driver, schemas: &[String]) -> DriverResult<Vec<String>> {
    let dialect = db.dialect();
    let schemas: Vec<String> = if schemas.is_empty() {
        vec![db.session().schema.clone()]
    } else {
        schemas.to_vec()
    };
    let mut statements = Vec::new();
    for schema in &schemas {
        let queries = match dialect {
            Dialect::Postgres => postgres_queries(schema),
            Dialect::MySql => mysql_queries(schema),
            Dialect::Sqlite => sqlite_queries(schema),
        };
        for query in queries {
            for row in db.query_text(&query).await? {
                if let Some(Some(sql)) = row.into_iter().next() {
                    statements.push(sql);
                }
            }
        }
    }
    if dialect == Dialect::MySql && !statements.is_empty() {
        statements.insert(0, "SET FOREIGN_KEY_CHECKS = 0".into());
        statements.push("SET FOREIGN_KEY_CHECKS = 1".into());
    }
    Ok(statements)
}

/// Objects that belong to an extension are left alone: dropping the extension is the user's call.
const PG_NOT_EXTENSION: &str =
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')";

fn postgres_queries(schema: &str) -> Vec<String> {
    let s = quote_literal(Dialect::Postgres, schema);
    let not_ext = |oid: &str| PG_NOT_EXTENSION.replace("{oid}", oid);
    vec![
        format!(
            "SELECT format('DROP MATERIALIZED VIEW IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = {s} AND c.relkind = 'm' AND {} ORDER BY c.relname",
            not_ext("c.oid")
        ),
        format!(
            "SELECT format('DROP VIEW IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = {s} AND c.relkind = 'v' AND {} ORDER BY c.relname",
            not_ext("c.oid")
        ),
        format!(
            "SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = {s} AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition AND {}
             ORDER BY c.relname",
            not_ext("c.oid")
        ),
        format!(
            "SELECT format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = {s} AND c.relkind = 'S' AND {} ORDER BY c.relname",
            not_ext("c.oid")
        ),
        format!(
            "SELECT format('DROP %s IF EXISTS %I.%I(%s) CASCADE',
                    CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                    n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = {s} AND {} ORDER BY p.proname",
            not_ext("p.oid")
        ),
        format!(
            "SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
                    CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname, t.typname)
             FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = {s} AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
               AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
               AND {} ORDER BY t.typname",
            not_ext("t.oid")
        ),
    ]
}

fn mysql_queries(schema: &str) -> Vec<String> {
    let s = quote_literal(Dialect::MySql, schema);
    let ident = |col: &str| format!("'`', REPLACE({col}, '`', '``'), '`'");
    vec![
        format!(
            "SELECT CAST(CONCAT('DROP VIEW IF EXISTS ', {}, '.', {}) AS CHAR)
             FROM information_schema.views WHERE table_schema = {s} ORDER BY table_name",
            ident("table_schema"),
            ident("table_name")
        ),
        format!(
            "SELECT CAST(CONCAT('DROP TABLE IF EXISTS ', {}, '.', {}) AS CHAR)
             FROM information_schema.tables WHERE table_schema = {s} AND table_type = 'BASE TABLE'
             ORDER BY table_name",
            ident("table_schema"),
            ident("table_name")
        ),
        format!(
            "SELECT CAST(CONCAT('DROP ', routine_type, ' IF EXISTS ', {}, '.', {}) AS CHAR)
             FROM information_schema.routines WHERE routine_schema = {s} ORDER BY routine_name",
            ident("routine_schema"),
            ident("routine_name")
        ),
        format!(
            "SELECT CAST(CONCAT('DROP EVENT IF EXISTS ', {}, '.', {}) AS CHAR)
             FROM information_schema.events WHERE event_schema = {s} ORDER BY event_name",
            ident("event_schema"),
            ident("event_name")
        ),
    ]
}

fn sqlite_queries(schema: &str) -> Vec<String> {
    let master = format!("{}.sqlite_master", quote_ident(Dialect::Sqlite, schema));
    let qualified = format!(
        "{} || '.' || '\"' || replace(name, '\"', '\"\"') || '\"'",
        quote_literal(Dialect::Sqlite, &quote_ident(Dialect::Sqlite, schema))
    );
    vec![
        format!(
            "SELECT 'DROP VIEW IF EXISTS ' || {qualified} FROM {master} WHERE type = 'view' ORDER BY name"
        ),
        format!(
            "SELECT 'DROP TABLE IF EXISTS ' || {qualified} FROM {master}
             WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ),
    ]
}

//! Transactions: files that must run outside one, files that mix, the directive that forces it,
//! and what a failure leaves behind on each database.

use godwit_test_support::{Kind, Project};

fn one(p: &Project, sql: &str) -> Option<String> {
    let rows = p.db.query(sql);
    assert_eq!(rows.len(), 1, "{sql} gave {rows:?}");
    rows[0].clone()
}

/// A file made only of `CREATE INDEX CONCURRENTLY` and friends runs outside a transaction (which
/// PostgreSQL demands), and its history row is written right after it.
#[test]
fn postgres_concurrent_index_build_runs_outside_a_transaction() {
    let p = Project::new(Kind::Postgres);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (id int, name text);\nINSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 1000) g;\nCREATE INDEX t_old ON t (name);\n",
    )
    .migration(
        "V2__indexes.sql",
        "-- Build without blocking writers.\nCREATE INDEX CONCURRENTLY t_name ON t (name);\n\ncreate unique index\n  concurrently t_id ON t (id);\nDROP INDEX CONCURRENTLY IF EXISTS t_old;\n",
    )
    .migration("V3__after.sql", "ALTER TABLE t ADD COLUMN extra int;\n");
    let report = p.godwit(&["migrate", "--json"]).success().json();
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps[0]["transactional"], true);
    assert_eq!(steps[1]["migration"], "V2");
    assert_eq!(steps[1]["transactional"], false);
    assert_eq!(steps[1]["statements"], 3);
    assert_eq!(steps[2]["transactional"], true);
    assert_eq!(
        p.db.query(
            "SELECT c.relname::text || ':' || i.indisvalid::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 't'::regclass ORDER BY 1"
        ),
        [Some("t_id:true".into()), Some("t_name:true".into())]
    );
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|indexes|SQL|true", "3|after|SQL|true"]
    );
    p.godwit(&["validate"]).success();
}

/// The human output says which migration ran without a transaction.
#[test]
fn postgres_vacuum_only_file_runs_outside_a_transaction() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__t.sql", "CREATE TABLE t (id int);")
        .migration("V2__vacuum.sql", "VACUUM (ANALYZE) t;\nANALYZE t;\n")
        .migration("V3__u.sql", "CREATE TABLE u (id int);");
    // `ANALYZE` may run anywhere, so this file mixes: it is refused.
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("migrations/V2__vacuum.sql:1");
    p.migration("V2__vacuum.sql", "VACUUM (ANALYZE) t;\n");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V2 vacuum [no transaction]")
        .stderr_has("Applied V3 u (");
    assert_eq!(p.db.history("godwit_schema_history").len(), 3);
}

/// SQLite's `VACUUM` cannot run in a transaction either; the run-long write lock is given up
/// for it and taken again for the migrations after it.
#[test]
fn sqlite_vacuum_only_file_runs_outside_a_transaction() {
    let p = Project::new(Kind::Sqlite);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);",
    )
    .migration("V2__vacuum.sql", "VACUUM;")
    .migration("V3__u.sql", "CREATE TABLE u (id INT);");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V2 vacuum [no transaction]")
        .stderr_has("Applied V3 u");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|vacuum|SQL|true", "3|u|SQL|true"]
    );
}

/// A file that mixes statements that cannot run in a transaction with others is refused
/// before anything runs, with a message that says why and how to split it.
fn mixed_file_is_refused_before_anything_runs(kind: Kind) {
    let p = Project::new(kind);
    let non_tx = match kind {
        Kind::Postgres => "CREATE INDEX CONCURRENTLY t_id ON t (id)",
        _ => "VACUUM",
    };
    p.migration("V1__t.sql", "CREATE TABLE t (id INT);")
        .migration(
            "V2__mixed.sql",
            &format!("-- add a column and index it\nALTER TABLE t ADD COLUMN x INT;\n{non_tx};\n"),
        );
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has("nothing was run")
        .stderr_has("migrations/V2__mixed.sql:3")
        .stderr_has(&format!("`{non_tx}` cannot run inside a transaction"))
        .stderr_has("also has statements that should (line 2)")
        .stderr_has(
            "move the statements that cannot run in a transaction into a migration of their own",
        )
        .stderr_has("mixed = true");
    // Not even V1 ran, and no history table was made.
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    let json = p.godwit(&["migrate", "--json"]).code(2).json();
    assert_eq!(json["error"]["category"], "usage");
    assert_eq!(json["error"]["details"][0]["line"], 3);

    // `mixed = true` runs the whole file without a transaction.
    p.godwit_env(&["migrate"], &[("GODWIT_MIXED", "true")])
        .success()
        .stderr_has("Applied V2 mixed [no transaction]");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|mixed|SQL|true"]
    );
}

mod mixed_file_is_refused_before_anything_runs {
    #[test]
    fn postgres() {
        super::mixed_file_is_refused_before_anything_runs(godwit_test_support::Kind::Postgres)
    }
    #[test]
    fn sqlite() {
        super::mixed_file_is_refused_before_anything_runs(godwit_test_support::Kind::Sqlite)
    }
}

/// `-- godwit:no-transaction` on the first line runs a file outside a transaction even when
/// nothing in it is recognised as needing that: here a procedure that commits as it goes,
/// which PostgreSQL refuses to call inside a transaction block.
#[test]
fn postgres_no_transaction_directive_forces_it() {
    let p = Project::new(Kind::Postgres);
    let body = "CREATE TABLE batches (n int);\nCREATE PROCEDURE fill() LANGUAGE plpgsql AS $$\nBEGIN\n  INSERT INTO batches VALUES (1);\n  COMMIT;\n  INSERT INTO batches VALUES (2);\n  COMMIT;\nEND $$;\nCALL fill();\n";
    p.migration("V1__batches.sql", body);
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("migrations/V1__batches.sql:9")
        .stderr_has("invalid transaction termination")
        .stderr_has("[2D000]")
        .stderr_has("rolled back");
    // Rolled back: no table, no procedure, no history row.
    assert_eq!(p.db.tables(), ["godwit_schema_history"]);
    assert_eq!(
        one(&p, "SELECT count(*) FROM pg_proc WHERE proname = 'fill'"),
        Some("0".into())
    );
    p.migration(
        "V1__batches.sql",
        &format!("-- godwit:no-transaction\n{body}"),
    );
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V1 batches [no transaction]");
    assert_eq!(one(&p, "SELECT sum(n) FROM batches"), Some("3".into()));
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|batches|SQL|true"]
    );
}

/// On PostgreSQL and SQLite a failed migration leaves no trace: every object and row it made
/// and its history row are rolled back, and the migrations before it stay applied.
fn failed_transactional_migration_leaves_no_trace(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n",
    );
    let extra = match kind {
        Kind::Postgres => {
            "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE SEQUENCE s;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"
        }
        _ => "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;\n",
    };
    p.migration(
        "V2__broken.sql",
        &format!(
            "CREATE TABLE half (id INT);\nINSERT INTO t VALUES (2);\nUPDATE t SET id = 10 WHERE id = 1;\nCREATE INDEX t_id ON t (id);\nCREATE VIEW v AS SELECT id FROM t;\n{extra}INSERT INTO missing VALUES (1);\n"
        ),
    );
    let run = p.godwit(&["migrate", "--json"]);
    run.code(1)
        .stderr_has("migration V2 failed")
        .stderr_has("rolled back and nothing of it remains");
    let json = run.json();
    assert_eq!(json["error"]["details"]["rolled_back"], true);
    assert_eq!(json["error"]["details"]["report"]["migrations"], 1);
    assert_eq!(p.db.tables(), ["godwit_schema_history", "t"]);
    assert_eq!(p.db.query("SELECT id FROM t"), [Some("1".into())]);
    assert_eq!(p.db.history("godwit_schema_history"), ["1|t|SQL|true"]);
    let leftovers = match kind {
        Kind::Postgres => one(
            &p,
            "SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('half', 't_id', 'v', 's'))
                  + (SELECT count(*) FROM pg_type WHERE typname = 'mood')
                  + (SELECT count(*) FROM pg_proc WHERE proname = 'f')",
        ),
        _ => one(
            &p,
            "SELECT count(*) FROM sqlite_master WHERE name IN ('half', 't_id', 'v', 'tr')",
        ),
    };
    assert_eq!(leftovers, Some("0".into()));
    p.godwit(&["validate"]).success();
    p.godwit(&["info"]).success().stdout_has("Pending");
}

mod failed_transactional_migration_leaves_no_trace {
    #[test]
    fn postgres() {
        super::failed_transactional_migration_leaves_no_trace(godwit_test_support::Kind::Postgres)
    }
    #[test]
    fn sqlite() {
        super::failed_transactional_migration_leaves_no_trace(godwit_test_support::Kind::Sqlite)
    }
}

/// A non-transactional PostgreSQL file that fails half-way cannot be rolled back: like a MySQL
/// failure it is recorded as failed and blocks later runs until `repair`.
#[test]
fn postgres_failed_non_transactional_migration_is_recorded_as_failed() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__t.sql", "CREATE TABLE t (id int);")
        .migration(
            "V2__indexes.sql",
            "CREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_nope ON t (nope);\n",
        )
        .migration("V3__later.sql", "CREATE TABLE later (id int);");
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("migrations/V2__indexes.sql:2")
        .stderr_has("[42703]")
        .stderr_has("could not be rolled back")
        .stderr_has("godwit repair");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|indexes|SQL|false"]
    );
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("failed and left the database partly changed")
        .stderr_has("godwit repair");
    assert!(!p.db.tables().contains(&"later".to_string()));
    p.godwit(&["info"]).success().stdout_has("Failed");
}

/// MySQL commits DDL as it goes: a failed migration is recorded with `success = false`, later
/// runs refuse and say to fix the database by hand and run `godwit repair`; after that, a
/// fixed file applies.
#[test]
fn mysql_failed_migration_is_recorded_and_blocks_later_runs() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__t.sql", "CREATE TABLE t (id INT);")
        .migration(
            "V2__half.sql",
            "CREATE TABLE half (id INT);\nINSERT INTO half VALUES (1);\n\nINSERT INTO missing VALUES (1);\n",
        )
        .migration("V3__later.sql", "CREATE TABLE later (id INT);");
    let run = p.godwit(&["migrate", "--json"]);
    run.code(1)
        .stderr_has("migrations/V2__half.sql:4")
        .stderr_has("Table '")
        .stderr_has("missing' doesn't exist")
        .stderr_has("[1146 (42S02)]")
        .stderr_has("fix the database by hand")
        .stderr_has("godwit repair");
    assert_eq!(run.json()["error"]["details"]["rolled_back"], false);
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|half|SQL|false"]
    );
    assert!(p.db.tables().contains(&"half".to_string()));
    for _ in 0..2 {
        p.godwit(&["migrate"])
            .code(1)
            .stderr_has("V2")
            .stderr_has("failed and left the database partly changed")
            .stderr_has("by hand")
            .stderr_has("godwit repair");
    }
    assert!(!p.db.tables().contains(&"later".to_string()));
    p.godwit(&["info"]).success().stdout_has("Failed");
    p.godwit(&["validate"]).code(1).stderr_has("godwit repair");

    // The user cleans up by hand, fixes the file, repairs, and migrates.
    p.db.exec("DROP TABLE half");
    p.migration(
        "V2__half.sql",
        "CREATE TABLE half (id INT);\nINSERT INTO half VALUES (1);\n",
    );
    p.godwit(&["repair"]).success();
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V2 half")
        .stderr_has("Applied V3 later");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|half|SQL|true", "3|later|SQL|true"]
    );
}

/// A MySQL migration whose first statement fails changed nothing: it is not recorded, and the
/// next run tries it again.
#[test]
fn mysql_failure_before_any_change_is_not_recorded() {
    let p = Project::new(Kind::MySql);
    p.migration(
        "V1__bad.sql",
        "INSERT INTO missing VALUES (1);\nCREATE TABLE t (id INT);",
    );
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("migrations/V1__bad.sql:1")
        .stderr_has("nothing of it remains");
    assert!(p.db.history("godwit_schema_history").is_empty());
    p.migration("V1__bad.sql", "CREATE TABLE t (id INT);");
    p.godwit(&["migrate"]).success();
}

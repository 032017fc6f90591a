//! The library as a service uses it: migrations embedded or written in Rust, a pool the
//! application already has, auto-migrate. On real SQLite files and real PostgreSQL and MariaDB
//! databases made for each test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use godwit::sqlx::{self, Connection as _, Row as _};
use godwit::{
    Database, EmbeddedMigrations, Error, MigrationSet, Migrator, RustContext, RustMigration,
};
use godwit_test_support::{Kind, TestDb};

// The library has no build script; the rebuild test (embed_rebuild.rs) covers one that does.
#[allow(deprecated)]
static EMBEDDED: EmbeddedMigrations = godwit::embed_migrations!("tests/embedded");

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("app.db").display())
}

fn text_set(files: &[(&str, &str)]) -> MigrationSet {
    let migrations = files
        .iter()
        .map(|(name, text)| {
            godwit::Migration::from_text(name, Arc::from(*text))
                .expect("valid name")
                .expect("a migration")
        })
        .collect();
    MigrationSet::new(migrations).expect("a valid set")
}

/// Backfills `slug` from `title`, in Rust: lower case, runs of other characters as one `-`.
fn slug_migration() -> RustMigration {
    RustMigration::new("1.1", "backfill slugs", |ctx| {
        Box::pin(async move {
            let rows = ctx
                .query_text("SELECT id, title FROM notes WHERE slug IS NULL ORDER BY id")
                .await?;
            for row in rows {
                let (Some(id), Some(title)) = (&row[0], &row[1]) else {
                    continue;
                };
                let sql = format!(
                    "UPDATE notes SET slug = {} WHERE id = {}",
                    ctx.quote_literal(&slugify(title)),
                    id.parse::<i64>()?
                );
                ctx.execute(&sql).await?;
            }
            Ok(())
        })
    })
    .with_checksum(7)
}

fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

fn notes_migrator() -> Migrator {
    let set = text_set(&[
        (
            "V1__create_notes.sql",
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, title VARCHAR(100), slug VARCHAR(100));\n\
             INSERT INTO notes (id, title) VALUES (1, 'Hello, World!');\n\
             INSERT INTO notes (id, title) VALUES (2, 'It''s  Rust');\n",
        ),
        (
            "V2__more_notes.sql",
            "INSERT INTO notes (id, title) VALUES (3, 'Later');\n",
        ),
    ]);
    Migrator::new(set)
        .with_rust_migration(slug_migration())
        .expect("a valid Rust migration")
}

async fn history(db: &mut Database, migrator: &Migrator) -> Vec<(String, String)> {
    migrator
        .info(db)
        .await
        .expect("info")
        .migrations
        .into_iter()
        .filter(|r| r.installed_rank.is_some())
        .map(|r| (r.version.unwrap_or_default(), r.description))
        .collect()
}

#[tokio::test]
async fn rust_migrations_run_in_version_order_and_are_recorded_as_rust() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let migrator = notes_migrator();
    let labels: Vec<String> = migrator
        .migrations()
        .iter()
        .map(|m| m.label().to_string())
        .collect();
    assert_eq!(labels, ["V1", "V1.1", "V2"]);

    let mut db = Database::connect(&url).await.unwrap();
    let report = migrator.migrate(&mut db).await.unwrap();
    assert_eq!(report.migrations, 3);
    let kinds: Vec<(&str, &str)> = report
        .steps
        .iter()
        .map(|s| (s.migration.as_str(), s.kind.label()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("V1", "Versioned"),
            ("V1.1", "Versioned"),
            ("V2", "Versioned")
        ]
    );
    assert_eq!(report.steps[1].statements, 2, "one UPDATE per row");
    assert_eq!(report.final_version.as_deref(), Some("2"));
    db.close().await.unwrap();

    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let slugs: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, slug FROM notes ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    // V2's row came after the Rust migration: it is left for the application.
    assert_eq!(
        slugs,
        [
            (1, Some("hello-world".to_string())),
            (2, Some("it-s-rust".to_string())),
            (3, None)
        ]
    );
    let rows: Vec<(String, String, Option<i32>)> = sqlx::query_as(
        "SELECT version, type, checksum FROM godwit_schema_history ORDER BY installed_rank",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows.iter()
            .map(|(v, t, _)| (v.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
        [("1", "SQL"), ("1.1", "RUST"), ("2", "SQL")]
    );
    assert_eq!(rows[1].2, Some(7));
    pool.close().await;

    // Nothing pending, and the history validates (the Rust checksum included).
    let mut db = Database::connect(&url).await.unwrap();
    assert_eq!(migrator.migrate(&mut db).await.unwrap().migrations, 0);
    assert!(migrator.validate(&mut db).await.unwrap().is_empty());
    // A changed checksum is reported like an edited file.
    let changed = Migrator::new(text_set(&[]))
        .with_rust_migration(slug_migration().with_checksum(8))
        .unwrap();
    let problems = changed.validate(&mut db).await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.migration == "V1.1" && p.message.contains("checksum 7 applied, 8")),
        "{problems:?}"
    );
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_failing_rust_migration_rolls_back_with_its_history_row() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let migrator = Migrator::new(text_set(&[(
        "V1__create.sql",
        "CREATE TABLE t (x INTEGER);\n",
    )]))
    .with_rust_migration(RustMigration::new("2", "half done", |ctx| {
        Box::pin(async move {
            ctx.execute("INSERT INTO t VALUES (1)").await?;
            ctx.execute("INSERT INTO missing_table VALUES (2)").await?;
            Ok(())
        })
    }))
    .unwrap()
    .with_rust_migration(RustMigration::new("3", "refuses", |_ctx| {
        Box::pin(async move { Err("never reached".into()) })
    }))
    .unwrap();
    let mut db = Database::connect(&url).await.unwrap();
    let err = migrator.migrate(&mut db).await.unwrap_err();
    let Error::Migration(failure) = &err else {
        panic!("expected a migration failure: {err:?}");
    };
    assert_eq!(failure.migration, "V2");
    assert!(failure.message.contains("missing_table"), "{failure:?}");
    assert_eq!(failure.statement, "INSERT INTO missing_table VALUES (2)");
    assert!(failure.rolled_back);
    assert_eq!(failure.report.migrations, 1);
    let info = migrator.info(&mut db).await.unwrap();
    assert_eq!(info.current_version.as_deref(), Some("1"));
    db.close().await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "the Rust migration's insert was rolled back");
    pool.close().await;

    // An error that is not the database's is reported with its own message.
    let only_refuses = Migrator::new(text_set(&[]))
        .with_rust_migration(RustMigration::new("3", "refuses", |_ctx| {
            Box::pin(async move { Err("the data is not ready".into()) })
        }))
        .unwrap();
    let other = tempfile::tempdir().unwrap();
    let mut db = Database::connect(&sqlite_url(&other)).await.unwrap();
    let err = only_refuses.migrate(&mut db).await.unwrap_err();
    assert!(err.to_string().contains("the data is not ready"), "{err}");
    db.close().await.unwrap();
}

/// A migration interrupted while it ran is refused with a typed error whose hint names both ways
/// out; `repair_mark_applied` (dry run first) records it as applied without running it, and a
/// pending Rust migration too (as a `RUST` row).
#[tokio::test]
async fn an_interrupted_migration_is_refused_then_marked_applied() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let seed = |version: &str| {
        RustMigration::new(version, "seed", |ctx| {
            Box::pin(async move {
                ctx.execute("INSERT INTO t VALUES (1)").await?;
                Ok(())
            })
        })
    };
    let migrator = Migrator::new(text_set(&[
        ("V1__create.sql", "CREATE TABLE t (x INTEGER);\n"),
        ("V2__index.sql", "CREATE INDEX t_x ON t (x);\n"),
    ]))
    .with_rust_migration(seed("3"))
    .unwrap();
    let only_v1 = Migrator::new(text_set(&[(
        "V1__create.sql",
        "CREATE TABLE t (x INTEGER);\n",
    )]));
    let mut db = Database::connect(&url).await.unwrap();
    only_v1.migrate(&mut db).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO godwit_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
         VALUES (2, '2', 'index', 'SQL', 'V2__index.sql', 1, 'me', -1, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();

    let err = migrator.migrate(&mut db).await.unwrap_err();
    assert!(
        matches!(&err, Error::Plan(godwit::PlanError::Interrupted { migrations, .. }) if migrations[0].migration == "V2"),
        "{err:?}"
    );
    assert_eq!(err.category(), godwit::Category::Failed);
    assert!(
        err.to_string().contains("V2 was interrupted while it ran"),
        "{err}"
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("godwit repair --mark-applied 2"), "{hint}");
    assert!(
        hint.contains("godwit repair`, which removes its row"),
        "{hint}"
    );

    let v2 = godwit::Version::parse("2").unwrap();
    let mut sql = Vec::new();
    let planned = migrator
        .repair_mark_applied(&mut db, &v2, Some(&mut sql))
        .await
        .unwrap();
    let sql = String::from_utf8(sql).unwrap();
    assert!(
        sql.contains("UPDATE") && sql.contains("\"installed_rank\" = 2"),
        "{sql}"
    );
    let success = |pool| async move {
        let rows: Vec<(String, String, i64, i32)> = sqlx::query_as(
            "SELECT version, type, CAST(success AS INTEGER), execution_time FROM godwit_schema_history ORDER BY installed_rank",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        rows
    };
    assert_eq!(success(&pool).await[1], ("2".into(), "SQL".into(), 0, -1));
    let done = migrator
        .repair_mark_applied(&mut db, &v2, None)
        .await
        .unwrap();
    assert_eq!(done, planned);
    assert_eq!(success(&pool).await[1], ("2".into(), "SQL".into(), 1, 0));

    // The pending Rust migration is marked too: a `RUST` row, and its code never runs.
    let v3 = godwit::Version::parse("3").unwrap();
    let marked = migrator
        .repair_mark_applied(&mut db, &v3, None)
        .await
        .unwrap();
    assert!(
        matches!(&marked, godwit::RepairAction::MarkApplied { installed_rank: None, history_type, .. } if history_type.as_str() == "RUST"),
        "{marked:?}"
    );
    assert_eq!(success(&pool).await[2], ("3".into(), "RUST".into(), 1, 0));
    assert_eq!(migrator.migrate(&mut db).await.unwrap().migrations, 0);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "neither V2's index nor V3's code ran");

    let unknown = godwit::Version::parse("9").unwrap();
    let err = migrator
        .repair_mark_applied(&mut db, &unknown, None)
        .await
        .unwrap_err();
    assert_eq!(err.category(), godwit::Category::Usage, "{err}");
    pool.close().await;
    db.close().await.unwrap();
}

/// The checksum `repair_mark_applied` records is read from the file when it runs, not the one
/// discovery saw (which may come from the checksum cache).
#[tokio::test]
async fn mark_applied_records_the_checksum_of_the_file_as_it_is_now() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    let file = migrations.join("V1__create.sql");
    std::fs::write(&file, "CREATE TABLE t (x INTEGER);\n").unwrap();
    let migrator = Migrator::from_locations(&[&migrations]).unwrap();
    let url = sqlite_url(&dir);
    let mut db = Database::connect(&url).await.unwrap();
    // An empty run creates the history table.
    Migrator::new(text_set(&[])).migrate(&mut db).await.unwrap();
    let edited = "-- edited after discovery\nCREATE TABLE t (x INTEGER);\n";
    std::fs::write(&file, edited).unwrap();
    let v1 = godwit::Version::parse("1").unwrap();
    let action = migrator
        .repair_mark_applied(&mut db, &v1, None)
        .await
        .unwrap();
    let godwit::RepairAction::MarkApplied { checksum, .. } = action else {
        panic!("{action:?}");
    };
    assert_eq!(checksum, Some(godwit::checksum_str(edited)));
    db.close().await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let recorded: Option<i32> = sqlx::query_scalar("SELECT checksum FROM godwit_schema_history")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, Some(godwit::checksum_str(edited)));
    pool.close().await;
}

/// SQL with a NUL byte from a Rust migration is refused before it reaches the database (SQLite
/// would stop reading the statement there), as a file with one is refused.
#[tokio::test]
async fn a_rust_migration_cannot_send_a_nul_byte() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let migrator = Migrator::new(text_set(&[(
        "V1__create.sql",
        "CREATE TABLE t (x TEXT);\n",
    )]))
    .with_rust_migration(RustMigration::new("2", "nul", |ctx| {
        Box::pin(async move {
            ctx.execute("INSERT INTO t VALUES ('a')").await?;
            ctx.execute("INSERT INTO t VALUES ('b\0c')").await?;
            Ok(())
        })
    }))
    .unwrap();
    let mut db = Database::connect(&url).await.unwrap();
    let err = migrator.migrate(&mut db).await.unwrap_err();
    let Error::Migration(failure) = &err else {
        panic!("expected a migration failure: {err:?}");
    };
    assert_eq!(failure.migration, "V2");
    assert!(failure.message.contains("NUL byte"), "{failure:?}");
    assert!(failure.rolled_back);
    let info = migrator.info(&mut db).await.unwrap();
    assert_eq!(info.current_version.as_deref(), Some("1"));
    db.close().await.unwrap();
}

#[tokio::test]
async fn rust_data_migrations_rerun_and_dry_runs_only_say_they_would_run() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let migrator = Migrator::new(text_set(&[(
        "V1__create.sql",
        "CREATE TABLE t (x INTEGER);\n",
    )]))
    .with_rust_migration(RustMigration::data(
        "1",
        "count",
        move |ctx: &mut RustContext<'_>| {
            let counted = counted.clone();
            Box::pin(async move {
                counted.fetch_add(1, Ordering::SeqCst);
                assert_eq!(ctx.dialect(), godwit::Dialect::Sqlite);
                ctx.execute("INSERT INTO t VALUES (1)").await?;
                Ok(())
            })
        },
    ))
    .unwrap();
    let mut db = Database::connect(&url).await.unwrap();
    let mut out = Vec::new();
    let report = migrator.migrate_dry_run(&mut db, &mut out).await.unwrap();
    assert!(report.dry_run);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("-- D1 is written in Rust: a real run calls it here"),
        "{text}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "a dry run calls no code");

    migrator.migrate(&mut db).await.unwrap();
    migrator.migrate(&mut db).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "data migrations run on every migrate"
    );
    let rows = history(&mut db, &migrator).await;
    assert_eq!(rows, [("1".to_string(), "create".to_string())]);
    db.close().await.unwrap();
}

#[tokio::test]
async fn bad_rust_migrations_are_file_problems() {
    let bad_version = Migrator::new(text_set(&[]))
        .with_rust_migration(RustMigration::new("1.x", "bad", |_ctx| {
            Box::pin(async move { Ok(()) })
        }))
        .unwrap_err();
    assert!(matches!(bad_version, Error::Files(_)), "{bad_version:?}");
    assert!(
        bad_version.to_string().contains("V1.x__bad (Rust)"),
        "{bad_version}"
    );

    let duplicate = Migrator::new(text_set(&[("V1__create.sql", "SELECT 1;")]))
        .with_rust_migration(RustMigration::new("1.0", "again", |_ctx| {
            Box::pin(async move { Ok(()) })
        }))
        .unwrap_err();
    let Error::Files(problems) = &duplicate else {
        panic!("{duplicate:?}");
    };
    assert_eq!(
        problems[0].paths,
        ["V1__create.sql", "V1.0__again (Rust)"],
        "{problems:?}"
    );
}

#[test]
fn embedded_checksums_equal_the_ones_discovered_on_disk() {
    let embedded = EMBEDDED.to_set().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/embedded");
    let on_disk = godwit::discover(&[dir]).unwrap();
    let sums = |set: &MigrationSet| -> Vec<(String, String, i32)> {
        set.iter()
            .map(|m| (m.label().to_string(), m.script.clone(), m.checksum))
            .collect()
    };
    assert_eq!(sums(&embedded), sums(&on_disk));
    assert_eq!(EMBEDDED.location(), "tests/embedded");
    assert!(embedded
        .iter()
        .all(|m| m.display_path.starts_with("tests/embedded/")));
}

#[tokio::test]
async fn migrating_is_a_send_future_for_spawned_tasks() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let migrator = Arc::new(Migrator::embedded(&EMBEDDED).unwrap());
    let task = tokio::spawn(assert_send(async move {
        let mut db = Database::connect(&url).await?;
        let report = migrator.migrate(&mut db).await?;
        db.close().await?;
        Ok::<_, Error>(report)
    }));
    assert_eq!(task.await.unwrap().unwrap().migrations, 2);
}

#[tokio::test]
async fn auto_migrate_migrates_a_url_and_an_open_database() {
    // GODWIT_AUTO_MIGRATE is left alone here (the example service's tests set it for a
    // process of their own): unset, it means yes.
    if std::env::var_os(godwit::AUTO_MIGRATE_VAR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let migrator = Migrator::embedded(&EMBEDDED).unwrap();
    let report = godwit::auto_migrate(url.as_str(), &migrator)
        .await
        .unwrap()
        .expect("auto-migrate is on");
    assert_eq!(report.migrations, 2);
    let mut db = Database::connect(&url).await.unwrap();
    let again = godwit::auto_migrate(&mut db, &migrator).await.unwrap();
    assert_eq!(again.map(|r| r.migrations), Some(0));
    db.close().await.unwrap();
}

/// Waits until `condition` holds (what it waits for happens on a task of its own), for at most
/// a minute: a slow machine makes the test slower, not wrong.
async fn eventually(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Waits until a statement containing `text` runs on another connection to the test's
/// PostgreSQL database.
async fn running_on_server(url: &str, text: &str) {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let running: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND state = 'active' AND strpos(query, $1) > 0",
        )
        .bind(text)
        .fetch_one(&mut c)
        .await
        .unwrap();
        if running > 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{text} never ran on the server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Migrates through the application's pool: one connection checked out, given back after.
async fn migrate_through_pool<P: godwit::SqlxPool>(pool: &P, idle: impl Fn(&P) -> usize) {
    let migrator = notes_migrator();
    let mut db = Database::from_pool(pool).await.unwrap();
    let report = migrator.migrate(&mut db).await.unwrap();
    assert_eq!(report.migrations, 3);
    db.close().await.unwrap();
    // The connection went back to the pool (sqlx returns it on a task of its own), without the
    // lock: a second run gets it at once.
    eventually(|| idle(pool) == 1).await;
    assert_eq!(idle(pool), 1);
    let report = godwit::auto_migrate(godwit::AutoMigrateTarget::Pool(pool), &migrator)
        .await
        .unwrap();
    if std::env::var_os(godwit::AUTO_MIGRATE_VAR).is_none() {
        assert_eq!(report.map(|r| r.migrations), Some(0));
    }
}

#[tokio::test]
async fn postgres_pool() {
    let server = TestDb::on_server(Kind::Postgres);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&server.url)
        .await
        .unwrap();
    migrate_through_pool(&pool, |p| p.num_idle()).await;
    // The pool's single connection serves the application afterwards.
    let row = sqlx::query("SELECT slug FROM notes WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "hello-world");
    // No advisory lock is left in this test's database (other suites' locks on the server are
    // theirs).
    let locks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(locks, 0);
    pool.close().await;
}

#[tokio::test]
async fn mysql_pool() {
    let server = TestDb::on_server(Kind::MySql);
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&server.url)
        .await
        .unwrap();
    migrate_through_pool(&pool, |p| p.num_idle()).await;
    let slug: String = sqlx::query_scalar("SELECT slug FROM notes WHERE id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(slug, "it-s-rust");
    pool.close().await;
}

#[tokio::test]
async fn sqlite_pool() {
    let dir = tempfile::tempdir().unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("app.db"))
        .create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    migrate_through_pool(&pool, |p| p.num_idle()).await;
    pool.close().await;
}

#[tokio::test]
async fn a_database_dropped_without_close_closes_its_pooled_connection() {
    let dir = tempfile::tempdir().unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("app.db"))
        .create_if_missing(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let db = Database::from_pool(&pool).await.unwrap();
    assert_eq!(pool.size(), 1);
    drop(db);
    eventually(|| pool.size() == 0).await;
    assert_eq!(pool.size(), 0, "the connection was closed, not given back");
    pool.close().await;
}

/// A file edited after the migrator read it is refused before anything runs, and the history
/// never records a checksum the applied text does not have.
#[tokio::test]
async fn a_file_changed_after_discovery_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir_all(&migrations).unwrap();
    std::fs::write(migrations.join("V1__a.sql"), "CREATE TABLE a (id INT);\n").unwrap();
    std::fs::write(migrations.join("V2__b.sql"), "CREATE TABLE b (id INT);\n").unwrap();
    let migrator = Migrator::from_locations(&[&migrations]).unwrap();
    std::fs::write(migrations.join("V2__b.sql"), "CREATE TABLE c (id INT);\n").unwrap();

    let mut db = Database::connect(&sqlite_url(&dir)).await.unwrap();
    let err = migrator.migrate(&mut db).await.unwrap_err();
    assert!(matches!(err, Error::Files(_)), "{err:?}");
    assert!(
        err.to_string().contains("V2__b.sql") && err.to_string().contains("changed"),
        "{err}"
    );
    // Nothing ran: not even V1, which did not change.
    assert!(migrator.current(&mut db).await.unwrap().is_none());
    db.close().await.unwrap();
}

/// `Interrupt` stops a PostgreSQL run whose statement sleeps: the server cancels it at once, the
/// migration rolls back, the error says it was interrupted, and the lock is free for the next run.
#[tokio::test]
async fn an_interrupt_cancels_the_statement_rolls_back_and_frees_the_lock() {
    let server = TestDb::on_server(Kind::Postgres);
    let set = text_set(&[
        ("V1__a.sql", "CREATE TABLE a (i INT);\n"),
        (
            "V2__slow.sql",
            "INSERT INTO a VALUES (1);\nSELECT pg_sleep(60);\n",
        ),
    ]);
    let interrupt = godwit::Interrupt::new();
    let migrator = Migrator::new(set.clone()).with_interrupt(interrupt.clone());
    let mut db = Database::connect(&server.url).await.unwrap();
    let trigger = interrupt.clone();
    let url = server.url.clone();
    tokio::spawn(async move {
        running_on_server(&url, "pg_sleep(60)").await;
        trigger.trigger();
    });
    let started = std::time::Instant::now();
    let err = migrator.migrate(&mut db).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let Error::Migration(f) = &err else {
        panic!("expected a migration failure: {err:?}")
    };
    assert_eq!(f.migration, "V2");
    assert_eq!(f.cause, godwit::FailureCause::Interrupted);
    assert!(f.rolled_back);
    assert_eq!(f.report.migrations, 1, "V1 was applied before");
    assert!(
        err.hint().unwrap().contains("rolled back"),
        "{:?}",
        err.hint()
    );
    db.close().await.unwrap();
    // Nothing of V2 remains, and another run gets the lock at once.
    let mut other = Database::connect(&server.url).await.unwrap();
    let mut config = godwit::Config::default();
    config.lock_timeout = std::time::Duration::ZERO;
    let plain = Migrator::new(set).with_config(config);
    let info = plain.info(&mut other).await.unwrap();
    assert_eq!(info.current_version.as_deref(), Some("1"));
    other.close().await.unwrap();
}

/// Dropping a running migrate future cancels the server's statement; the `Database` then refuses
/// further runs (its connection may hold the transaction and the lock), and once it is dropped
/// another connection migrates without waiting.
#[tokio::test]
async fn a_dropped_run_cancels_its_statement_and_poisons_its_database() {
    let server = TestDb::on_server(Kind::Postgres);
    let set = text_set(&[
        ("V1__a.sql", "CREATE TABLE a (i INT);\n"),
        ("V2__slow.sql", "SELECT pg_sleep(60);\n"),
    ]);
    let migrator = Migrator::new(set);
    let mut db = Database::connect(&server.url).await.unwrap();
    // The run is dropped once its sleep runs on the server.
    let dropped = tokio::select! {
        finished = migrator.migrate(&mut db) => Ok(finished),
        () = running_on_server(&server.url, "pg_sleep(60)") => Err(()),
    };
    assert!(dropped.is_err(), "the run should still be sleeping");
    let err = migrator.migrate(&mut db).await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused { message, .. } if message.contains("dropped while it ran")),
        "{err:?}"
    );
    drop(db);
    // The cancel runs on a spawned task; the server then ends the sleep and, with the
    // connection closed, rolls back and releases the lock. Allow it a generous while.
    let mut other = Database::connect(&server.url).await.unwrap();
    let patient = Migrator::new(text_set(&[
        ("V1__a.sql", "CREATE TABLE a (i INT);\n"),
        ("V2__slow.sql", "SELECT 1;\n"),
    ]))
    .with_config({
        let mut config = godwit::Config::default();
        config.lock_timeout = std::time::Duration::from_secs(30);
        config
    });
    let started = std::time::Instant::now();
    // V1 was committed before the drop; V2 never was (its text changed since, which is fine):
    // the run applies the new V2.
    let report = patient.migrate(&mut other).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(report.final_version.as_deref(), Some("2"));
    other.close().await.unwrap();
}

/// A migration still holding `godwit new`'s template is refused before anything runs, for a
/// library user too; one with no statement that did not come from the template runs, and the
/// observer hears of it.
#[tokio::test]
async fn a_template_is_refused_and_a_migration_without_statements_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let template = "-- godwit:template\n-- add email\n-- Write the SQL below.\n";
    let migrator = Migrator::new(text_set(&[
        ("V1__create.sql", "CREATE TABLE person (id INTEGER);"),
        ("V2__add_email.sql", template),
    ]));
    let mut db = Database::connect(&url).await.unwrap();
    let err = migrator.migrate(&mut db).await.unwrap_err();
    let Error::Files(problems) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(problems[0].paths, ["V2__add_email.sql"], "{problems:?}");
    assert!(problems[0].message.contains("still the template"), "{err}");
    assert!(migrator.validate(&mut db).await.is_err());
    db.close().await.unwrap();
    // Nothing was written: not even the history table.
    if dir.path().join("app.db").exists() {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(tables, 0);
        c.close().await.unwrap();
    }

    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = Arc::clone(&seen);
    let migrator = Migrator::new(text_set(&[
        ("V1__create.sql", "CREATE TABLE person (id INTEGER);"),
        ("V2__nothing_here.sql", "-- nothing to do on SQLite\n"),
    ]))
    .with_observer(Arc::new(move |event: &godwit::Event| {
        if let godwit::Event::NoStatements { migration, path } = event {
            heard.lock().unwrap().push(format!("{migration} {path}"));
        }
    }));
    let mut db = Database::connect(&url).await.unwrap();
    let report = migrator.migrate(&mut db).await.unwrap();
    db.close().await.unwrap();
    assert_eq!(report.migrations, 2);
    assert_eq!(report.steps[1].statements, 0);
    assert_eq!(
        *seen.lock().unwrap(),
        ["V2 V2__nothing_here.sql".to_string()]
    );
}

/// An older image whose migrations stop below a breaking version does not start
/// (`auto_migrate` refuses, docs/design.md §22), and rolls the database back itself with the
/// undo scripts the newer image stored (§21), after which it starts.
#[tokio::test]
async fn an_older_image_below_the_floor_refuses_then_goes_down_with_stored_scripts() {
    if std::env::var_os(godwit::AUTO_MIGRATE_VAR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let v1 = [
        ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
        ("U1__a.sql", "DROP TABLE a;\n"),
    ];
    let mut newer_files = v1.to_vec();
    newer_files.extend([
        (
            "V2__b.sql",
            "-- godwit:breaking\nCREATE TABLE b (id INT);\n",
        ),
        ("U2__b.sql", "DROP TABLE b;\n"),
    ]);
    let newer = Migrator::new(text_set(&newer_files));
    let report = godwit::auto_migrate(url.as_str(), &newer).await.unwrap();
    assert_eq!(report.map(|r| r.migrations), Some(2));

    let older = Migrator::new(text_set(&v1));
    let err = godwit::auto_migrate(url.as_str(), &older)
        .await
        .expect_err("below the floor");
    assert!(
        matches!(&err, Error::Plan(godwit::PlanError::BelowFloor { floor, .. }) if floor.as_str() == "2"),
        "{err}"
    );
    assert_eq!(err.category(), godwit::Category::Failed);

    let mut db = Database::connect(&url).await.unwrap();
    let info = older.info(&mut db).await.unwrap();
    assert_eq!(info.floor.as_deref(), Some("2"));
    assert_eq!(info.migrations[1].undo, godwit::UndoSource::Stored);
    let down = older
        .undo(&mut db, Some(godwit::Version::parse("1").unwrap()))
        .await
        .unwrap();
    assert_eq!(down.final_version.as_deref(), Some("1"));
    let again = godwit::auto_migrate(&mut db, &older).await.unwrap();
    assert_eq!(again.map(|r| r.migrations), Some(0));
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE name = 'b'")
        .fetch_all(&mut sqlx::SqliteConnection::connect(&url).await.unwrap())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    assert!(tables.is_empty(), "{tables:?}");
    db.close().await.unwrap();
}

/// `auto_migrate` with the default configuration on a database Flyway has been migrating: it
/// continues in `flyway_schema_history`, reports that through the observer, and creates no
/// second history table (docs/design.md §2.8).
#[tokio::test]
async fn auto_migrate_continues_a_flyway_history() {
    if std::env::var_os(godwit::AUTO_MIGRATE_VAR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let v1 = "CREATE TABLE a (id INT);\n";
    {
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        // Flyway's DDL for SQLite, and the row it writes for V1.
        let setup = format!(
            "CREATE TABLE a (id INT);
             CREATE TABLE \"main\".\"flyway_schema_history\" (\"installed_rank\" INT NOT NULL PRIMARY KEY, \"version\" VARCHAR(50), \"description\" VARCHAR(200) NOT NULL, \"type\" VARCHAR(20) NOT NULL, \"script\" VARCHAR(1000) NOT NULL, \"checksum\" INT, \"installed_by\" VARCHAR(100) NOT NULL, \"installed_on\" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), \"execution_time\" INT NOT NULL, \"success\" BOOLEAN NOT NULL);
             CREATE INDEX \"main\".\"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\");
             INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (1, '1', 'a', 'SQL', 'V1__a.sql', {}, '', 3, 1);",
            godwit::checksum_str(v1)
        );
        sqlx::raw_sql(&setup).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    let found = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&found);
    let migrator = Migrator::new(text_set(&[
        ("V1__a.sql", v1),
        ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
    ]))
    .with_observer(Arc::new(move |e: &godwit::Event| {
        if let godwit::Event::FoundHistory { table, .. } = e {
            assert_eq!(table, "flyway_schema_history");
            seen.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let report = godwit::auto_migrate(url.as_str(), &migrator)
        .await
        .unwrap()
        .expect("auto-migrate is on");
    assert_eq!(report.migrations, 1);
    assert_eq!(found.load(Ordering::SeqCst), 1);
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert_eq!(tables, ["a", "b", "flyway_schema_history"]);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM flyway_schema_history")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    c.close().await.unwrap();
}

/// The JDBC form of a test database's URL: `jdbc:sqlite:<path>`, or the server URL with the user
/// (and any password) as JDBC parameters.
fn jdbc_form(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return format!("jdbc:sqlite:{path}");
    }
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, hostpath) = rest.rsplit_once('@').unwrap_or(("", rest));
    let sub = if scheme.starts_with("postgres") {
        "postgresql"
    } else {
        "mariadb"
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut jdbc = format!("jdbc:{sub}://{hostpath}?user={user}");
    if !password.is_empty() {
        jdbc.push_str(&format!("&password={password}"));
    }
    jdbc
}

/// A JDBC URL, as Flyway projects write them, connects as godwit's own form does, on every
/// database; a JDBC parameter without a counterpart is refused by name, never showing the
/// password (docs/flyway.md, JDBC URLs).
#[tokio::test]
async fn jdbc_urls_connect_on_every_database() {
    let dir = tempfile::tempdir().unwrap();
    for kind in [Kind::Sqlite, Kind::Postgres, Kind::MySql] {
        let test_db = match kind {
            Kind::Sqlite => TestDb::existing(kind, sqlite_url(&dir), "app"),
            _ => TestDb::on_server(kind),
        };
        let jdbc = jdbc_form(&test_db.url);
        let mut db = Database::connect(&jdbc)
            .await
            .unwrap_or_else(|e| panic!("{jdbc}: {e}"));
        let report = Migrator::embedded(&EMBEDDED)
            .unwrap()
            .migrate(&mut db)
            .await
            .unwrap();
        assert_eq!(report.migrations, 2, "{kind:?}");
        db.close().await.unwrap();
    }
    let Err(err) = Database::connect(
        "jdbc:postgresql://127.0.0.1/x?user=u&password=Secr3tPw&prepareThreshold=0",
    )
    .await
    else {
        panic!("a JDBC parameter without a counterpart was accepted");
    };
    let text = err.to_string();
    assert!(text.contains("`prepareThreshold`"), "{text}");
    assert!(!text.contains("Secr3tPw"), "{text}");
}

/// A pre-run check sees the migrations the run would apply (not the applied ones, not the
/// callbacks), is not called when nothing is pending, and its error stops the run before
/// anything is written (docs/library.md, "Checking a run before it writes").
#[tokio::test]
async fn a_pre_run_check_sees_the_plan_and_can_stop_it() {
    if std::env::var_os(godwit::AUTO_MIGRATE_VAR).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let files = [
        ("V1__a.sql", "CREATE TABLE a (id INT);\n"),
        ("beforeMigrate.sql", "SELECT 1;\n"),
    ];
    let mut db = Database::connect(&url).await.unwrap();
    Migrator::new(text_set(&files))
        .migrate(&mut db)
        .await
        .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (seen2, calls2) = (Arc::clone(&seen), Arc::clone(&calls));
    let mut more = files.to_vec();
    more.extend([
        ("V2__b.sql", "CREATE TABLE b (id INT);\n"),
        (
            "R__v.sql",
            "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT 1 AS x;\n",
        ),
    ]);
    let check: godwit::PreRunCheck = Arc::new(move |migrations| {
        calls2.fetch_add(1, Ordering::SeqCst);
        *seen2.lock().unwrap() = migrations.iter().map(|m| m.script.clone()).collect();
        Err(Error::Refused {
            message: "not today".into(),
            hint: "later".into(),
        })
    });
    let migrator = Migrator::new(text_set(&more)).with_pre_run_check(check);
    let err = migrator
        .migrate(&mut db)
        .await
        .expect_err("the check stops it");
    assert!(err.to_string().contains("not today"), "{err}");
    assert_eq!(*seen.lock().unwrap(), ["V2__b.sql", "R__v.sql"]);
    let info = migrator.info(&mut db).await.unwrap();
    assert_eq!(
        info.current_version.as_deref(),
        Some("1"),
        "nothing written"
    );
    // Nothing pending: not called.
    let before = calls.load(Ordering::SeqCst);
    let done = Migrator::new(text_set(&files))
        .with_pre_run_check(Arc::new(|_| panic!("called with nothing pending")));
    done.migrate(&mut db).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), before);
    db.close().await.unwrap();
}

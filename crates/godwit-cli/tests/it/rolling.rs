//! The rolling upgrade godwit exists for (docs/rolling-upgrades.md): version 1 of the schema is
//! live and an old node keeps inserting rows the old way, through its own connection, for the
//! whole test; the new release expands the schema and runs its data migration while it writes;
//! an old node restarting meanwhile starts normally; the next `migrate` brings every row, old
//! and new, into the new shape; a later release contracts. Nothing lost, no writer error.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(old_writers_keep_writing_through_expand_migrate_data_contract);

/// What the old node's writer thread shares with the test.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Rows inserted (each insert commits on its own).
    written: AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// An old node: inserts `orders` rows the way release 1 does, until stopped.
struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Inserts one row after another until told to stop, counting rows and errors.
macro_rules! write_loop {
    ($conn:expr, $sql:expr, $shared:expr) => {{
        let mut amount: i32 = 0;
        while !$shared.stop.load(Ordering::SeqCst) {
            amount += 1;
            match sqlx::query($sql).bind(amount).execute(&mut $conn).await {
                Ok(_) => {
                    $shared.written.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => $shared
                    .errors
                    .lock()
                    .expect("errors")
                    .push(format!("insert {amount}: {e}")),
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }};
}

impl Writer {
    fn start(kind: Kind, url: &str) -> Writer {
        let shared = Arc::new(Shared::default());
        let url = url.to_string();
        let inner = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let connected = match kind {
                    Kind::Postgres => match sqlx::PgConnection::connect(&url).await {
                        Ok(mut c) => {
                            write_loop!(c, "INSERT INTO orders (amount_cents) VALUES ($1)", inner);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    Kind::MySql => match sqlx::MySqlConnection::connect(&url).await {
                        Ok(mut c) => {
                            write_loop!(c, "INSERT INTO orders (amount_cents) VALUES (?)", inner);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    // SQLite has one writer at a time: the old node waits for godwit's write
                    // lock in its busy handler, as it would for any other writer.
                    Kind::Sqlite => {
                        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                            .map(|o| o.busy_timeout(Duration::from_secs(30)));
                        match options {
                            Ok(o) => match o.connect().await {
                                Ok(mut c) => {
                                    write_loop!(
                                        c,
                                        "INSERT INTO orders (amount_cents) VALUES (?)",
                                        inner
                                    );
                                    Ok(())
                                }
                                Err(e) => Err(e),
                            },
                            Err(e) => Err(e),
                        }
                    }
                };
                if let Err(e) = connected {
                    inner
                        .errors
                        .lock()
                        .expect("errors")
                        .push(format!("connect: {e}"));
                }
            });
        });
        Writer {
            shared,
            thread: Some(thread),
        }
    }

    fn written(&self) -> u64 {
        self.shared.written.load(Ordering::SeqCst)
    }

    /// Waits until `n` more rows were written than `from`.
    #[track_caller]
    fn wait_for_rows(&self, from: u64, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.written() < from + n {
            let errors = self.shared.errors.lock().expect("errors").clone();
            assert!(errors.is_empty(), "the old writer failed: {errors:?}");
            assert!(
                Instant::now() < deadline,
                "the old writer wrote {} rows in 30s, expected {}",
                self.written(),
                from + n
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the writer and returns how many rows it wrote and every error it saw.
    fn stop(mut self) -> (u64, Vec<String>) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("writer thread");
        }
        let errors = self.shared.errors.lock().expect("errors").clone();
        (self.written(), errors)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn count(p: &Project, filter: &str) -> u64 {
    p.db.query(&format!("SELECT COUNT(*) FROM orders {filter}"))[0]
        .as_deref()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

fn old_writers_keep_writing_through_expand_migrate_data_contract(kind: Kind) {
    let p = Project::new(kind);
    let id = match kind {
        Kind::Postgres => "id SERIAL PRIMARY KEY",
        Kind::MySql => "id INT AUTO_INCREMENT PRIMARY KEY",
        Kind::Sqlite => "id INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    let v1 = format!("CREATE TABLE orders (\n    {id},\n    amount_cents INT NOT NULL\n);\n");

    // Release 1 is live, and its nodes write orders.
    p.migration("V1__create_orders.sql", &v1);
    p.godwit(&["migrate"]).success();
    // An old node keeps the files of release 1 (here: its own location).
    p.file("release1/V1__create_orders.sql", &v1);
    let writer = Writer::start(kind, &p.db.url);
    writer.wait_for_rows(0, 30);

    // Release 2: expand (a nullable column old writers can ignore) and migrate the data.
    p.migration(
        "V2__add_currency.sql",
        "ALTER TABLE orders ADD COLUMN currency VARCHAR(3);\n",
    )
    .migration(
        "D2__backfill_currency.sql",
        "UPDATE orders SET currency = 'EUR' WHERE currency IS NULL;\n",
    );
    // The first node of release 2 starts and migrates while the old node writes.
    let before_migrate = writer.written();
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V2 add currency")
        .stderr_has("Ran D2 backfill currency")
        .stderr_has("database now at version 2");
    let after_migrate = writer.written();
    assert!(
        after_migrate > before_migrate,
        "the old node wrote during the migrate"
    );
    writer.wait_for_rows(after_migrate, 30);
    // The backfill covered the rows that existed; the old node's newer rows are in the old
    // shape, as expected during the roll-out.
    assert!(count(&p, "WHERE currency = 'EUR'") > 0);
    assert!(count(&p, "WHERE currency IS NULL") > 0);

    // An old node restarts during the roll-out: version 2 is Future to it, and it starts.
    p.godwit(&["migrate", "--locations", "release1"])
        .success()
        .stderr_has("up to date at version 2");
    p.godwit(&["validate", "--locations", "release1"]).success();
    p.godwit(&["info", "--locations", "release1"])
        .success()
        .stdout_has("Future");
    let restarted = writer.written();
    writer.wait_for_rows(restarted, 10);

    // The roll-out ends: the last old node stops, never having seen an error.
    let (written, errors) = writer.stop();
    assert!(errors.is_empty(), "the old writer failed: {errors:?}");
    // The next node of release 2 starts: its migrate finishes the data migration.
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran D2 backfill currency")
        .stderr_has("up to date at version 2");
    assert_eq!(count(&p, ""), written, "every row written is there");
    assert_eq!(
        count(&p, "WHERE amount_cents BETWEEN 1 AND 1000000000"),
        written
    );
    assert_eq!(count(&p, "WHERE currency IS NULL"), 0);
    assert_eq!(count(&p, "WHERE currency = 'EUR'"), written);

    // Release 3, once no release-1 node is left: contract.
    let contract = match kind {
        Kind::Postgres => {
            "ALTER TABLE orders ALTER COLUMN currency SET DEFAULT 'EUR';\nALTER TABLE orders ALTER COLUMN currency SET NOT NULL;\n".to_string()
        }
        Kind::MySql => {
            "ALTER TABLE orders MODIFY currency VARCHAR(3) NOT NULL DEFAULT 'EUR';\n".to_string()
        }
        Kind::Sqlite => format!(
            "CREATE TABLE orders_new (\n    {id},\n    amount_cents INT NOT NULL,\n    currency VARCHAR(3) NOT NULL DEFAULT 'EUR'\n);\n\
             INSERT INTO orders_new (id, amount_cents, currency) SELECT id, amount_cents, currency FROM orders;\n\
             DROP TABLE orders;\n\
             ALTER TABLE orders_new RENAME TO orders;\n"
        ),
    };
    p.migration("V3__require_currency.sql", &contract);
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V3 require currency");
    assert_eq!(count(&p, ""), written);
    p.db.exec("INSERT INTO orders (amount_cents) VALUES (7)");
    assert_eq!(count(&p, "WHERE currency = 'EUR'"), written + 1);
    assert_eq!(
        p.db.history("godwit_schema_history"),
        [
            "1|create orders|SQL|true",
            "2|add currency|SQL|true",
            "3|require currency|SQL|true"
        ]
    );
}

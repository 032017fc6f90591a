//! The example service as an operator runs it: eight instances started at the same moment on
//! one fresh database all come up, and each migration is applied exactly once; with
//! `GODWIT_AUTO_MIGRATE=false` the database is left untouched. On a PostgreSQL and a MariaDB
//! database made for each test and dropped after it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use godwit_test_support::{Kind, TestDb};

const INSTANCES: usize = 8;

/// How long an instance may take to migrate and listen (eight of them share two cores).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The tables and views in the database.
fn tables(db: &TestDb) -> Vec<String> {
    let sql = match db.kind {
        Kind::MySql => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
        }
        _ => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        }
    };
    db.query(sql).into_iter().flatten().collect()
}

/// One running instance of the service; killed when dropped, so no test leaves one behind.
struct Instance {
    child: Child,
    /// `listening on <address>`, or what the instance said before it exited.
    started: mpsc::Receiver<Result<String, String>>,
    stderr: Option<JoinHandle<String>>,
    address: Option<String>,
}

impl Instance {
    fn start(url: &str, env: &[(&str, &str)]) -> Instance {
        let mut command = Command::new(env!("CARGO_BIN_EXE_example-service"));
        command
            .env("DATABASE_URL", url)
            .env("PORT", "0")
            .env_remove("GODWIT_AUTO_MIGRATE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start example-service");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, started) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = match lines.next() {
                Some(Ok(line)) => match line.strip_prefix("listening on ") {
                    Some(address) => Ok(address.to_string()),
                    None => Err(format!("unexpected first line: {line}")),
                },
                _ => Err("exited without listening".to_string()),
            };
            let _ = tx.send(first);
            // Keep draining so that the service never blocks on a full pipe.
            for _ in lines {}
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Instance {
            child,
            started,
            stderr: Some(stderr),
            address: None,
        }
    }

    /// Waits for `listening on`, failing with what the instance logged.
    fn wait_listening(&mut self, deadline: Instant) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.started.recv_timeout(left) {
            Ok(Ok(address)) => {
                self.address = Some(address.clone());
                address
            }
            Ok(Err(why)) => panic!("the instance did not start ({why}):\n{}", self.stop()),
            Err(_) => panic!(
                "the instance did not listen within {START_TIMEOUT:?}:\n{}",
                self.stop()
            ),
        }
    }

    /// Polls `/readyz` until it answers 200, failing with its last answer and the log.
    fn wait_ready(&mut self, deadline: Instant) {
        loop {
            let (status, body) = self.request("GET", "/readyz", None);
            if status == 200 {
                assert_eq!(body, "ready\n");
                return;
            }
            assert_eq!(status, 503, "{body}");
            if Instant::now() > deadline {
                panic!(
                    "not ready within {START_TIMEOUT:?}: {body}\n{}",
                    self.stop()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the instance and returns everything it logged.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Sends one HTTP/1.1 request and returns the status code and body.
    fn request(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let address = self.address.as_deref().expect("the instance is listening");
        let mut stream = TcpStream::connect(address).expect("connect to the instance");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let body = body.unwrap_or("");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("a response");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the history holds: version (or empty), description, type — in rank order.
fn history(db: &TestDb) -> Vec<(String, String, String)> {
    let sql = "SELECT COALESCE(version, ''), description, type FROM godwit_schema_history ORDER BY installed_rank";
    db.rows(sql)
        .into_iter()
        .map(|r| {
            let mut r = r.into_iter().map(Option::unwrap_or_default);
            (
                r.next().unwrap_or_default(),
                r.next().unwrap_or_default(),
                r.next().unwrap_or_default(),
            )
        })
        .collect()
}

fn eight_instances_start_at_once_and_migrate_once(server: Kind) {
    let db = TestDb::on_server(server);
    let mut instances: Vec<Instance> = (0..INSTANCES)
        .map(|_| Instance::start(&db.url, &[]))
        .collect();
    let deadline = Instant::now() + START_TIMEOUT;
    for instance in &mut instances {
        instance.wait_listening(deadline);
    }
    for instance in &mut instances {
        instance.wait_ready(deadline);
    }
    for instance in &instances {
        let (status, body) = instance.request("GET", "/health", None);
        assert_eq!((status, body.as_str()), (200, "ok\n"));
    }

    // Each migration exactly once, in order; the data migration (D2) is never recorded.
    let expected = [
        ("1", "create notes", "SQL"),
        ("2", "add title", "SQL"),
        ("3", "add slug", "SQL"),
        ("3.1", "backfill slugs", "RUST"),
        ("", "note titles", "SQL"),
    ];
    let rows = history(&db);
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(v, d, t)| (v.as_str(), d.as_str(), t.as_str()))
        .collect();
    assert_eq!(rows, expected);

    // The instances serve the migrated table: a note written through one is read through
    // another, with the slug the service computes.
    let (status, created) = instances[0].request(
        "POST",
        "/notes",
        Some(r#"{"title": "Hello, World!", "body": "first"}"#),
    );
    assert_eq!(status, 201, "{created}");
    let (status, listed) = instances[INSTANCES - 1].request("GET", "/notes", None);
    assert_eq!(status, 200, "{listed}");
    assert!(listed.contains(r#""slug":"hello-world""#), "{listed}");

    // One instance applied everything; the others waited for the lock and found nothing to do.
    let logs: Vec<String> = instances.iter_mut().map(Instance::stop).collect();
    for label in ["V1", "V2", "V3", "V3.1", "R__note_titles"] {
        let appliers = logs
            .iter()
            .filter(|log| log.contains(&format!("applied {label} (")))
            .count();
        assert_eq!(
            appliers, 1,
            "{label} applied by {appliers} instances:\n{logs:#?}"
        );
    }
    // The data migration runs on every migrate: once per instance.
    let data_runs = logs
        .iter()
        .filter(|log| log.contains("applied D2 ("))
        .count();
    assert_eq!(data_runs, INSTANCES, "{logs:#?}");
}

#[test]
fn eight_instances_on_postgres() {
    eight_instances_start_at_once_and_migrate_once(Kind::Postgres);
}

#[test]
fn eight_instances_on_mariadb() {
    eight_instances_start_at_once_and_migrate_once(Kind::MySql);
}

#[test]
fn auto_migrate_false_leaves_the_database_untouched() {
    let db = TestDb::on_server(Kind::Postgres);
    let mut instance = Instance::start(&db.url, &[("GODWIT_AUTO_MIGRATE", "false")]);
    instance.wait_listening(Instant::now() + START_TIMEOUT);
    let (status, body) = instance.request("GET", "/health", None);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // Migrating is the operator's job: the instance is ready as far as godwit is concerned.
    instance.wait_ready(Instant::now() + START_TIMEOUT);
    // Nothing to serve until the operator migrates.
    let (status, _) = instance.request("GET", "/notes", None);
    assert_eq!(status, 500);
    let log = instance.stop();
    assert!(
        log.contains("GODWIT_AUTO_MIGRATE=false: not migrating"),
        "{log}"
    );
    assert!(!log.contains("applied"), "{log}");
    assert_eq!(tables(&db), Vec::<String>::new());
}

#[test]
fn a_bad_auto_migrate_value_stops_the_service_before_it_migrates() {
    let db = TestDb::on_server(Kind::Postgres);
    let mut instance = Instance::start(&db.url, &[("GODWIT_AUTO_MIGRATE", "flase")]);
    let started = instance
        .started
        .recv_timeout(START_TIMEOUT)
        .expect("the instance ends");
    assert!(started.is_err(), "it must not listen: {started:?}");
    let status = instance.child.wait().expect("the instance exits");
    assert!(!status.success());
    let log = instance.stop();
    assert!(
        log.contains("GODWIT_AUTO_MIGRATE=\"flase\" is not a boolean"),
        "{log}"
    );
    assert_eq!(tables(&db), Vec::<String>::new());
}

/// An event trigger on the test database that runs `body` (PL/pgSQL) after `CREATE TABLE notes`:
/// it makes the service's V1 slow, or fail, without changing the service's migrations. (In a
/// schema of its own: godwit refuses to migrate a `public` schema that holds objects already.)
fn on_create_notes(db: &TestDb, body: &str) {
    db.exec(&format!(
        "CREATE SCHEMA probes;
         CREATE FUNCTION probes.on_create_notes() RETURNS event_trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()
                      WHERE object_identity = 'public.notes') THEN
             {body}
           END IF;
         END $$;
         CREATE EVENT TRIGGER on_create_notes ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
           EXECUTE FUNCTION probes.on_create_notes();"
    ));
}

#[test]
fn readyz_is_503_while_a_slow_migration_runs_and_200_after() {
    let db = TestDb::on_server(Kind::Postgres);
    on_create_notes(&db, "PERFORM pg_sleep(3);");
    let mut instance = Instance::start(&db.url, &[]);
    instance.wait_listening(Instant::now() + START_TIMEOUT);

    // Listening before migrating: not ready, but alive.
    let (status, body) = instance.request("GET", "/readyz", None);
    assert_eq!(status, 503, "{body}");
    // V1 sleeps for 3 s: /readyz says so, /livez stays 200 throughout.
    let deadline = Instant::now() + START_TIMEOUT;
    let mut seen_v1 = false;
    loop {
        let (live, live_body) = instance.request("GET", "/livez", None);
        assert_eq!((live, live_body.as_str()), (200, "alive\n"));
        let (status, body) = instance.request("GET", "/readyz", None);
        if status == 200 {
            assert_eq!(body, "ready\n");
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(!body.starts_with("migration failed"), "{body}");
        if body.starts_with("migrating: step 1 of ") && body.contains("(V1)") {
            seen_v1 = true;
        }
        assert!(
            Instant::now() < deadline,
            "not ready within {START_TIMEOUT:?}: {body}\n{}",
            instance.stop()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(seen_v1, "/readyz never said it was running V1");
    // Ready means migrated: every migration is recorded and the table serves.
    assert_eq!(history(&db).len(), 5, "{:?}", history(&db));
    let (status, listed) = instance.request("GET", "/notes", None);
    assert_eq!((status, listed.as_str()), (200, "[]"));
    let (status, _) = instance.request("GET", "/livez", None);
    assert_eq!(status, 200);
    let log = instance.stop();
    assert!(log.contains("applied V1 (create notes)"), "{log}");
}

#[test]
fn readyz_is_503_with_the_error_when_the_migration_fails() {
    let db = TestDb::on_server(Kind::Postgres);
    on_create_notes(&db, "RAISE EXCEPTION 'no notes on this database';");
    let mut instance = Instance::start(&db.url, &[]);
    instance.wait_listening(Instant::now() + START_TIMEOUT);
    let deadline = Instant::now() + START_TIMEOUT;
    let body = loop {
        let (status, body) = instance.request("GET", "/readyz", None);
        assert_eq!(status, 503, "{body}");
        if body.starts_with("migration failed: ") {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never reported the failure: {body}\n{}",
            instance.stop()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(body.contains("V1"), "{body}");
    assert!(body.contains("no notes on this database"), "{body}");
    // Still alive (restarting would not fix it), and still not ready.
    let (status, _) = instance.request("GET", "/livez", None);
    assert_eq!(status, 200);
    let (status, _) = instance.request("GET", "/readyz", None);
    assert_eq!(status, 503);
    let log = instance.stop();
    assert!(log.contains("migrating failed"), "{log}");
}

//! MariaDB Galera (issue 19): a private 3-node cluster on this machine, started by the test.
//!
//! `GET_LOCK` is local to one Galera node, so migrators reaching the cluster through different
//! nodes need a lock that the cluster certifies: godwit detects `wsrep_on` and takes a lease row
//! instead. The cluster is Debian's `galera-4` provider with three `mariadbd` processes, each
//! with its own data directory (from `mariadb-install-db`), `--defaults-file`, temporary
//! directory, socket and free loopback ports (SQL, group communication, IST, SST); the first
//! bootstraps the cluster (`--wsrep-new-cluster`), the others join it by rsync SST. When the
//! tests run as root the servers run as the `mysql` user (the joiner's rsync daemon would
//! otherwise switch to `nobody`, who cannot write the data directory). Dropping the cluster
//! kills the servers and removes their files. The shared server on 3306 is never touched.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, Row};

use godwit_test_support::{Kind, Project, Run, TestDb};

/// How long the whole cluster may take to come up (three nodes, two state transfers).
const START_LIMIT: Duration = Duration::from_secs(90);

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `n` different loopback ports nobody listens on right now (all bound at once, so that none
/// comes back twice).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The Galera provider library that `galera-4` installs.
fn provider() -> PathBuf {
    [
        "/usr/lib/galera/libgalera_smm.so",
        "/usr/lib/libgalera_smm.so",
        "/usr/lib64/galera-4/libgalera_smm.so",
        "/usr/lib64/galera/libgalera_smm.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("no libgalera_smm.so: install galera-4 and rsync (scripts/test does)")
}

fn server_binary() -> PathBuf {
    ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("mariadbd"))
}

/// One node: its directory (data, defaults file, log, socket, tmpdir) and its SQL port.
struct Node {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Node {
    fn log(&self) -> PathBuf {
        self.dir.join("error.log")
    }

    fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// The node's `wsrep_local_state_comment` (`Synced` once it has joined), if it answers.
    fn state(&self) -> Option<String> {
        let url = self.url("mysql");
        runtime().block_on(async {
            let mut c = sqlx::MySqlConnection::connect(&url).await.ok()?;
            let rows = sqlx::raw_sql("SHOW STATUS LIKE 'wsrep_local_state_comment'")
                .fetch_all(&mut c)
                .await
                .ok()?;
            let _ = c.close().await;
            rows.first()?.try_get::<String, _>(1).ok()
        })
    }

    /// Kills the server and everything it started (SST scripts, rsync), as a crash would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-9", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A private Galera cluster of three nodes; `root` logs in over TCP with an empty password.
pub struct Galera {
    root: tempfile::TempDir,
    nodes: Vec<Node>,
}

impl Galera {
    /// Creates three data directories and starts the cluster; tries again on other ports when
    /// it does not come up (another process may take a port between picking and binding it).
    pub fn start() -> Galera {
        let mut last = String::new();
        for _ in 0..3 {
            match Galera::try_start() {
                Ok(cluster) => return cluster,
                Err(why) => last = why,
            }
        }
        panic!("the private Galera cluster did not start:\n{last}");
    }

    fn try_start() -> Result<Galera, String> {
        let root = tempfile::Builder::new()
            .prefix("godwit-galera-")
            .tempdir()
            .expect("tempdir");
        let as_mysql = is_root();
        let provider = provider();
        // Four ports per node: SQL, group communication, IST and SST.
        let ports: Vec<[u16; 4]> = free_ports(12)
            .chunks(4)
            .map(|p| [p[0], p[1], p[2], p[3]])
            .collect();
        let gcomm = ports
            .iter()
            .map(|p| format!("127.0.0.1:{}", p[1]))
            .collect::<Vec<_>>()
            .join(",");
        // One `mariadb-install-db`, copied: the joiners' data is replaced by the state
        // transfer anyway, and installing takes a few seconds each.
        let first = root.path().join("node0");
        std::fs::create_dir_all(&first).expect("create node directory");
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", first.join("data").display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if as_mysql {
            install.arg("--user=mysql");
        }
        let out = install
            .output()
            .expect("run mariadb-install-db (install mariadb-server; scripts/test does)");
        if !out.status.success() {
            return Err(format!(
                "mariadb-install-db failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut nodes = Vec::new();
        for (i, p) in ports.iter().enumerate() {
            let dir = root.path().join(format!("node{i}"));
            if i > 0 {
                let ok = Command::new("cp")
                    .arg("-a")
                    .arg(&first)
                    .arg(&dir)
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "cannot copy the data directory to {}", dir.display());
            }
            std::fs::create_dir_all(dir.join("tmp")).expect("create the node's tmpdir");
            let d = dir.display();
            let user = if as_mysql { "user=mysql\n" } else { "" };
            let cnf = format!(
                "[mysqld]\n{user}datadir={d}/data\nport={sql}\nsocket={d}/mysqld.sock\n\
                 pid-file={d}/mysqld.pid\nlog-error={d}/error.log\ntmpdir={d}/tmp\n\
                 bind-address=127.0.0.1\nskip-name-resolve\nmax-connections=200\n\
                 innodb_buffer_pool_size=32M\ninnodb_log_file_size=16M\n\
                 innodb_flush_log_at_trx_commit=2\nbinlog_format=ROW\n\
                 default_storage_engine=InnoDB\ninnodb_autoinc_lock_mode=2\n\
                 wsrep_on=ON\nwsrep_provider={provider}\nwsrep_cluster_name=godwit_test\n\
                 wsrep_cluster_address=gcomm://{gcomm}\nwsrep_node_name=node{i}\n\
                 wsrep_node_address=127.0.0.1:{group}\n\
                 wsrep_provider_options=\"gmcast.listen_addr=tcp://127.0.0.1:{group};\
                 ist.recv_addr=127.0.0.1:{ist};gcache.size=16M\"\n\
                 wsrep_sst_method=rsync\nwsrep_sst_receive_address=127.0.0.1:{sst}\n",
                sql = p[0],
                group = p[1],
                ist = p[2],
                sst = p[3],
                provider = provider.display(),
            );
            std::fs::write(dir.join("my.cnf"), cnf).expect("write my.cnf");
            nodes.push(Node {
                dir,
                port: p[0],
                child: None,
            });
        }
        if as_mysql {
            let ok = Command::new("chown")
                .args(["-R", "mysql:mysql"])
                .arg(root.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "cannot give {} to the mysql user",
                root.path().display()
            );
        }
        let mut cluster = Galera { root, nodes };
        let started = Instant::now();
        cluster.launch(0, true);
        cluster.wait_synced(&[0], started)?;
        cluster.launch(1, false);
        cluster.launch(2, false);
        cluster.wait_synced(&[0, 1, 2], started)?;
        Ok(cluster)
    }

    fn launch(&mut self, i: usize, bootstrap: bool) {
        use std::os::unix::process::CommandExt as _;
        let node = &mut self.nodes[i];
        let mut cmd = Command::new(server_binary());
        cmd.arg(format!(
            "--defaults-file={}",
            node.dir.join("my.cnf").display()
        ));
        if bootstrap {
            cmd.arg("--wsrep-new-cluster");
        }
        // Its own process group, so that the state transfer's scripts die with it.
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        node.child = Some(cmd.spawn().expect("run mariadbd"));
    }

    /// Waits until the nodes are `Synced`, failing (with their logs) past [`START_LIMIT`].
    fn wait_synced(&mut self, which: &[usize], started: Instant) -> Result<(), String> {
        loop {
            let mut all = true;
            for &i in which {
                let node = &mut self.nodes[i];
                if let Some(child) = node.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!(
                            "node {i} exited ({status}):\n{}",
                            tail(&node.log())
                        ));
                    }
                }
                if node.state().as_deref() != Some("Synced") {
                    all = false;
                }
            }
            if all {
                return Ok(());
            }
            if started.elapsed() > START_LIMIT {
                let logs: Vec<String> = which
                    .iter()
                    .map(|&i| format!("--- node {i} ---\n{}", tail(&self.nodes[i].log())))
                    .collect();
                return Err(format!(
                    "not synced within {START_LIMIT:?}:\n{}",
                    logs.join("\n")
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The URL of database `db` through node `i`.
    pub fn url(&self, i: usize, db: &str) -> String {
        self.nodes[i].url(db)
    }

    /// Runs statements on node `i`.
    pub fn exec(&self, i: usize, sql: &str) {
        let url = self.url(i, "mysql");
        runtime().block_on(async {
            let mut c = sqlx::MySqlConnection::connect(&url)
                .await
                .expect("connect to the Galera node");
            sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
        });
    }

    /// The first column of every row of a query on node `i`, as text, after the node has
    /// applied everything the cluster committed before it (`wsrep_sync_wait`).
    pub fn query(&self, i: usize, sql: &str) -> Vec<Option<String>> {
        let url = self.url(i, "mysql");
        let db = TestDb::existing(Kind::MySql, url, "mysql");
        db.query(&format!("SET SESSION wsrep_sync_wait = 15;\n{sql}"))
    }

    /// A fresh database, created through node 0 and there on every node when this returns.
    pub fn create_db(&self, name: &str) -> TestDb {
        self.exec(0, &format!("CREATE DATABASE {name}"));
        for i in 0..self.nodes.len() {
            let n = self.query(
                i,
                &format!(
                    "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
                ),
            );
            assert_eq!(n, [Some("1".into())], "database {name} on node {i}");
        }
        TestDb::existing(Kind::MySql, self.url(0, name), name)
    }
}

impl Drop for Galera {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        // The temporary directory (`self.root`) removes the files.
        let _ = &self.root;
    }
}

fn output(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait for godwit");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The migrations each round applies: DDL (replicated by total order isolation) and rows.
fn write_migrations(p: &Project, versions: usize) {
    p.migration(
        "V1__runs.sql",
        "CREATE TABLE runs (id INT AUTO_INCREMENT PRIMARY KEY, version INT NOT NULL);\n\
         INSERT INTO runs (version) VALUES (1);\n",
    );
    for v in 2..=versions {
        p.migration(
            &format!("V{v}__g{v}.sql"),
            &format!(
                "CREATE TABLE g{v} (id INT PRIMARY KEY, note VARCHAR(20));\n\
                 INSERT INTO g{v} VALUES (1, 'v{v}');\n\
                 INSERT INTO runs (version) VALUES ({v});\n"
            ),
        );
    }
    p.migration(
        "R__latest.sql",
        "CREATE OR REPLACE VIEW latest AS SELECT MAX(version) AS version FROM runs;\n",
    );
}

/// How long to wait for a statement to show up in a node's process list.
fn wait_for_statement(cluster: &Galera, node: usize, like: &str) {
    let started = Instant::now();
    loop {
        let n = cluster.query(
            node,
            &format!(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '{like}' \
                 AND id <> CONNECTION_ID()"
            ),
        );
        if n != [Some("0".into())] {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "`{like}` never ran on node {node}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Twelve migrators spread over the three nodes, on five fresh databases in a row: every one
/// exits 0 and each migration is applied exactly once. Then a lock holder killed -9 on one node
/// lets a migrator on another node in once its lease has expired; and a migration that loses a
/// certification conflict to a write on another node is reported as such.
#[test]
fn migrators_on_every_node_of_a_galera_cluster() {
    const MIGRATORS: usize = 12;
    const VERSIONS: usize = 8;
    // `GODWIT_GALERA_ROUNDS` runs more rounds, for a longer stress (e.g. 50).
    let rounds: usize = std::env::var("GODWIT_GALERA_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let cluster = Galera::start();

    for round in 0..rounds {
        let name = format!("galera_{}_{round}", std::process::id());
        let p = Project::with_db(cluster.create_db(&name));
        write_migrations(&p, VERSIONS);
        let children: Vec<_> = (0..MIGRATORS)
            .map(|i| {
                p.command(&["migrate"])
                    .env("GODWIT_URL", cluster.url(i % 3, &name))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn godwit")
            })
            .collect();
        let runs: Vec<Run> = children.into_iter().map(output).collect();
        for (i, run) in runs.iter().enumerate() {
            assert_eq!(
                run.code,
                0,
                "round {round}: migrator {i} (node {}) failed\n{run}",
                i % 3
            );
        }
        let count = |text: &str| runs.iter().filter(|r| r.stderr.contains(text)).count();
        assert_eq!(count("Successfully applied"), 1, "round {round}: {runs:#?}");
        assert_eq!(
            count("Database is up to date"),
            MIGRATORS - 1,
            "round {round}: {runs:#?}"
        );
        let mut expected: Vec<String> = vec!["1|runs|SQL|true".into()];
        expected.extend((2..=VERSIONS).map(|v| format!("{v}|g{v}|SQL|true")));
        expected.push("|latest|SQL|true".into());
        // Every node has the same history, each migration once.
        for node in 0..3 {
            let history = cluster.query(
                node,
                &format!(
                    "SELECT CONCAT(COALESCE(version, ''), '|', description, '|', type, '|', \
                     IF(success, 'true', 'false')) FROM {name}.godwit_schema_history \
                     ORDER BY installed_rank"
                ),
            );
            let history: Vec<String> = history.into_iter().flatten().collect();
            assert_eq!(history, expected, "round {round}, node {node}");
            let runs = cluster.query(
                node,
                &format!(
                    "SELECT CONCAT(COUNT(*), ' rows, ', COUNT(DISTINCT version), ' versions') \
                     FROM {name}.runs"
                ),
            );
            assert_eq!(
                runs,
                [Some(format!("{VERSIONS} rows, {VERSIONS} versions"))],
                "round {round}, node {node}"
            );
        }
        cluster.exec(0, &format!("DROP DATABASE {name}"));
    }

    // A holder killed -9 on node 0 while it holds the lock (in a callback, before any
    // migration row is written) stops renewing its lease; a migrator on node 1 waits for
    // the lease to expire, then migrates.
    let name = format!("galera_{}_kill", std::process::id());
    let p = Project::with_db(cluster.create_db(&name));
    p.migration("beforeMigrate.sql", "SELECT SLEEP(30);\n")
        .migration("V1__t.sql", "CREATE TABLE t (id INT PRIMARY KEY);\n");
    let mut holder = p
        .command(&["migrate"])
        .env("GODWIT_URL", cluster.url(0, &name))
        .env("GODWIT_LOCK_LEASE", "3s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn godwit");
    wait_for_statement(&cluster, 0, "SELECT SLEEP(30)%");
    // The lease row is the cluster's: node 2 sees it.
    assert_eq!(
        cluster.query(2, &format!("SELECT COUNT(*) FROM {name}.godwit_lease")),
        [Some("1".into())]
    );
    holder.kill().expect("kill -9");
    let _ = holder.wait();
    p.migration("beforeMigrate.sql", "SELECT 1;\n");
    let run = p.godwit_env(
        &["migrate", "--lock-timeout", "2m"],
        &[
            ("GODWIT_URL", cluster.url(1, &name).as_str()),
            ("GODWIT_LOCK_LEASE", "3s"),
        ],
    );
    run.success()
        .stderr_has("Waiting for another godwit process")
        .stderr_has("Applied V1 t");
    assert_eq!(
        cluster.query(
            2,
            &format!(
                "SELECT CONCAT(version, '|', IF(success, 'true', 'false')) \
                 FROM {name}.godwit_schema_history"
            )
        ),
        [Some("1|true".into())]
    );
    assert_eq!(
        cluster.query(2, &format!("SELECT COUNT(*) FROM {name}.godwit_lease")),
        [Some("0".into())]
    );

    // A migration whose row another node changes while it runs loses the certification
    // conflict: godwit says so, with what to do. Its UPDATE had run (the conflict ends its
    // transaction during the SLEEP), so it is recorded as failed, as any MySQL migration that
    // fails after one of its statements ran.
    cluster.exec(
        1,
        &format!("CREATE TABLE {name}.c (id INT PRIMARY KEY, v INT);\nINSERT INTO {name}.c VALUES (1, 0);"),
    );
    p.migration(
        "V2__bump.sql",
        "UPDATE c SET v = v + 1 WHERE id = 1;\nSELECT SLEEP(5);\n",
    );
    let migrator = p
        .command(&["migrate"])
        .env("GODWIT_URL", cluster.url(0, &name))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn godwit");
    wait_for_statement(&cluster, 0, "%SLEEP(5)%");
    cluster.exec(1, &format!("UPDATE {name}.c SET v = 100 WHERE id = 1"));
    let run = output(migrator);
    run.code(1)
        .stderr_has("error: migration V2 lost a certification conflict")
        .stderr_has("[1213 (40001)]")
        .stderr_has("hint: V2 lost a certification conflict: another node of the cluster committed a change to the same rows")
        .stderr_has("recorded as failed")
        .stderr_has("`godwit repair`");
    // The other node's write won; the migration's was rolled back.
    assert_eq!(
        cluster.query(2, &format!("SELECT v FROM {name}.c")),
        [Some("100".into())]
    );
    assert_eq!(
        cluster.query(
            2,
            &format!(
                "SELECT CONCAT(version, '|', IF(success, 'true', 'false')) \
                 FROM {name}.godwit_schema_history ORDER BY installed_rank"
            )
        ),
        [Some("1|true".into()), Some("2|false".into())]
    );
}

/// The lease lock on a plain MariaDB server, chosen by the setting (`lock_lease`): eight
/// migrators at once, each migration applied once; the lease table does not count as the
/// user's (the first run finds the database empty), and every lease is released.
#[test]
fn the_lease_lock_on_a_single_server() {
    const MIGRATORS: usize = 8;
    let p = Project::new(Kind::MySql);
    write_migrations(&p, 4);
    let children: Vec<_> = (0..MIGRATORS)
        .map(|_| {
            p.command(&["migrate"])
                .env("GODWIT_LOCK_LEASE", "5s")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn godwit")
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(output).collect();
    for run in &runs {
        run.success();
    }
    let count = |text: &str| runs.iter().filter(|r| r.stderr.contains(text)).count();
    assert_eq!(count("Successfully applied 5 migrations"), 1, "{runs:#?}");
    assert_eq!(count("Database is up to date"), MIGRATORS - 1, "{runs:#?}");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        [
            "1|runs|SQL|true",
            "2|g2|SQL|true",
            "3|g3|SQL|true",
            "4|g4|SQL|true",
            "|latest|SQL|true"
        ]
    );
    assert_eq!(
        p.db.query("SELECT COUNT(*) FROM godwit_lease"),
        [Some("0".into())]
    );
}

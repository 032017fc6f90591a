//! Servers a test owns, so that it can crash them, start them late or configure them: a private
//! PostgreSQL cluster (`initdb` + `pg_ctl` from the installed PostgreSQL), a private MariaDB
//! instance (`mariadb-install-db` + `mariadbd`, with its own `--tmpdir`), and a PgBouncer in
//! front of the shared PostgreSQL. Each has its files in a temporary directory and listens on a
//! free loopback port. The shared servers on 5432 and 3306 are never touched.
//!
//! When the tests run as root, PostgreSQL runs as the `postgres` OS user (`runuser`), which
//! then owns the temporary directory; MariaDB runs with `--user=root`; PgBouncer as `nobody`.
//! Dropping a server stops it and removes its files.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::{block_on, pg_admin_url};

/// How many times a server start is retried on another port (another process may take the
/// free port between the moment it is picked and the moment the server binds it).
const START_ATTEMPTS: usize = 5;

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    })
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Where `initdb` and `pg_ctl` are: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian).
fn pg_bindir() -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|dir| dir.join("initdb").exists());
    if let Some(dir) = from_pg_config {
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "no initdb: neither `pg_config --bindir` nor /usr/lib/postgresql/*/bin has one \
         (install postgresql; scripts/test does)",
    )
}

/// A PostgreSQL cluster of its own, with trust authentication for `postgres` over TCP.
///
/// Its WAL writer wakes up every 10 s (the maximum), so a commit that skipped its WAL flush
/// (`synchronous_commit = off`) is really lost when the server crashes soon after.
#[must_use = "the cluster is stopped and removed as soon as this value is dropped"]
pub struct PrivatePg {
    root: tempfile::TempDir,
    bindir: PathBuf,
    as_postgres: bool,
    port: u16,
    running: bool,
}

impl PrivatePg {
    /// Creates the cluster and starts it.
    pub fn start_new() -> PrivatePg {
        let mut pg = PrivatePg::create();
        pg.start();
        pg
    }

    /// Creates the cluster (`initdb`) without starting it; its port is chosen already, so that
    /// [`PrivatePg::url`] can be given to a client that waits for the server.
    pub fn create() -> PrivatePg {
        let bindir = pg_bindir();
        let root = tempfile::Builder::new()
            .prefix("godwit-private-pg-")
            .tempdir()
            .expect("tempdir");
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(root.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "cannot give {} to the postgres user",
                root.path().display()
            );
        }
        let pg = PrivatePg {
            root,
            bindir,
            as_postgres,
            port: free_port(),
            running: false,
        };
        let data = pg.data();
        let out = pg
            .tool("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed:\n{}",
            output_text(&out)
        );
        let conf = format!(
            "\n# godwit fault tests\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             wal_writer_delay = 10s\nfsync = on\nmax_connections = 80\nshared_buffers = 32MB\n\
             logging_collector = off\n",
            pg.root.path().display()
        );
        let conf_path = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).expect("read postgresql.conf");
        text.push_str(&conf);
        std::fs::write(&conf_path, text).expect("write postgresql.conf");
        pg
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// A command for one of PostgreSQL's programs, run as `postgres` when we are root.
    fn tool(&self, name: &str) -> Command {
        let path = self.bindir.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts the server (again), on its port if it is still free, else on another one.
    pub fn start(&mut self) {
        assert!(!self.running, "already running");
        let mut port = self.port;
        for _ in 0..START_ATTEMPTS {
            let out = self
                .tool("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .args(["-w", "-t", "120", "-o"])
                .arg(format!("-p {port}"))
                .arg("start")
                .stdin(Stdio::null())
                .output()
                .expect("run pg_ctl start");
            if out.status.success() {
                self.port = port;
                self.running = true;
                return;
            }
            port = free_port();
        }
        panic!(
            "the private PostgreSQL did not start:\n{}",
            tail(&self.log())
        );
    }

    /// Crashes the server: `pg_ctl stop -m immediate` (no checkpoint, no WAL flush).
    pub fn crash(&mut self) {
        let out = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop -m immediate failed:\n{}",
            output_text(&out)
        );
        self.running = false;
    }

    /// The URL of database `db` on this server.
    #[must_use]
    pub fn url(&self, db: &str) -> String {
        self.url_as("postgres", db)
    }

    /// The URL of database `db` on this server, logging in as `user`.
    #[must_use]
    pub fn url_as(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a database.
    pub fn create_db(&self, name: &str) {
        let url = self.url("postgres");
        block_on(|| async {
            let mut c = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to the private PostgreSQL");
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await
                .expect("CREATE DATABASE");
        });
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if self.running {
            let _ = self
                .tool("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
        // The temporary directory removes the files.
    }
}

/// A MariaDB server of its own; `root` logs in over TCP with an empty password.
#[must_use = "the server is stopped and removed as soon as this value is dropped"]
pub struct PrivateMaria {
    root: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// More server options (`--sql-mode=…`), given on every start.
    options: Vec<String>,
}

impl PrivateMaria {
    /// Creates the data directory and starts the server.
    pub fn start_new() -> PrivateMaria {
        PrivateMaria::start_with(&[])
    }

    /// Creates the data directory and starts the server with more options (such as
    /// `--sql-mode=…`, so that every session has that mode without touching the shared server).
    pub fn start_with(options: &[&str]) -> PrivateMaria {
        let root = tempfile::Builder::new()
            .prefix("godwit-private-mariadb-")
            .tempdir()
            .expect("tempdir");
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", root.path().join("data").display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if is_root() {
            install.arg("--user=root");
        }
        let out = install
            .output()
            .expect("run mariadb-install-db (install mariadb-server; scripts/test does)");
        assert!(
            out.status.success(),
            "mariadb-install-db failed:\n{}",
            output_text(&out)
        );
        let mut m = PrivateMaria {
            root,
            port: 0,
            child: None,
            options: options.iter().map(ToString::to_string).collect(),
        };
        m.start();
        m
    }

    fn log(&self) -> PathBuf {
        self.root.path().join("error.log")
    }

    fn server_binary() -> PathBuf {
        for p in ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"] {
            if Path::new(p).exists() {
                return PathBuf::from(p);
            }
        }
        PathBuf::from("mariadbd")
    }

    /// Starts the server (again, after [`PrivateMaria::kill9`]), on its previous port if it is
    /// still free; waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut port = if self.port == 0 {
            free_port()
        } else {
            self.port
        };
        for _ in 0..START_ATTEMPTS {
            let dir = self.root.path();
            let tmp = dir.join("tmp");
            std::fs::create_dir_all(&tmp).expect("create the server's tmpdir");
            let mut cmd = Command::new(Self::server_binary());
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .arg(format!("--port={port}"))
                .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
                .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", self.log().display()))
                // Its own temporary directory: a starting server removes the `#sql*` files it
                // finds in its tmpdir, which in /tmp would be the shared server's.
                .arg(format!("--tmpdir={}", tmp.display()))
                .args([
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=32M",
                    "--innodb-flush-log-at-trx-commit=1",
                    "--max-connections=100",
                ])
                .args(&self.options)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if is_root() {
                cmd.arg("--user=root");
            }
            let mut child = cmd.spawn().expect("run mariadbd");
            self.port = port;
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: most likely the port was taken; try another
                }
                if self.ping() {
                    self.child = Some(child);
                    return;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the private MariaDB did not accept connections:\n{}",
                        tail(&self.log())
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            port = free_port();
        }
        panic!("the private MariaDB did not start:\n{}", tail(&self.log()));
    }

    fn ping(&self) -> bool {
        let url = self.url("mysql");
        block_on(|| async {
            match sqlx::MySqlConnection::connect(&url).await {
                Ok(c) => {
                    let _ = c.close().await;
                    true
                }
                Err(_) => false,
            }
        })
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The URL of database `db` on this server.
    #[must_use]
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs a script through the `mariadb` client in database `db` (which leaves the session
    /// as the server sets it up); panics with the client's output if it fails.
    pub fn client(&self, db: &str, sql: &str) {
        let mut cmd = Command::new("mariadb");
        cmd.args(crate::mariadb_connection_args(&self.url(db)));
        crate::db::pipe_script_checked(cmd, sql);
    }

    /// Creates a database.
    pub fn create_db(&self, name: &str) {
        let url = self.url("mysql");
        block_on(|| async {
            let mut c = sqlx::MySqlConnection::connect(&url)
                .await
                .expect("connect to the private MariaDB");
            sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await
                .expect("CREATE DATABASE");
        });
    }
}

impl Drop for PrivateMaria {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A PgBouncer in transaction pooling mode in front of the shared PostgreSQL server
/// ([`pg_admin_url`]), with its own ini and auth file; stopped (and its files removed) on drop.
#[must_use = "pgbouncer is stopped as soon as this value is dropped"]
pub struct Bouncer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

fn pgbouncer_bin() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = PathBuf::from(dir).join("pgbouncer");
        if p.is_file() {
            return p;
        }
    }
    let p = PathBuf::from("/usr/sbin/pgbouncer");
    assert!(
        p.is_file(),
        "pgbouncer is not installed: run scripts/test, or `apt-get install pgbouncer`"
    );
    p
}

impl Bouncer {
    /// Starts pgbouncer (Debian's; `scripts/test` installs it) and waits until it listens.
    pub fn start() -> Bouncer {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let admin = url::Url::parse(&pg_admin_url()).expect("GODWIT_TEST_PG_URL is a URL");
        let host = admin.host_str().unwrap_or("127.0.0.1").to_string();
        let pg_port = admin.port().unwrap_or(5432);
        let d = dir.path().display();
        let ini = format!(
            "[databases]\n* = host={host} port={pg_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nauth_type = trust\nauth_file = {d}/users.txt\n\
             pool_mode = transaction\ndefault_pool_size = 4\nunix_socket_dir =\n\
             logfile = {d}/pgbouncer.log\n"
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).expect("write ini");
        std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").expect("write auth");
        let mut cmd = Command::new(pgbouncer_bin());
        // pgbouncer refuses to run as root: it then runs as nobody, who must write its log.
        if is_root() {
            use std::os::unix::fs::PermissionsExt as _;
            for f in ["", "pgbouncer.ini", "users.txt"] {
                let mode = if f.is_empty() { 0o777 } else { 0o644 };
                std::fs::set_permissions(dir.path().join(f), std::fs::Permissions::from_mode(mode))
                    .expect("chmod");
            }
            cmd.args(["-u", "nobody"]);
        }
        let child = cmd
            .arg(dir.path().join("pgbouncer.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let bouncer = Bouncer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not start listening on port {port}: {}",
                std::fs::read_to_string(bouncer.dir.path().join("pgbouncer.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    /// The URL of `db` on the shared server, through this pgbouncer.
    #[must_use]
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

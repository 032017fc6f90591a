//! Inputs the user did not mean: passwords in every shape never printed, passwords kept off the
//! command line (`password`, `password_file`), unknown URL parameters, URLs that name no
//! database, and a closed stdout.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use godwit_test_support::{mysql_admin_url, Kind, Project};

/// Every command that talks to the database.
const COMMANDS: &[&[&str]] = &[
    &["migrate"],
    &["migrate", "--dry-run"],
    &["info"],
    &["validate"],
    &["current"],
    &["undo"],
    &["baseline"],
    &["repair"],
];

/// A seeded generator (xorshift64*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A password of distinctive five-character words joined by the characters URLs misread.
fn secret(rng: &mut Rng) -> (String, Vec<String>) {
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let separators = ["@", "/", ":", "#", "?", "&", "=", "+", "!", "$", "@@", "-"];
    let mut words = Vec::new();
    let mut text = String::new();
    for i in 0..2 + rng.below(2) {
        if i > 0 || rng.below(4) == 0 {
            text.push_str(rng.pick(&separators));
        }
        let word: String = (0..5)
            .map(|_| ALNUM[rng.below(ALNUM.len())] as char)
            .collect();
        text.push_str(&word);
        words.push(word);
    }
    (text, words)
}

fn encode_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A URL carrying the password, right or broken, aimed at a port where nothing listens so that
/// every run fails fast.
fn url_with_secret(rng: &mut Rng, password: &str) -> String {
    let scheme = rng.pick(&[
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "sqlite",
        "POSTGRES",
        "oracle",
    ]);
    let written = if rng.below(2) == 0 {
        encode_all(password)
    } else {
        password.to_owned()
    };
    let host = rng.pick(&["127.0.0.1:1", "[::1]:1", "localhost:1"]);
    let param = rng.pick(&[
        "password",
        "sslpassword",
        "pass",
        "pwd",
        "passwd",
        "sslkey",
        "PASSWORD",
    ]);
    match rng.below(9) {
        0..=2 => format!("{scheme}://app:{written}@{host}/app"),
        3 => format!("{scheme}:/app:{written}@{host}/app"),
        4 => format!("{scheme}:app:{written}@{host}/app"),
        5 => format!("{scheme}://{host}/app?sslmode=disable&{param}={written}"),
        6 => format!("{scheme}://app:{written}@{host}"),
        7 => format!("{scheme}://app:{written}@{host}/app?ssl_mode=x&{param}={written}"),
        _ => format!("app:{written}@{host}/app"),
    }
}

#[track_caller]
fn assert_hidden(run: &godwit_test_support::Run, words: &[String], what: &str) {
    for word in words {
        assert!(
            !run.stdout.contains(word.as_str()) && !run.stderr.contains(word.as_str()),
            "{what}: the secret's word {word:?} shows\n{run}"
        );
    }
    assert!(
        !run.stderr.contains("panicked"),
        "{what}: godwit panicked\n{run}"
    );
}

/// The property test's CLI half: generated URLs carrying a secret, given as a flag or in the
/// environment, to commands printing text, JSON or a dry run; the secret never shows.
#[test]
fn no_secret_shows_in_any_output() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let mut rng = Rng(0x0012_5eed_cafe);
    let variants: &[&[&str]] = &[
        &["info"],
        &["migrate", "--dry-run"],
        &["migrate", "--json"],
        &["validate", "--json"],
        &["current"],
    ];
    for case in 0..40 {
        let (password, words) = secret(&mut rng);
        let url = url_with_secret(&mut rng, &password);
        for (i, args) in variants.iter().enumerate() {
            let run = if (case + i) % 2 == 0 {
                let mut args = args.to_vec();
                args.extend(["--url", &url]);
                p.godwit(&args)
            } else {
                p.godwit_env(args, &[("GODWIT_URL", &url)])
            };
            assert!(
                [2, 3].contains(&run.code),
                "case {case}: {url}: {args:?}\n{run}"
            );
            assert_hidden(&run, &words, &format!("case {case}: {url} {args:?}"));
        }
    }
    // Through the password settings too, right or refused.
    for case in 0..10 {
        let (password, words) = secret(&mut rng);
        let file = p.path().join("pw");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        let file = file.display().to_string();
        for (url, env) in [
            (
                "postgres://app@127.0.0.1:1/app",
                ("GODWIT_PASSWORD", &*password),
            ),
            (
                "mysql://app@127.0.0.1:1/app",
                ("GODWIT_PASSWORD_FILE", &*file),
            ),
            ("sqlite://x.db", ("GODWIT_PASSWORD", &*password)),
            (
                "postgres://app:other@127.0.0.1:1/app",
                ("GODWIT_PASSWORD_FILE", &*file),
            ),
        ] {
            for json in [false, true] {
                let mut args = vec!["migrate", "--url", url];
                if json {
                    args.push("--json");
                }
                let run = p.godwit_env(&args, &[env]);
                assert!([2, 3].contains(&run.code), "case {case}: {url}\n{run}");
                assert_hidden(&run, &words, &format!("case {case}: {url} {env:?}"));
            }
        }
    }
}

/// `postgres:/u:pw@host/db` and `postgresql:u:pw@host/db` used to send the password as the
/// database's name and print it: now exit 2 for every command, with a hint, secret hidden.
fn malformed_urls_are_refused(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let scheme = match kind {
        Kind::Postgres => "postgresql",
        Kind::MySql => "mariadb",
        Kind::Sqlite => "postgres",
    };
    for url in [
        format!("{scheme}:/app:Hidden-Pw-7@127.0.0.1/db"),
        format!("{scheme}:app:Hidden-Pw-7@127.0.0.1/db"),
        format!("{scheme}://app:Hidden/Pw-7@127.0.0.1/db"),
        format!("{scheme}://app:12/Hidden-Pw-7@127.0.0.1/db"),
    ] {
        for args in COMMANDS {
            let mut args = args.to_vec();
            args.extend(["--url", &url]);
            let run = p.godwit(&args);
            run.code(2).stderr_has("hint:");
            assert!(!run.stderr.contains("Hidden"), "{url}\n{run}");
        }
    }
    assert!(p.db.tables().is_empty());
}

/// A misspelled parameter (`ssl_mode`) or value (`charset=bogus`) is exit 2 naming it and the
/// valid ones; nothing is written.
fn unknown_parameters_are_refused(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let (param, meant) = match kind {
        Kind::Sqlite => ("mod=rwc", "mode"),
        _ => ("ssl_mode=require", "sslmode"),
    };
    let url = format!("{}?{param}", p.db.url);
    for args in COMMANDS {
        let mut args = args.to_vec();
        args.extend(["--url", &url]);
        p.godwit(&args)
            .code(2)
            .stderr_has(&format!(
                "unknown URL parameter `{}`",
                &param[..param.find('=').unwrap()]
            ))
            .stderr_has(&format!("did you mean `{meant}`?"));
    }
    if kind == Kind::MySql {
        let url = format!("{}?charset=bogus", p.db.url);
        p.godwit(&["migrate", "--url", &url])
            .code(2)
            .stderr_has("`charset`")
            .stderr_has("utf8mb4");
        // Parameters that work keep working, PostgreSQL's sslmode spelling included.
        let url = format!("{}?charset=utf8mb4&sslmode=disable", p.db.url);
        p.godwit(&["info", "--url", &url]).success();
    }
    if kind == Kind::Postgres {
        let url = format!("{}?sslmode=disable&application_name=mine", p.db.url);
        p.godwit(&["info", "--url", &url]).success();
    }
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    assert!(kind != Kind::Sqlite || !p.db.sqlite_exists());
}

godwit_test_support::on_every_database!(malformed_urls_are_refused, unknown_parameters_are_refused);

/// `mysql://root@host:3306` names no database: exit 2 for every command (it used to pass a dry
/// run and `info`, then fail `migrate` with exit 1). With `schemas` it names one.
#[test]
fn a_mysql_url_without_a_database_is_refused() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let admin = mysql_admin_url();
    let server = &admin[..admin.rfind('/').expect("a path")];
    assert!(server.starts_with("mysql://") && server.len() > "mysql://".len());
    for args in COMMANDS {
        let mut args = args.to_vec();
        args.extend(["--url", server]);
        p.godwit(&args)
            .code(2)
            .stderr_has("names no database")
            .stderr_has("hint: add the database");
    }
    p.godwit(&["migrate", "--url", server, "--schemas", p.db.name()])
        .success();
    assert_eq!(p.db.tables(), ["a", "godwit_schema_history"]);
}

/// `sqlite:` and `sqlite://` name no file: exit 2 for every command. `sqlite::memory:` is thrown
/// away at exit: exit 2 for the commands that fill a database (`migrate`, `baseline`), while
/// reading it, a dry run, `undo` or `repair` (which find it empty) are harmless.
#[test]
fn sqlite_urls_without_a_file_are_refused() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    for url in ["sqlite:", "sqlite://", "sqlite://?mode=rwc"] {
        for args in COMMANDS {
            let mut args = args.to_vec();
            args.extend(["--url", url]);
            p.godwit(&args)
                .code(2)
                .stderr_has("names no SQLite file")
                .stderr_has("hint:");
        }
    }
    for url in ["sqlite::memory:", "sqlite://?mode=memory"] {
        for args in [&["migrate"][..], &["baseline"]] {
            let mut args = args.to_vec();
            args.extend(["--url", url]);
            p.godwit(&args)
                .code(2)
                .stderr_has("in-memory database")
                .stderr_has("--dry-run");
        }
        p.godwit(&["info", "--url", url]).success();
        p.godwit(&["migrate", "--dry-run", "--url", url])
            .success()
            .stdout_has("CREATE TABLE a");
    }
    let left: Vec<_> = std::fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "migrations" && n != ".cache")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Drops the MySQL users a test made, however it ends.
struct DropUsers {
    url: String,
    users: Vec<String>,
}

impl Drop for DropUsers {
    fn drop(&mut self) {
        use sqlx::Connection;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            if let Ok(mut c) = sqlx::MySqlConnection::connect(&self.url).await {
                for user in &self.users {
                    let _ = sqlx::raw_sql(&format!("DROP USER IF EXISTS {user}"))
                        .execute(&mut c)
                        .await;
                }
            }
        });
    }
}

/// `GODWIT_PASSWORD`, `GODWIT_PASSWORD_FILE` and `password_file` in godwit.toml log in a MySQL
/// user whose URL has no password; the password is never printed.
#[test]
fn password_settings_log_in_on_mysql() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.migration("V2__b.sql", "CREATE TABLE b (id INT);");
    let user = format!("p{}", &p.db.name()[p.db.name().len().saturating_sub(20)..]);
    let password = "Pw-With:@/#?%&-Chars";
    let mut users = Vec::new();
    for host in ["%", "127.0.0.1", "localhost"] {
        let sql_password = password.replace('\'', "''");
        p.db.exec(&format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{sql_password}'"
        ));
        p.db.exec(&format!(
            "GRANT ALL ON `{}`.* TO '{user}'@'{host}'",
            p.db.name()
        ));
        users.push(format!("'{user}'@'{host}'"));
    }
    let _cleanup = DropUsers {
        url: p.db.url.clone(),
        users,
    };
    let rest = p.db.url.split_once('@').expect("user@host").1;
    let url = format!("mysql://{user}@{rest}");
    // Without the password the login is refused: the settings below are what let it in.
    p.godwit(&["info", "--url", &url])
        .code(3)
        .stderr_has("Access denied");
    let wrong = p.godwit_env(
        &["info", "--url", &url],
        &[("GODWIT_PASSWORD", "Wrong-Pass-Shown-Never")],
    );
    wrong.code(3).stderr_has("Access denied");
    assert!(!wrong.stderr.contains("Wrong-Pass-Shown-Never"), "{wrong}");

    let run = p.godwit_env(
        &["migrate", "--target", "1", "--url", &url],
        &[("GODWIT_PASSWORD", password)],
    );
    run.success();
    assert!(!run.stderr.contains(password) && !run.stdout.contains(password));

    // A file, its trailing newline dropped (`\n` or `\r\n`).
    p.file("secrets/pw", &format!("{password}\n"));
    p.godwit_env(
        &["current", "--url", &url],
        &[("GODWIT_PASSWORD_FILE", "secrets/pw")],
    )
    .success()
    .stdout_has("1");
    p.file("secrets/pw", &format!("{password}\r\n"));
    p.file(
        "godwit.toml",
        &format!("url = \"{url}\"\npassword_file = \"secrets/pw\"\n"),
    );
    p.godwit_env(&["migrate"], &[("GODWIT_URL", "")]).success();
    assert_eq!(p.db.tables(), ["a", "b", "godwit_schema_history"]);
}

/// On PostgreSQL the password settings are accepted and never printed. (The test server trusts
/// local logins, so it cannot refuse a wrong password; MySQL proves the password is sent.)
#[test]
fn password_settings_on_postgres() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.file("pw", "Pg-Secret-Pass\n");
    let run = p.godwit_env(&["migrate"], &[("GODWIT_PASSWORD_FILE", "pw")]);
    run.success();
    assert!(!run.stderr.contains("Pg-Secret-Pass"), "{run}");
    assert_eq!(p.db.tables(), ["a", "godwit_schema_history"]);
}

/// A password given twice, for SQLite, or in a file that cannot be used: exit 2 before anything
/// is written, naming the file, never its content.
#[test]
fn password_problems_are_refused() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.godwit_env(&["migrate"], &[("GODWIT_PASSWORD", "Sqlite-Secret")])
        .code(2)
        .stderr_has("SQLite");
    let twice = p.godwit_env(
        &[
            "migrate",
            "--url",
            "postgres://app:Url-Secret@127.0.0.1:1/db",
        ],
        &[("GODWIT_PASSWORD", "Env-Secret")],
    );
    twice.code(2).stderr_has("given twice");
    let both = p.godwit_env(
        &["migrate"],
        &[
            ("GODWIT_PASSWORD", "Env-Secret"),
            ("GODWIT_PASSWORD_FILE", "pw"),
        ],
    );
    both.code(2).stderr_has("GODWIT_PASSWORD");
    let pg = "postgres://app@127.0.0.1:1/db";
    let missing = p.godwit_env(
        &["migrate", "--url", pg],
        &[("GODWIT_PASSWORD_FILE", "nope")],
    );
    missing
        .code(2)
        .stderr_has("cannot read the password file nope");
    p.file("empty", "\n");
    p.godwit_env(&["info", "--url", pg], &[("GODWIT_PASSWORD_FILE", "empty")])
        .code(2)
        .stderr_has("is empty");
    p.file("two", "Line-One-Secret\nLine-Two-Secret\n");
    let two = p.godwit_env(&["info", "--url", pg], &[("GODWIT_PASSWORD_FILE", "two")]);
    two.code(2).stderr_has("more than one line");
    for run in [&twice, &both, &missing, &two] {
        assert!(!run.stderr.contains("Secret"), "{run}");
    }
    assert!(!p.db.sqlite_exists());
}

/// Reads the first line of stdout, closes it, and waits: the way `godwit … | head -1` ends.
fn run_into_closed_pipe(p: &Project, args: &[&str]) -> (i32, String) {
    let mut child = p
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn godwit");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read a line");
    // The reader is dropped here: stdout is closed.
    let out = child.wait_with_output().expect("wait");
    assert!(!first.is_empty());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `godwit migrate --dry-run | head -1` and `godwit info | head -1` end quietly with exit 0
/// (the dry run used to end with exit 2, "cannot write the dry-run output").
#[test]
fn a_closed_stdout_ends_quietly() {
    let p = Project::new(Kind::Sqlite);
    // Far more output than a pipe holds.
    let mut big = String::new();
    for i in 0..4000 {
        big.push_str(&format!(
            "INSERT INTO t (id, note) VALUES ({i}, 'a row of filler text');\n"
        ));
    }
    p.migration("V1__t.sql", "CREATE TABLE t (id INT, note TEXT);");
    p.migration("V2__rows.sql", &big);
    for i in 3..1500 {
        p.migration(&format!("V{i}__m{i}.sql"), "SELECT 1;");
    }
    let (code, stderr) = run_into_closed_pipe(&p, &["migrate", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(
        !stderr.contains("Would apply V1499"),
        "the run went on: {stderr}"
    );
    let (code, stderr) = run_into_closed_pipe(&p, &["info"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(!p.db.sqlite_exists());
}

//! The first ten minutes of a new user: `godwit init`, the template `godwit new` writes and
//! that nothing runs it by mistake, empty migrations, flags that do not go together, the
//! messages of a URL pointed at the wrong server or of a history table godwit cannot read,
//! shell completions, the manual pages, `--help` and `--version`.

use std::path::Path;
use std::process::Command;

use godwit_test_support::on_every_database;
use godwit_test_support::{godwit_bin, mysql_admin_url, pg_admin_url, run, Kind, Project};

on_every_database!(
    init_writes_a_project_that_migrates_once_its_first_migration_is_written,
    the_template_new_writes_is_refused_until_it_holds_sql,
    migrations_without_statements_run_with_a_warning,
    an_unreadable_history_table_names_the_table_row_and_column,
    a_history_table_without_a_column_names_it,
);

/// Words that belong to the driver, not to a message for users.
const INTERNALS: [&str; 6] = [
    "sqlx",
    "ColumnDecode",
    "mismatched types",
    "CopyData",
    "unexpected message",
    "establish:",
];

#[track_caller]
fn assert_no_internals(run: &godwit_test_support::Run) {
    for word in INTERNALS {
        assert!(
            !run.stderr.contains(word) && !run.stdout.contains(word),
            "`{word}` shows\n{run}"
        );
    }
}

/// A project directory without the `migrations` folder the harness makes.
fn bare(kind: Kind) -> Project {
    let p = Project::new(kind);
    std::fs::remove_dir(p.path().join("migrations")).expect("remove migrations");
    p
}

/// A command that finds its database in godwit.toml only.
fn without_url_env(p: &Project, args: &[&str]) -> godwit_test_support::Run {
    let mut cmd = p.command(args);
    cmd.env_remove("GODWIT_URL");
    run(cmd)
}

fn read(p: &Project, rel: &str) -> String {
    std::fs::read_to_string(p.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn init_writes_a_project_that_migrates_once_its_first_migration_is_written(kind: Kind) {
    let p = bare(kind);
    let url = p.db.url.clone();
    let init = without_url_env(&p, &["init", "--url", &url]);
    init.success();
    assert_eq!(
        init.stdout, "godwit.toml\nmigrations/V1__init.sql\n",
        "{init}"
    );
    init.stderr_has("write your first migration in migrations/V1__init.sql");
    let config = read(&p, "godwit.toml");
    assert!(config.contains(&format!("url = \"{url}\"")), "{config}");
    assert!(config.contains("locations = [\"migrations\"]"), "{config}");
    assert!(config.contains("# lock_timeout = \"10m\""), "{config}");
    assert!(read(&p, "migrations/V1__init.sql").starts_with("-- godwit:template\n"));

    // The first migration is still the template: nothing runs, nothing is created.
    without_url_env(&p, &["migrate"])
        .code(2)
        .stderr_has("migrations/V1__init.sql:1: is still the template")
        .stderr_has("write the migration's SQL in it, or delete the file");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());

    p.migration(
        "V1__init.sql",
        &format!(
            "{}CREATE TABLE first_table (id INT);\n",
            read(&p, "migrations/V1__init.sql")
        ),
    );
    without_url_env(&p, &["migrate"])
        .success()
        .stderr_has("Applied V1 init");
    assert!(p.db.tables().contains(&"first_table".to_string()));

    // A second init overwrites nothing.
    let before = read(&p, "godwit.toml");
    without_url_env(&p, &["init", "--dialect", "sqlite"])
        .code(2)
        .stderr_has("godwit.toml exists already");
    assert_eq!(read(&p, "godwit.toml"), before);
}

#[test]
fn init_for_a_dialect_and_its_refusals() {
    // SQLite: a working project in two commands and one edit.
    let p = bare(Kind::Sqlite);
    without_url_env(&p, &["init", "--dialect", "sqlite"]).success();
    assert!(read(&p, "godwit.toml").contains("\nurl = \"sqlite://app.db\"\n"));
    p.migration("V1__init.sql", "CREATE TABLE t (id INT);\n");
    without_url_env(&p, &["migrate"]).success();
    assert!(p.path().join("app.db").exists());

    // PostgreSQL without a URL: an example to edit, commented out.
    let p = bare(Kind::Sqlite);
    let init = without_url_env(&p, &["init", "--dialect", "postgres"]);
    init.success().stderr_has("set `url` in godwit.toml");
    assert!(read(&p, "godwit.toml").contains("\n# url = \"postgres://"));
    without_url_env(&p, &["info"])
        .code(2)
        .stderr_has("no database URL");

    // Refusals write nothing.
    let p = bare(Kind::Sqlite);
    let nothing_written = |p: &Project| {
        assert!(!p.path().join("godwit.toml").exists());
        assert!(!p.path().join("migrations").exists());
    };
    without_url_env(&p, &["init"])
        .code(2)
        .stderr_has("give --url or --dialect");
    nothing_written(&p);
    let secret = without_url_env(
        &p,
        &[
            "init",
            "--url",
            "postgres://app:hunter2secret@localhost/app",
        ],
    );
    secret
        .code(2)
        .stderr_has("holds a password")
        .stderr_has("GODWIT_PASSWORD");
    assert!(!secret.stderr.contains("hunter2secret"), "{secret}");
    nothing_written(&p);
    without_url_env(
        &p,
        &[
            "init",
            "--url",
            "mysql://app@localhost/app",
            "--dialect",
            "postgres",
        ],
    )
    .code(2)
    .stderr_has("does not match");
    without_url_env(&p, &["init", "--url", "nosuch://x"]).code(2);
    nothing_written(&p);
    without_url_env(&p, &["init", "--dialect", "sqlite", "--dry-run"])
        .success()
        .stdout_has("-- godwit.toml\n");
    nothing_written(&p);
    // A project that has migrations already keeps them and gets no first migration.
    p.migration("V1__legacy.sql", "CREATE TABLE legacy (id INT);\n");
    let init = without_url_env(&p, &["init", "--dialect", "sqlite"]);
    init.success().stderr_has("holds 1 migration already");
    assert_eq!(init.stdout, "godwit.toml\n");
    assert!(!p.path().join("migrations/V1__init.sql").exists());
}

fn the_template_new_writes_is_refused_until_it_holds_sql(kind: Kind) {
    let p = Project::new(kind);
    p.godwit(&["new", "add", "email", "--undo"]).success();
    let v1 = read(&p, "migrations/V1__add_email.sql");
    assert!(v1.starts_with("-- godwit:template\n"), "{v1}");
    for args in [&["migrate"][..], &["validate"], &["migrate", "--dry-run"]] {
        let run = p.godwit(args);
        run.code(2)
            .stderr_has("migrations/V1__add_email.sql:1: is still the template")
            .stderr_has("write the migration's SQL in it, or delete the file");
        assert!(!run.stdout.contains("INSERT INTO"), "{run}");
    }
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());

    // Written, it runs; the marker line left in it is a comment.
    p.migration(
        "V1__add_email.sql",
        &format!("{v1}CREATE TABLE person (email VARCHAR(100));\n"),
    );
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V1 add email");
    // Going down needs the undo script, still the template: nothing is undone.
    p.godwit(&["migrate", "--target", "none"])
        .code(2)
        .stderr_has("migrations/U1__add_email.sql:1: is still the template");
    assert!(p.db.tables().contains(&"person".to_string()));
    p.migration(
        "U1__add_email.sql",
        &format!(
            "{}DROP TABLE person;\n",
            read(&p, "migrations/U1__add_email.sql")
        ),
    );
    p.godwit(&["migrate", "--target", "none"]).success();
    assert!(!p.db.tables().contains(&"person".to_string()));
    p.godwit(&["migrate"]).success();

    // Repeatable and data templates too.
    p.godwit(&["new", "views", "--kind", "repeatable"])
        .success();
    p.godwit(&["new", "backfill", "--kind", "data"]).success();
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("2 problems with migration files")
        .stderr_has("migrations/R__views.sql:1: is still the template")
        .stderr_has("migrations/D1__backfill.sql:1: is still the template");
    // Deleting the marker keeps such a file on purpose: it runs, with a warning.
    for name in ["R__views.sql", "D1__backfill.sql"] {
        let text = read(&p, &format!("migrations/{name}"));
        p.migration(name, text.trim_start_matches("-- godwit:template\n"));
    }
    p.godwit(&["migrate"])
        .success()
        .stderr_has("warning: R__views (migrations/R__views.sql) holds no SQL statement");
}

fn migrations_without_statements_run_with_a_warning(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__comments.sql",
        "-- Nothing to do on this database.\n/* really */\n",
    )
    .migration("V2__empty.sql", "")
    .migration("V3__real.sql", "CREATE TABLE real_one (id INT);\n");
    p.godwit(&["validate"])
        .success()
        .stderr_has("warning: V1 (migrations/V1__comments.sql) holds no SQL statement")
        .stderr_has("warning: V2 (migrations/V2__empty.sql) holds no SQL statement");
    let run = p.godwit(&["migrate"]);
    run.success()
        .stderr_has("warning: V1 (migrations/V1__comments.sql) holds no SQL statement, only comments or nothing: it runs all the same and is recorded as applied")
        .stderr_has("warning: V2 (migrations/V2__empty.sql)");
    assert!(!run.stderr.contains("V3 (migrations"), "{run}");
    let history = p.db.history("godwit_schema_history");
    assert_eq!(
        history,
        ["1|comments|SQL|true", "2|empty|SQL|true", "3|real|SQL|true"],
        "{history:?}"
    );
    // Nothing pending: no warning.
    let again = p.godwit(&["migrate"]);
    again.success();
    assert!(!again.stderr.contains("warning"), "{again}");
    // With -q too, the warning is printed.
    p.migration("V4__later.sql", "-- later\n");
    p.godwit(&["migrate", "-q"])
        .success()
        .stderr_has("warning: V4 (migrations/V4__later.sql)");
}

#[test]
fn new_refuses_flags_that_do_not_go_together_and_the_hint_can_be_followed() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &["new", "x", "--kind", "repeatable", "--version", "7"],
            "`--version 7` does not go with `--kind repeatable`",
            "leave out `--version`",
        ),
        (
            &["new", "x", "--kind", "repeatable", "--timestamp"],
            "`--timestamp` does not go with `--kind repeatable`",
            "leave out `--timestamp`",
        ),
        (
            &["new", "x", "--kind", "data", "--timestamp"],
            "`--timestamp` does not go with `--kind data`",
            "leave out `--timestamp`",
        ),
        (
            &["new", "x", "--kind", "data", "--undo"],
            "`--undo` does not go with `--kind data`",
            "leave out `--undo`",
        ),
    ];
    for (args, message, hint) in cases {
        p.godwit(args).code(2).stderr_has(message).stderr_has(hint);
        let files = std::fs::read_dir(p.path().join("migrations"))
            .unwrap()
            .count();
        assert_eq!(files, 1, "{args:?} wrote a file");
    }
    // Either way out of the first refusal works.
    p.godwit(&["new", "x", "--kind", "repeatable"])
        .success()
        .stdout_has("migrations/R__x.sql");
    p.godwit(&["new", "x", "--version", "7"])
        .success()
        .stdout_has("migrations/V7__x.sql");
}

#[test]
fn a_reserved_placeholder_gets_a_hint_that_works() {
    let p = Project::new(Kind::Sqlite);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT, who VARCHAR(20) DEFAULT '${godwit:nope}');\n",
    );
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has("`${godwit:nope}` has no value")
        .stderr_has("`${godwit:user}`")
        .stderr_has("name it without the prefix (`${nope}`)");
    // The refused way is not suggested.
    assert!(!run.stderr.contains("--placeholder godwit:nope"), "{run}");
    assert!(!run.stderr.contains("GODWIT_PLACEHOLDERS_GODWIT"), "{run}");
    // The suggested way works.
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT, who VARCHAR(20) DEFAULT '${nope}');\n",
    );
    p.godwit(&["migrate", "--placeholder", "nope=x"]).success();
}

#[test]
fn placeholder_names_that_differ_only_in_case_are_an_error() {
    let p = Project::new(Kind::Sqlite);
    p.file("godwit.toml", "[placeholders]\nWho = \"a\"\nwho = \"b\"\n");
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("godwit.toml:3")
        .stderr_has("already set as \"Who\" on line 2")
        .stderr_has("ignore case");
    assert!(!p.db.sqlite_exists());
    p.remove("godwit.toml");
    p.godwit(&[
        "migrate",
        "--placeholder",
        "Who=a",
        "--placeholder",
        "who=b",
    ])
    .code(2)
    .stderr_has("ignore case");
    assert!(!p.db.sqlite_exists());
}

/// The host and port of a server URL, as `host:port`.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}

#[test]
fn a_url_pointed_at_another_database_says_which_one_answers() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    let mysql_server = host_port(&mysql_admin_url());
    let pg_server = host_port(&pg_admin_url());

    let run = p.godwit(&[
        "info",
        "--url",
        &format!("postgres://postgres@{mysql_server}/test"),
    ]);
    run.code(3)
        .stderr_has(&format!("the server at {mysql_server} is MySQL or MariaDB"))
        .stderr_has("use a mysql:// URL");
    assert_no_internals(&run);

    // PostgreSQL waits for the client to speak first: the attempt runs out its timeout.
    let run = p.godwit(&[
        "info",
        "--connect-timeout",
        "2s",
        "--url",
        &format!("mysql://root@{pg_server}/postgres"),
    ]);
    run.code(3)
        .stderr_has(&format!("the server at {pg_server} is PostgreSQL"))
        .stderr_has("use a postgres:// URL");
    assert_no_internals(&run);
}

/// Statements that give the history table's `checksum` column text, and a text value in the
/// first row.
fn corrupt_checksum(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => {
            "ALTER TABLE godwit_schema_history ALTER COLUMN checksum TYPE VARCHAR(20); \
             UPDATE godwit_schema_history SET checksum = 'abc' WHERE installed_rank = 1"
        }
        Kind::MySql => {
            "ALTER TABLE godwit_schema_history MODIFY checksum VARCHAR(20); \
             UPDATE godwit_schema_history SET checksum = 'abc' WHERE installed_rank = 1"
        }
        // SQLite keeps a text that is not a number as text, whatever the column's type.
        Kind::Sqlite => {
            "UPDATE godwit_schema_history SET checksum = 'abc' WHERE installed_rank = 1"
        }
    }
}

fn an_unreadable_history_table_names_the_table_row_and_column(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n");
    p.godwit(&["migrate"]).success();
    p.db.exec(corrupt_checksum(kind));
    for args in [&["info"][..], &["validate"], &["migrate"]] {
        let run = p.godwit(args);
        run.code(1)
            .stderr_has("the history table `godwit_schema_history` holds a value godwit cannot read")
            .stderr_has("the row with installed_rank 1, column `checksum`: expected an integer or NULL (INTEGER), found")
            .stderr_has("give the column its type back");
        assert_no_internals(&run);
    }
    // A NULL where a value belongs.
    if kind == Kind::Postgres {
        p.db.exec(
            "UPDATE godwit_schema_history SET checksum = NULL; \
             ALTER TABLE godwit_schema_history ALTER COLUMN checksum TYPE INTEGER USING NULL; \
             ALTER TABLE godwit_schema_history ALTER COLUMN installed_by DROP NOT NULL; \
             UPDATE godwit_schema_history SET installed_by = NULL WHERE installed_rank = 2",
        );
        let run = p.godwit(&["info"]);
        run.code(1)
            .stderr_has("the row with installed_rank 2, column `installed_by`: expected text (VARCHAR(100) NOT NULL), found NULL");
        assert_no_internals(&run);
    }
}

fn a_history_table_without_a_column_names_it(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    p.godwit(&["migrate"]).success();
    p.db.exec("ALTER TABLE godwit_schema_history DROP COLUMN installed_by");
    let run = p.godwit(&["info"]);
    run.code(1)
        .stderr_has("the history table `godwit_schema_history` lacks a column godwit reads")
        .stderr_has("installed_by")
        .stderr_has("set `table` to another name")
        .stderr_has("add the column back");
    assert_no_internals(&run);
}

#[test]
fn completions_load_in_every_shell_and_bash_completes_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = run_godwit(&["completions", shell]);
        run.success();
        assert!(run.stdout.contains("godwit"), "{shell}: {run}");
    }
    run_godwit(&["completions", "tcsh"]).code(2);
    let bin = godwit_bin();
    let script = format!(
        "set -e; source <('{bin}' completions bash); complete -p godwit; \
         COMP_WORDS=(godwit mig); COMP_CWORD=1; COMP_LINE='godwit mig'; COMP_POINT=10; \
         _godwit godwit mig godwit; echo \"completed: ${{COMPREPLY[*]}}\"",
        bin = bin.display()
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("completed: migrate"), "{stdout}");
}

/// Renders a manual page with `man -l`, as a user reading it would.
fn render_man(page: &Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `man` ({e}): install man-db and groff (scripts/test does)")
        });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "man -l {}: {}\n{text}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_manual_pages_render() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_godwit(&["man"]);
    run.success();
    let page = dir.path().join("printed.1");
    std::fs::write(&page, &run.stdout).unwrap();
    let text = render_man(&page);
    for wanted in [
        "NAME",
        "SYNOPSIS",
        "godwit init",
        "EXIT STATUS",
        "143",
        "ENVIRONMENT",
        "GODWIT_URL, DATABASE_URL",
        "GODWIT_PLACEHOLDERS_<NAME>",
        "SEE ALSO",
    ] {
        assert!(text.contains(wanted), "godwit(1) lacks {wanted:?}\n{text}");
    }

    let pages = dir.path().join("man1");
    let run = run_godwit(&["man", "--dir", &pages.to_string_lossy()]);
    run.success();
    let written: Vec<&str> = run.stdout.lines().collect();
    assert!(written.len() >= 14, "{run}");
    for command in ["migrate", "init", "new", "completions", "man"] {
        let page = pages.join(format!("godwit-{command}.1"));
        let text = render_man(&page);
        assert!(text.contains(&format!("godwit-{command}")), "{text}");
    }
    assert!(render_man(&pages.join("godwit-new.1")).contains("--kind"));
    run_godwit(&["man", "nope"])
        .code(2)
        .stderr_has("the commands are migrate");
}

#[test]
fn help_shows_exit_codes_and_the_environment_and_version_how_it_was_built() {
    let long = run_godwit(&["--help"]);
    long.success()
        .stdout_has("Exit codes:")
        .stdout_has("  2    bad usage, configuration or migration files; nothing was run")
        .stdout_has("  143  ")
        .stdout_has("GODWIT_URL, DATABASE_URL")
        .stdout_has("GODWIT_LOCK_TIMEOUT")
        .stdout_has("NO_COLOR")
        .stdout_has("init ")
        .stdout_has("completions ");
    run_godwit(&["-h"])
        .success()
        .stdout_has("Exit codes: 0 done, 1 failed, 2 bad usage");
    let version = run_godwit(&["--version"]);
    version
        .success()
        .stdout_has(&format!("godwit {}\n", env!("CARGO_PKG_VERSION")))
        .stdout_has("\ncommit: ")
        .stdout_has("\ntarget: ")
        .stdout_has("\nprofile: ");
    assert_eq!(
        run_godwit(&["-V"]).stdout,
        format!("godwit {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs the binary in a scratch directory with no configuration.
fn run_godwit(args: &[&str]) -> godwit_test_support::Run {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(godwit_bin());
    cmd.args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("NO_COLOR", "1");
    run(cmd)
}

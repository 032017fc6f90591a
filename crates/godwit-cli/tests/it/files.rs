//! Bad input: every mistake a user can make in files, configuration or the command line is a
//! clear message and the right exit code, and nothing is written.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    bad_migration_names_list_every_file_and_write_nothing,
    missing_placeholder_names_file_line_and_name,
    unreachable_database_is_exit_3_without_password,
);

fn bad_migration_names_list_every_file_and_write_nothing(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("nested/V1.0__again.sql", "CREATE TABLE x (id INT);")
        .migration("V2_missing_separator.sql", "")
        .migration("U7__orphan.sql", "")
        .migration("V3__fine.sql", "CREATE TABLE c (id INT);");
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has("3 problems with migration files")
        .stderr_has("V1__a.sql")
        .stderr_has("V1.0__again.sql")
        .stderr_has("V2_missing_separator.sql")
        .stderr_has("U7__orphan.sql");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    if kind == Kind::Sqlite {
        // The connection is opened while the files are read: the file it created is removed.
        assert!(!p.db.sqlite_exists(), "a refused run left a SQLite file");
    }
    p.godwit(&["validate"]).code(2);
    p.godwit(&["info"]).code(2);
}

fn missing_placeholder_names_file_line_and_name(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration(
            "V2__b.sql",
            "CREATE TABLE ${prefix}_b (id INT);\n-- owner: ${owner}\n",
        );
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has("migrations/V2__b.sql:1")
        .stderr_has("`${prefix}` has no value")
        .stderr_has("migrations/V2__b.sql:2")
        .stderr_has("`${owner}`")
        .stderr_has("--placeholder");
    // Nothing ran, not even the good V1.
    assert!(!p.db.tables().contains(&"a".to_string()));
    p.godwit(&["migrate", "--placeholder", "prefix=app"])
        .code(2)
        .stderr_has("owner");
    p.godwit_env(
        &["migrate", "--placeholder", "prefix=app"],
        &[("GODWIT_PLACEHOLDERS_OWNER", "ops")],
    )
    .success();
    assert!(p.db.tables().contains(&"app_b".to_string()));
}

fn unreachable_database_is_exit_3_without_password(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let url = match kind {
        Kind::Postgres => "postgres://app:hunter2secret@127.0.0.1:1/nope",
        Kind::MySql => "mysql://app:hunter2secret@127.0.0.1:1/nope",
        Kind::Sqlite => "sqlite:///nonexistent-dir/for/sure/x.db",
    };
    let started = std::time::Instant::now();
    let run = p.godwit(&["migrate", "--url", url]);
    run.code(3).stderr_has("cannot connect");
    assert!(started.elapsed().as_secs() < 15);
    assert!(!run.stderr.contains("hunter2secret"), "{run}");
    assert!(!run.stdout.contains("hunter2secret"), "{run}");
    if kind != Kind::Sqlite {
        run.stderr_has("app:***@127.0.0.1:1");
    }
}

#[test]
fn missing_url_is_exit_2_with_a_hint() {
    let p = Project::new(Kind::Sqlite);
    let mut cmd = p.command(&["migrate"]);
    cmd.env_remove("GODWIT_URL");
    let run = godwit_test_support::run(cmd);
    run.code(2)
        .stderr_has("no database URL is configured")
        .stderr_has("GODWIT_URL");
}

#[test]
fn unknown_config_key_is_exit_2_with_suggestion() {
    let p = Project::new(Kind::Sqlite);
    p.file(
        "godwit.toml",
        "locations = [\"migrations\"]\nurll = \"sqlite://x.db\"\n",
    );
    p.godwit(&["info"])
        .code(2)
        .stderr_has("unknown key `urll`")
        .stderr_has("godwit.toml:2")
        .stderr_has("did you mean `url`");
}

#[test]
fn bad_usage_is_exit_2() {
    let p = Project::new(Kind::Sqlite);
    p.godwit(&["migrate", "--no-such-flag"]).code(2);
    p.godwit(&["frobnicate"]).code(2);
    p.godwit(&["--lock-timeout", "soon", "migrate"]).code(2);
}

#[test]
fn config_file_paths_are_relative_to_the_file() {
    let p = Project::new(Kind::Sqlite);
    p.file("app/db/migrations/V1__a.sql", "CREATE TABLE a (id INT);");
    p.file(
        "app/db/godwit.toml",
        "url = \"sqlite://app.db\"\nlocations = [\"migrations\"]\n",
    );
    let mut cmd = p.command(&["--config", "app/db/godwit.toml", "migrate"]);
    cmd.env_remove("GODWIT_URL");
    godwit_test_support::run(cmd)
        .success()
        .stderr_has("Applied V1 a");
    assert!(p.path().join("app/db/app.db").exists());
}

#[test]
fn unknown_url_scheme_is_bad_configuration() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.godwit(&["migrate", "--url", "oracle://scott:tiger@db/orcl"])
        .code(2)
        .stderr_has("unsupported URL scheme")
        .stderr_has("scott:***@");
}

#[test]
fn refused_sqlite_run_leaves_no_database_file() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE ${missing} (id INT);");
    p.godwit(&["migrate"]).code(2);
    assert!(
        !p.db.sqlite_exists(),
        "a refused run created the SQLite file"
    );
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.godwit(&["migrate"]).success();
    assert!(p.db.sqlite_exists());
}

#[test]
fn postgres_copy_from_stdin_without_data_is_refused_before_anything_runs() {
    let p = Project::new(Kind::Postgres);
    // Nothing follows the COPY: there is no inline data to send (see tests/it/copy.rs).
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("V2__load.sql", "COPY a (id) FROM stdin;\n");
    p.godwit(&["migrate"])
        .code(2)
        .stderr_has("migrations/V2__load.sql:1")
        .stderr_has("COPY ... FROM STDIN");
    assert!(!p.db.tables().contains(&"a".to_string()));
}

/// The checksum cache must never hide an edit: an applied file changed to the same size with its
/// modification time put back is still a checksum mismatch; a corrupt cache is ignored; and with
/// the cache off nothing is written to the cache directory.
#[test]
fn checksum_cache_never_hides_an_edit() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n");
    p.godwit(&["migrate"]).success();
    let cache_dir = p.path().join(".cache/godwit");
    let caches: Vec<_> = std::fs::read_dir(&cache_dir)
        .expect("migrate leaves a checksum cache in ~/.cache/godwit")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
    // Let the clock move past the cache's own time, so that its entries are trusted.
    std::thread::sleep(std::time::Duration::from_millis(50));
    p.godwit(&["validate"]).success();

    let file = p.path().join("migrations/V1__a.sql");
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(&file, "CREATE TABLE z (id INT);\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    p.godwit(&["validate"])
        .code(1)
        .stderr_has("V1 was changed after it was applied");

    std::fs::write(&caches[0], "godwit checksum cache 1\n\u{0}garbage\n").unwrap();
    p.godwit(&["validate"])
        .code(1)
        .stderr_has("V1 was changed after it was applied");

    let q = Project::new(Kind::Sqlite);
    q.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    q.godwit_env(&["migrate"], &[("GODWIT_CHECKSUM_CACHE", "false")])
        .success();
    assert!(!q.path().join(".cache/godwit").exists());
}

//! PostgreSQL `COPY ... FROM STDIN` with its data inline, as psql runs it: sent through the
//! copy protocol inside the migration's transaction, a bad row pinned to its own line.

use godwit_test_support::{Kind, Project};

const ROWS: &str = "CREATE TABLE t (id int PRIMARY KEY, name text, note text);
INSERT INTO t VALUES (0, 'before', NULL);
COPY t (id, name, note) FROM stdin;
1\tplain\tx;y
2\t\\N\ttab\\there
3\tback\\\\slash\t\\N
\\.
COPY t (id, name, note) FROM stdin WITH (FORMAT csv, NULL 'NULL');
4,\"csv, quoted\",NULL
5,\"say \"\"hi\"\"\",ünïcødé
\\.
INSERT INTO t VALUES (6, 'after', (SELECT name FROM t WHERE id = 5));
";

fn rows(p: &Project) -> Vec<String> {
    p.db.query(
        "SELECT id || '|' || COALESCE(name, '<null>') || '|' || COALESCE(note, '<null>') FROM t ORDER BY id",
    )
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn inline_copy_data_is_loaded_between_other_statements() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__load.sql", ROWS);
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V1 load");
    assert_eq!(
        rows(&p),
        [
            "0|before|<null>",
            "1|plain|x;y",
            "2|<null>|tab\there",
            "3|back\\slash|<null>",
            "4|csv, quoted|<null>",
            "5|say \"hi\"|ünïcødé",
            "6|after|say \"hi\"",
        ]
    );
    assert_eq!(p.db.history("godwit_schema_history").len(), 1);
}

#[test]
fn inline_copy_runs_as_psql_runs_it() {
    let godwit = Project::new(Kind::Postgres);
    godwit.migration("V1__load.sql", ROWS);
    godwit.godwit(&["migrate"]).success();
    let psql = Project::new(Kind::Postgres);
    psql.db.run_client(ROWS).expect("psql runs the file");
    assert_eq!(rows(&godwit), rows(&psql));
}

#[test]
fn a_large_copy_streams_its_rows() {
    let p = Project::new(Kind::Postgres);
    let mut text = String::from("CREATE TABLE big (id int, label text);\nCOPY big FROM stdin;\n");
    for i in 0..200_000 {
        text.push_str(&format!("{i}\trow number {i}\n"));
    }
    text.push_str("\\.\nCREATE INDEX big_id ON big (id);\n");
    p.migration("V1__big.sql", &text);
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.query("SELECT count(*)::text || ' ' || max(id)::text FROM big"),
        [Some("200000 199999".to_string())]
    );
    assert_eq!(
        p.db.query("SELECT label FROM big WHERE id = 123456"),
        [Some("row number 123456".to_string())]
    );
}

#[test]
fn a_bad_row_is_reported_at_its_line_and_nothing_stays() {
    let p = Project::new(Kind::Postgres);
    let mut text =
        String::from("CREATE TABLE t (id int, name text);\n-- rows\nCOPY t FROM stdin;\n");
    // Rows on lines 4..=3003, so that the bad one comes in a later chunk of the data.
    for i in 0..3000 {
        text.push_str(&format!(
            "{i}\tname {i} with some padding to fill the chunks faster\n"
        ));
    }
    text.push_str("oops\tbad\n\\.\n");
    p.migration("V1__rows.sql", &text);
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("migrations/V1__rows.sql:3004")
        .stderr_has("invalid input syntax for type integer");
    assert!(p.db.tables().iter().all(|t| t != "t"), "rolled back");
    // Fixed, it applies.
    p.migration("V1__rows.sql", &text.replace("oops\tbad\n", "3000\tgood\n"));
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.query("SELECT count(*)::text FROM t"),
        [Some("3001".to_string())]
    );
}

#[test]
fn a_bad_row_in_a_file_without_transaction_is_reported_at_its_line() {
    let p = Project::new(Kind::Postgres);
    p.migration(
        "V1__rows.sql",
        "-- godwit:no-transaction\nCREATE TABLE t (id int);\nCOPY t FROM stdin;\n1\n2\nx\n\\.\n",
    );
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("migrations/V1__rows.sql:6");
}

#[test]
fn dry_run_prints_the_copy_and_its_data() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__load.sql", ROWS);
    let run = p.godwit(&["migrate", "--dry-run"]);
    run.success().stdout_has(
        "COPY t (id, name, note) FROM stdin;\n1\tplain\tx;y\n2\t\\N\ttab\\there\n3\tback\\\\slash\t\\N\n\\.\n",
    );
    assert!(p.db.tables().is_empty(), "a dry run changes nothing");
    // What it prints, psql runs.
    let start = run
        .stdout
        .find("CREATE TABLE t")
        .expect("statements printed");
    let end = run
        .stdout
        .find("INSERT INTO t VALUES (6")
        .expect("last statement");
    let printed = &run.stdout[start..end];
    let psql = Project::new(Kind::Postgres);
    psql.db
        .run_client(printed)
        .expect("psql runs the dry run's output");
    assert_eq!(
        psql.db.query("SELECT count(*)::text FROM t"),
        [Some("6".to_string())]
    );
}

#[test]
fn a_copy_into_a_missing_table_fails_at_the_copy_and_the_next_run_works() {
    let p = Project::new(Kind::Postgres);
    p.migration(
        "V1__rows.sql",
        "CREATE TABLE t (id int);\n\nCOPY missing FROM stdin;\n1\n\\.\n",
    );
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("migrations/V1__rows.sql:3")
        .stderr_has("\"missing\" does not exist");
    assert!(p.db.tables().iter().all(|t| t != "t"), "rolled back");
    p.migration(
        "V1__rows.sql",
        "CREATE TABLE t (id int);\n\nCOPY t FROM stdin;\n1\n\\.\n",
    );
    p.godwit(&["migrate"]).success();
    assert_eq!(p.db.query("SELECT id FROM t"), [Some("1".to_string())]);
}

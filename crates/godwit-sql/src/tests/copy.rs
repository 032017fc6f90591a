//! Inline data of PostgreSQL `COPY ... FROM STDIN`, read as psql reads it.

use super::split;
use crate::{Dialect, Splitter, StatementKind, COPY_CHUNK_BYTES};

fn items(input: &str) -> Vec<(StatementKind, u32, String)> {
    split(Dialect::Postgres, input)
        .unwrap()
        .into_iter()
        .map(|s| (s.kind, s.line, s.sql))
        .collect()
}

#[test]
fn data_lines_follow_the_copy_up_to_the_terminator() {
    use StatementKind::*;
    let input = "CREATE TABLE t (a int, b text);\nCOPY t (a, b) FROM stdin; -- rows\n1\tx;y\n2\t\\N\n\\.\nSELECT 1;\n";
    assert_eq!(
        items(input),
        vec![
            (Sql, 1, "CREATE TABLE t (a int, b text)".into()),
            (CopyFromStdin, 2, "COPY t (a, b) FROM stdin".into()),
            (CopyData, 3, "1\tx;y\n2\t\\N\n".into()),
            (Sql, 6, "SELECT 1".into()),
        ]
    );
}

#[test]
fn the_rest_of_the_copy_line_is_read_after_the_data() {
    use StatementKind::*;
    assert_eq!(
        items("COPY t FROM STDIN; SELECT 2;\n'a\n\\.\nSELECT 3"),
        vec![
            (CopyFromStdin, 1, "COPY t FROM STDIN".into()),
            (CopyData, 2, "'a\n".into()),
            (Sql, 1, "SELECT 2".into()),
            (Sql, 4, "SELECT 3".into()),
        ]
    );
}

#[test]
fn data_without_terminator_ends_with_the_script() {
    use StatementKind::*;
    assert_eq!(
        items("COPY t FROM stdin;\n1\n2"),
        vec![
            (CopyFromStdin, 1, "COPY t FROM stdin".into()),
            (CopyData, 2, "1\n2\n".into()),
        ]
    );
    assert_eq!(
        items("COPY t FROM stdin;\n\\.\n"),
        vec![(CopyFromStdin, 1, "COPY t FROM stdin".into())]
    );
}

#[test]
fn a_copy_with_nothing_after_it_has_no_data() {
    assert_eq!(
        items("COPY t FROM stdin;\n"),
        vec![(StatementKind::Sql, 1, "COPY t FROM stdin".into())]
    );
    assert_eq!(
        items("COPY t FROM stdin; SELECT 1;"),
        vec![
            (StatementKind::Sql, 1, "COPY t FROM stdin".into()),
            (StatementKind::Sql, 1, "SELECT 1".into()),
        ]
    );
}

#[test]
fn other_dialects_and_copy_to_have_no_data() {
    for dialect in [Dialect::MySql, Dialect::Sqlite] {
        let all = split(dialect, "COPY t FROM stdin;\n1;\n").unwrap();
        assert!(all.iter().all(|s| s.kind == StatementKind::Sql));
        assert_eq!(all.len(), 2);
    }
    let all = split(Dialect::Postgres, "COPY t TO stdout;\nSELECT 1;\n").unwrap();
    assert_eq!(all.len(), 2);
}

#[test]
fn large_data_comes_in_bounded_chunks() {
    let mut input = String::from("COPY t FROM stdin;\n");
    for i in 0..100_000 {
        input.push_str(&format!("{i}\tsome text\n"));
    }
    input.push_str("\\.\nSELECT 1;\n");
    let mut rows = 0;
    let mut next_line = 2;
    let mut last = None;
    for s in Splitter::new(input.as_bytes(), Dialect::Postgres) {
        let s = s.unwrap();
        if s.kind == StatementKind::CopyData {
            assert!(s.sql.len() < COPY_CHUNK_BYTES + 64);
            assert_eq!(s.line, next_line);
            let n = s.sql.matches('\n').count() as u32;
            rows += n;
            next_line += n;
        }
        last = Some(s);
    }
    assert_eq!(rows, 100_000);
    assert_eq!(last.unwrap().sql, "SELECT 1");
}

//! PostgreSQL: quoted identifiers, `E''` strings, nested comments, dollar quotes, `BEGIN ATOMIC`.

use super::{check, check_err};
use crate::Dialect::Postgres;

#[test]
fn quoted_identifiers_may_contain_semicolons_and_doubled_quotes() {
    check(
        Postgres,
        "CREATE TABLE \"odd;name\" (\"a\"\"b;\" int);\nSELECT 2;",
        &[
            (1, "CREATE TABLE \"odd;name\" (\"a\"\"b;\" int)"),
            (2, "SELECT 2"),
        ],
    );
}

#[test]
fn backslash_does_not_escape_in_standard_strings() {
    check(
        Postgres,
        r"SELECT 'C:\'; SELECT 2;",
        &[(1, r"SELECT 'C:\'"), (1, "SELECT 2")],
    );
}

#[test]
fn backslash_escapes_in_e_strings() {
    check(
        Postgres,
        r"SELECT E'it\'s; fine'; SELECT e'\\'; SELECT 3;",
        &[
            (1, r"SELECT E'it\'s; fine'"),
            (1, r"SELECT e'\\'"),
            (1, "SELECT 3"),
        ],
    );
    check(
        Postgres,
        "SELECT E'line one\\\n;line two';",
        &[(1, "SELECT E'line one\\\n;line two'")],
    );
    // Only a lone `E` prefixes a string; `ae'...'` is not valid, but must not be taken for one.
    check(
        Postgres,
        r"SELECT some_e, 'x\'; SELECT 2;",
        &[(1, r"SELECT some_e, 'x\'"), (1, "SELECT 2")],
    );
}

#[test]
fn other_string_prefixes_are_plain_strings() {
    check(
        Postgres,
        "SELECT U&'d\\0061t;a', B'1010', X'1F;';",
        &[(1, "SELECT U&'d\\0061t;a', B'1010', X'1F;'")],
    );
}

#[test]
fn block_comments_nest() {
    check(
        Postgres,
        "SELECT 1 /* a /* b */ still comment; */; SELECT 2;",
        &[
            (1, "SELECT 1 /* a /* b */ still comment; */"),
            (1, "SELECT 2"),
        ],
    );
    check(
        Postgres,
        "/* outer\n/* inner; */\nstill outer; */\nSELECT 1;",
        &[(4, "SELECT 1")],
    );
    check_err(
        Postgres,
        "SELECT 1;\n/* a /* b */ SELECT 2;",
        "the block comment that starts at line 2 is never closed",
    );
}

#[test]
fn hash_is_an_operator_not_a_comment() {
    check(
        Postgres,
        "SELECT 1 # 2; SELECT 3;",
        &[(1, "SELECT 1 # 2"), (1, "SELECT 3")],
    );
}

#[test]
fn dash_dash_is_always_a_comment() {
    check(Postgres, "SELECT 1--1;\n, 2;", &[(1, "SELECT 1--1;\n, 2")]);
}

#[test]
fn dollar_quotes_protect_their_content() {
    check(
        Postgres,
        "SELECT $$a; 'b; \"c; -- d; /* e;$$; SELECT 2;",
        &[(1, "SELECT $$a; 'b; \"c; -- d; /* e;$$"), (1, "SELECT 2")],
    );
    check(
        Postgres,
        "SELECT $tag$ $$ ; $other$ ; $tag$;\nSELECT $_1$;$_1$, $é$;$é$;",
        &[
            (1, "SELECT $tag$ $$ ; $other$ ; $tag$"),
            (2, "SELECT $_1$;$_1$, $é$;$é$"),
        ],
    );
}

#[test]
fn dollar_quote_closing_tag_must_match_exactly() {
    check(
        Postgres,
        "SELECT $a$ $A$; $ab$; $a $a$;\nSELECT 2;",
        &[(1, "SELECT $a$ $A$; $ab$; $a $a$"), (2, "SELECT 2")],
    );
}

#[test]
fn nested_dollar_quotes_with_different_tags() {
    let input = "\
CREATE FUNCTION f() RETURNS text AS $outer$
BEGIN
  EXECUTE $inner$ SELECT ';' $$ ; $inner$;
  RETURN 'done;';
END;
$outer$ LANGUAGE plpgsql;
SELECT f();";
    check(
        Postgres,
        input,
        &[
            (
                1,
                "CREATE FUNCTION f() RETURNS text AS $outer$\nBEGIN\n  EXECUTE $inner$ SELECT ';' $$ ; $inner$;\n  RETURN 'done;';\nEND;\n$outer$ LANGUAGE plpgsql",
            ),
            (7, "SELECT f()"),
        ],
    );
}

#[test]
fn positional_parameters_are_not_dollar_quotes() {
    check(
        Postgres,
        "PREPARE p(int, int) AS SELECT $1 + $2;\nEXECUTE p(1, 2);",
        &[
            (1, "PREPARE p(int, int) AS SELECT $1 + $2"),
            (2, "EXECUTE p(1, 2)"),
        ],
    );
    check(
        Postgres,
        "SELECT $1;SELECT $2",
        &[(1, "SELECT $1"), (1, "SELECT $2")],
    );
}

#[test]
fn dollar_signs_inside_identifiers_are_not_dollar_quotes() {
    check(
        Postgres,
        "SELECT a$$b, c$d$ FROM t; SELECT 2;",
        &[(1, "SELECT a$$b, c$d$ FROM t"), (1, "SELECT 2")],
    );
    // A `$` followed by tag characters but no closing `$` on the line is not a quote either.
    check(
        Postgres,
        "SELECT $abc; SELECT 2;",
        &[(1, "SELECT $abc"), (1, "SELECT 2")],
    );
}

#[test]
fn do_blocks() {
    let input = "\
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN
    CREATE ROLE app;
  END IF;
END
$$;
DO LANGUAGE plpgsql $body$ BEGIN PERFORM 1; END $body$;
SELECT 1;";
    check(
        Postgres,
        input,
        &[
            (
                1,
                "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app') THEN\n    CREATE ROLE app;\n  END IF;\nEND\n$$",
            ),
            (8, "DO LANGUAGE plpgsql $body$ BEGIN PERFORM 1; END $body$"),
            (9, "SELECT 1"),
        ],
    );
}

#[test]
fn plpgsql_function_and_trigger() {
    let input = "\
CREATE OR REPLACE FUNCTION touch() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  v text := 'x;y';
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$fn$;

CREATE TRIGGER t_touch BEFORE UPDATE ON t
FOR EACH ROW EXECUTE FUNCTION touch();";
    check(
        Postgres,
        input,
        &[
            (
                1,
                "CREATE OR REPLACE FUNCTION touch() RETURNS trigger\nLANGUAGE plpgsql AS $fn$\nDECLARE\n  v text := 'x;y';\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$fn$",
            ),
            (11, "CREATE TRIGGER t_touch BEFORE UPDATE ON t\nFOR EACH ROW EXECUTE FUNCTION touch()"),
        ],
    );
}

#[test]
fn function_body_in_a_plain_string() {
    check(
        Postgres,
        "CREATE FUNCTION f() RETURNS int AS 'BEGIN RETURN 1; END;' LANGUAGE plpgsql;\nSELECT f();",
        &[
            (
                1,
                "CREATE FUNCTION f() RETURNS int AS 'BEGIN RETURN 1; END;' LANGUAGE plpgsql",
            ),
            (2, "SELECT f()"),
        ],
    );
}

#[test]
fn begin_atomic_bodies_do_not_split() {
    let input = "\
CREATE FUNCTION add(a int, b int) RETURNS int
LANGUAGE SQL
BEGIN ATOMIC
  SELECT a + b;
END;
SELECT add(1, 2);";
    check(
        Postgres,
        input,
        &[
            (1, "CREATE FUNCTION add(a int, b int) RETURNS int\nLANGUAGE SQL\nBEGIN ATOMIC\n  SELECT a + b;\nEND"),
            (6, "SELECT add(1, 2)"),
        ],
    );
}

#[test]
fn begin_atomic_bodies_with_case_expressions() {
    let input = "\
create or replace procedure p(x int)
language sql
begin /* a comment between */ atomic
  insert into t values (case when x > 0 then 1 else 0 end);
  select case x when 1 then 'one' else 'many' end;
  insert into t select case when true then 2 end;
end;
call p(1);";
    check(
        Postgres,
        input,
        &[
            (
                1,
                "create or replace procedure p(x int)\nlanguage sql\nbegin /* a comment between */ atomic\n  insert into t values (case when x > 0 then 1 else 0 end);\n  select case x when 1 then 'one' else 'many' end;\n  insert into t select case when true then 2 end;\nend",
            ),
            (8, "call p(1)"),
        ],
    );
}

#[test]
fn qualified_names_are_not_keywords_in_begin_atomic() {
    check(
        Postgres,
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT x.end FROM t x; SELECT 2; END;\nSELECT 3;",
        &[
            (1, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT x.end FROM t x; SELECT 2; END"),
            (2, "SELECT 3"),
        ],
    );
}

#[test]
fn sql_functions_with_a_return_clause_end_at_the_semicolon() {
    check(
        Postgres,
        "CREATE FUNCTION sign(x int) RETURNS int LANGUAGE sql RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END;\nSELECT 2;",
        &[
            (1, "CREATE FUNCTION sign(x int) RETURNS int LANGUAGE sql RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END"),
            (2, "SELECT 2"),
        ],
    );
}

#[test]
fn unterminated_begin_atomic_reports_the_begin_line() {
    check_err(
        Postgres,
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN\nATOMIC\n  SELECT 1;\n",
        "the BEGIN ... END block that starts at line 2 is never closed",
    );
}

#[test]
fn transaction_control_statements_are_ordinary() {
    check(
        Postgres,
        "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nEND;\nSTART TRANSACTION; ROLLBACK;",
        &[
            (1, "BEGIN"),
            (2, "INSERT INTO t VALUES (1)"),
            (3, "COMMIT"),
            (4, "BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            (5, "END"),
            (6, "START TRANSACTION"),
            (6, "ROLLBACK"),
        ],
    );
}

#[test]
fn case_and_end_outside_routine_bodies_are_ordinary() {
    check(
        Postgres,
        "SELECT CASE WHEN true THEN 1 END; SELECT 2;",
        &[(1, "SELECT CASE WHEN true THEN 1 END"), (1, "SELECT 2")],
    );
    check(
        Postgres,
        "CREATE TABLE begin (atomic int, \"end\" int, case_no int); SELECT 2;",
        &[
            (
                1,
                "CREATE TABLE begin (atomic int, \"end\" int, case_no int)",
            ),
            (1, "SELECT 2"),
        ],
    );
}

#[test]
fn semicolons_inside_parentheses_do_not_split_like_psql() {
    check(
        Postgres,
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 1;",
        &[
            (1, "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))"),
            (2, "SELECT 1"),
        ],
    );
    // A stray closing parenthesis does not hide later semicolons.
    check(
        Postgres,
        "SELECT 1); SELECT (2);",
        &[(1, "SELECT 1)"), (1, "SELECT (2)")],
    );
}

#[test]
fn backticks_and_brackets_are_not_quotes() {
    check(
        Postgres,
        "SELECT arr[1]; SELECT `x;",
        &[(1, "SELECT arr[1]"), (1, "SELECT `x")],
    );
}

#[test]
fn optimizer_hint_comments_are_kept_at_the_start() {
    check(
        Postgres,
        "/*+ SeqScan(t) */ SELECT * FROM t;\n/* plain */ SELECT 1;",
        &[(1, "/*+ SeqScan(t) */ SELECT * FROM t"), (2, "SELECT 1")],
    );
}

#[test]
fn unterminated_constructs() {
    check_err(
        Postgres,
        "SELECT 1;\nDO $body$\nBEGIN\n",
        "the dollar-quoted string `$body$` that starts at line 2 is never closed",
    );
    check_err(
        Postgres,
        "SELECT $$ abc $ $",
        "the dollar-quoted string `$$` that starts at line 1 is never closed",
    );
    check_err(
        Postgres,
        "SELECT \"abc;\nfrom t;",
        "the quoted identifier that starts at line 1 is never closed",
    );
    check_err(
        Postgres,
        "\n\nSELECT E'abc\\';",
        "the string literal that starts at line 3 is never closed",
    );
}

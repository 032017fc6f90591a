//! MySQL and MariaDB: backslash escapes, `#` and `-- ` comments, executable comments,
//! `DELIMITER`, and stored-program bodies without `DELIMITER`.

use super::{check, check_err};
use crate::Dialect::MySql;

#[test]
fn double_quotes_delimit_strings_and_backslash_escapes() {
    check(
        MySql,
        r#"INSERT INTO t VALUES ("a;b", 'it\'s; ok', "say \"hi\";", 'x''y;', "p""q;");"#,
        &[(
            1,
            r#"INSERT INTO t VALUES ("a;b", 'it\'s; ok', "say \"hi\";", 'x''y;', "p""q;")"#,
        )],
    );
    check(
        MySql,
        r"SELECT 'C:\\'; SELECT 2;",
        &[(1, r"SELECT 'C:\\'"), (1, "SELECT 2")],
    );
}

#[test]
fn backslash_at_the_end_of_a_line_escapes_the_line_break() {
    check(MySql, "SELECT 'a\\\n;b';", &[(1, "SELECT 'a\\\n;b'")]);
}

#[test]
fn backtick_identifiers_with_doubled_backticks() {
    check(
        MySql,
        "CREATE TABLE `weird;name` (`a``b;` INT);\nSELECT 2;",
        &[
            (1, "CREATE TABLE `weird;name` (`a``b;` INT)"),
            (2, "SELECT 2"),
        ],
    );
}

#[test]
fn hash_starts_a_line_comment() {
    check(
        MySql,
        "SELECT 1; # comment; still comment\nSELECT 2 # trailing;\n;",
        &[(1, "SELECT 1"), (2, "SELECT 2 # trailing;")],
    );
}

#[test]
fn dash_dash_needs_whitespace_to_start_a_comment() {
    check(
        MySql,
        "SELECT 1--1;\nSELECT 2;",
        &[(1, "SELECT 1--1"), (2, "SELECT 2")],
    );
    check(
        MySql,
        "SELECT 1 -- one; two\n;",
        &[(1, "SELECT 1 -- one; two")],
    );
    check(
        MySql,
        "SELECT 1 --\ttab; comment\n;",
        &[(1, "SELECT 1 --\ttab; comment")],
    );
    check(MySql, "SELECT 1 --\n;", &[(1, "SELECT 1 --")]);
    check(
        MySql,
        "SELECT 5 --2; SELECT 3",
        &[(1, "SELECT 5 --2"), (1, "SELECT 3")],
    );
}

#[test]
fn block_comments_do_not_nest() {
    check(
        MySql,
        "SELECT /* a /* b */ 1; SELECT 2 */;",
        &[(1, "SELECT /* a /* b */ 1"), (1, "SELECT 2 */")],
    );
}

#[test]
fn executable_comments_are_statements() {
    let input = "\
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/* a plain comment */;
/*!50503 SET character_set_client = utf8mb4; */;
/*M!100616 SET NOTE_VERBOSITY=0 */;";
    check(
        MySql,
        input,
        &[
            (
                1,
                "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
            ),
            (2, "/*!40101 SET NAMES utf8mb4 */"),
            (4, "/*!50503 SET character_set_client = utf8mb4; */"),
            (5, "/*M!100616 SET NOTE_VERBOSITY=0 */"),
        ],
    );
}

#[test]
fn optimizer_hints_are_kept() {
    check(
        MySql,
        "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t;\n/*+ hint; */ SELECT 1;",
        &[
            (1, "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t"),
            (2, "/*+ hint; */ SELECT 1"),
        ],
    );
}

#[test]
fn delimiter_dollar_dollar_around_a_procedure() {
    let input = "\
DELIMITER $$
CREATE PROCEDURE p()
BEGIN
  SELECT 1;
  SELECT 'two;';
END$$
DELIMITER ;
CALL p();";
    check(
        MySql,
        input,
        &[
            (
                2,
                "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 'two;';\nEND",
            ),
            (8, "CALL p()"),
        ],
    );
}

#[test]
fn delimiter_in_other_forms_and_cases() {
    let input = "\
delimiter //
CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW
BEGIN
  SET NEW.a = 1;
END //
Delimiter ;;
CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN RETURN 1; END;;
SELECT f();;
DeLiMiTeR |
SELECT 1| SELECT 2 |
DELIMITER ;
SELECT 3;";
    check(
        MySql,
        input,
        &[
            (
                2,
                "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.a = 1;\nEND",
            ),
            (
                7,
                "CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN RETURN 1; END",
            ),
            (8, "SELECT f()"),
            (10, "SELECT 1"),
            (10, "SELECT 2"),
            (12, "SELECT 3"),
        ],
    );
}

#[test]
fn delimiter_takes_the_first_word_of_the_rest_of_the_line() {
    check(
        MySql,
        "  DELIMITER   $$   -- use dollars\nSELECT 1; SELECT 2$$\nDELIMITER ;\n",
        &[(2, "SELECT 1; SELECT 2")],
    );
}

#[test]
fn custom_delimiter_ends_words_like_the_mysql_client() {
    check(
        MySql,
        "DELIMITER $$\nSELECT 1 AS a$$\nSELECT a$b$$\nDELIMITER ;",
        &[(2, "SELECT 1 AS a"), (3, "SELECT a$b")],
    );
}

#[test]
fn custom_delimiter_is_ignored_in_strings_and_comments() {
    check(
        MySql,
        "DELIMITER //\nSELECT '//', \"//\", `//` -- //\n/* // */ //\nDELIMITER ;",
        &[(2, "SELECT '//', \"//\", `//` -- //\n/* // */")],
    );
}

#[test]
fn comments_before_a_delimiter_directive_are_dropped() {
    check(
        MySql,
        "-- switch\n/* now */ DELIMITER $$\nSELECT 1$$",
        &[(3, "SELECT 1")],
    );
}

#[test]
fn delimiter_is_a_directive_only_at_the_start_of_a_statement() {
    check(
        MySql,
        "SELECT 1\nDELIMITER $$;",
        &[(1, "SELECT 1\nDELIMITER $$")],
    );
    check(
        MySql,
        "SELECT delimiter FROM t;",
        &[(1, "SELECT delimiter FROM t")],
    );
    // Without a delimiter after it, the word is sent to the server, which will explain.
    check(MySql, "DELIMITER\n;", &[(1, "DELIMITER")]);
    check(MySql, "DELIMITER;", &[(1, "DELIMITER")]);
}

#[test]
fn compound_procedure_without_delimiter() {
    let input = "\
CREATE PROCEDURE p(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE CONTINUE HANDLER FOR NOT FOUND BEGIN SET i = -1; END;
  IF n > 0 THEN
    SET i = 1;
  ELSEIF n < 0 THEN
    SET i = -1;
  END IF;
  WHILE i < 10 DO
    SET i = i + 1;
  END WHILE;
  lbl: LOOP
    LEAVE lbl;
  END LOOP lbl;
  REPEAT SET i = i - 1; UNTIL i <= 0 END REPEAT;
  CASE n WHEN 1 THEN SELECT 'one'; ELSE SELECT 'other'; END CASE;
  SELECT CASE WHEN n > 0 THEN 'pos' ELSE 'neg' END;
  SELECT IF(n > 0, 'a', 'b');
  inner_block: BEGIN
    SELECT 'nested';
  END inner_block;
END;
CALL p(1);";
    let body = input.lines().take(23).collect::<Vec<_>>().join("\n");
    let body = body.strip_suffix(';').unwrap();
    check(MySql, input, &[(1, body), (24, "CALL p(1)")]);
}

#[test]
fn definer_forms_before_routines() {
    let input = "\
CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN SELECT 1; END;
CREATE DEFINER = 'admin'@'%' TRIGGER t AFTER INSERT ON x FOR EACH ROW BEGIN INSERT INTO y VALUES (1); END;
CREATE DEFINER=CURRENT_USER FUNCTION f() RETURNS INT BEGIN RETURN 1; END;
CREATE DEFINER = CURRENT_USER() EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM x; END;
CREATE OR REPLACE DEFINER=admin@localhost AGGREGATE FUNCTION g(x INT) RETURNS INT BEGIN RETURN 1; END;
SELECT 1;";
    check(
        MySql,
        input,
        &[
            (1, "CREATE DEFINER=`root`@`localhost` PROCEDURE p() BEGIN SELECT 1; END"),
            (2, "CREATE DEFINER = 'admin'@'%' TRIGGER t AFTER INSERT ON x FOR EACH ROW BEGIN INSERT INTO y VALUES (1); END"),
            (3, "CREATE DEFINER=CURRENT_USER FUNCTION f() RETURNS INT BEGIN RETURN 1; END"),
            (4, "CREATE DEFINER = CURRENT_USER() EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM x; END"),
            (5, "CREATE OR REPLACE DEFINER=admin@localhost AGGREGATE FUNCTION g(x INT) RETURNS INT BEGIN RETURN 1; END"),
            (6, "SELECT 1"),
        ],
    );
}

#[test]
fn routines_without_a_begin_end_at_the_semicolon() {
    check(
        MySql,
        "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1;\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1;\nCREATE FUNCTION g(x INT) RETURNS INT RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END;\nSELECT f();",
        &[
            (1, "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1"),
            (2, "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET NEW.a = 1"),
            (3, "CREATE FUNCTION g(x INT) RETURNS INT RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END"),
            (4, "SELECT f()"),
        ],
    );
}

#[test]
fn begin_and_end_as_identifiers_outside_routines() {
    check(
        MySql,
        "CREATE TABLE t (begin INT, end INT);\nINSERT INTO t (begin, end) VALUES (1, 2);",
        &[
            (1, "CREATE TABLE t (begin INT, end INT)"),
            (2, "INSERT INTO t (begin, end) VALUES (1, 2)"),
        ],
    );
    check(
        MySql,
        "CREATE DEFINER=`u`@`h` SQL SECURITY INVOKER VIEW v AS SELECT 1 AS begin;\nSELECT 2;",
        &[
            (
                1,
                "CREATE DEFINER=`u`@`h` SQL SECURITY INVOKER VIEW v AS SELECT 1 AS begin",
            ),
            (2, "SELECT 2"),
        ],
    );
}

#[test]
fn qualified_names_are_not_keywords_in_routines() {
    check(
        MySql,
        "CREATE PROCEDURE p() BEGIN SELECT t.end, t.begin, t.case FROM t; END;\nSELECT 1;",
        &[
            (
                1,
                "CREATE PROCEDURE p() BEGIN SELECT t.end, t.begin, t.case FROM t; END",
            ),
            (2, "SELECT 1"),
        ],
    );
}

#[test]
fn mariadb_anonymous_blocks() {
    check(
        MySql,
        "BEGIN NOT ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\nSELECT 3;",
        &[
            (1, "BEGIN NOT ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND"),
            (5, "SELECT 3"),
        ],
    );
    check(
        MySql,
        "CREATE PROCEDURE p() BEGIN FOR i IN 1..3 DO SELECT i; END FOR; END;\nSELECT 1;",
        &[
            (
                1,
                "CREATE PROCEDURE p() BEGIN FOR i IN 1..3 DO SELECT i; END FOR; END",
            ),
            (2, "SELECT 1"),
        ],
    );
}

#[test]
fn transaction_control_statements_are_ordinary() {
    check(
        MySql,
        "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN WORK;\nROLLBACK;",
        &[
            (1, "BEGIN"),
            (2, "INSERT INTO t VALUES (1)"),
            (3, "COMMIT"),
            (4, "BEGIN WORK"),
            (5, "ROLLBACK"),
        ],
    );
}

#[test]
fn dollar_signs_are_plain_characters() {
    check(
        MySql,
        "SELECT $$a; SELECT 2;",
        &[(1, "SELECT $$a"), (1, "SELECT 2")],
    );
}

#[test]
fn unterminated_constructs() {
    check_err(
        MySql,
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n",
        "the BEGIN ... END block that starts at line 2 is never closed",
    );
    check_err(
        MySql,
        "CREATE PROCEDURE p() BEGIN\n  IF x THEN SELECT 1; END IF;\n",
        "the BEGIN ... END block that starts at line 1 is never closed",
    );
    check_err(
        MySql,
        "CREATE FUNCTION f() RETURNS INT\nRETURN CASE WHEN 1 THEN 2;",
        "the CASE ... END block that starts at line 2 is never closed",
    );
    check_err(
        MySql,
        "SELECT 'abc\\';",
        "the string literal that starts at line 1 is never closed",
    );
    check_err(
        MySql,
        "SELECT \"abc;",
        "the string literal that starts at line 1 is never closed",
    );
    check_err(
        MySql,
        "SELECT `abc;",
        "the quoted identifier that starts at line 1 is never closed",
    );
    check_err(
        MySql,
        "/*!40101 SET x = 1;",
        "the block comment that starts at line 1 is never closed",
    );
}

#[test]
fn custom_delimiter_statement_without_end_is_still_yielded() {
    check(
        MySql,
        "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1;",
        &[(2, "CREATE PROCEDURE p() BEGIN SELECT 1;")],
    );
}

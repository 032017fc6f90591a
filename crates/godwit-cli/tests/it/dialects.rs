//! Real-world SQL that only splits right when the splitter knows the dialect: functions,
//! triggers and procedures, strings and comments holding `;`, quoted identifiers. Each file is
//! applied to the real server, then the objects it made are used, so a wrong split (which the
//! server would reject, or which would silently cut a body short) cannot pass.

use godwit_test_support::{Kind, Project};

/// The number of statements godwit sent for each step, from `migrate --json`.
fn statements_per_step(p: &Project) -> Vec<(String, u64)> {
    let report = p.godwit(&["migrate", "--json"]).success().json();
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["migration"].as_str().expect("migration").to_string(),
                s["statements"].as_u64().expect("statements"),
            )
        })
        .collect()
}

fn one(p: &Project, sql: &str) -> String {
    let rows = p.db.query(sql);
    assert_eq!(rows.len(), 1, "{sql} gave {rows:?}");
    rows[0].clone().unwrap_or_else(|| panic!("{sql} gave NULL"))
}

const PG_SCHEMA: &str = r##"/* Orders and their audit trail.
   /* Nested comments are legal in PostgreSQL; this one holds a ; and a ' */
   Still inside the outer comment; */
CREATE TABLE "Order Items" (
    "Id" serial PRIMARY KEY,
    "note;text" text NOT NULL DEFAULT 'a;b',   -- a default holding a ;
    updated_at timestamptz
);
CREATE TABLE audit_log (id serial PRIMARY KEY, tbl text, op text);

-- A trigger function: `;` inside $$ never ends the statement.
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now(); -- a comment; with a semicolon
    INSERT INTO audit_log (tbl, op) VALUES (TG_TABLE_NAME, TG_OP);
    RETURN NEW;
END;
$$;

CREATE TRIGGER order_items_touch
    BEFORE INSERT OR UPDATE ON "Order Items"
    FOR EACH ROW EXECUTE FUNCTION touch();

-- A tagged body holding `$$` and another tag.
CREATE OR REPLACE FUNCTION greet(who text) RETURNS text LANGUAGE plpgsql AS $body$
DECLARE
    greeting text := 'Hello; ';
BEGIN
    RETURN greeting || who || $q$; it's $$ quoted$q$;
END
$body$;

CREATE PROCEDURE add_item(note text) LANGUAGE plpgsql AS $proc$
BEGIN
    INSERT INTO "Order Items" ("note;text") VALUES (note);
END $proc$;

DO $$
DECLARE
    n int;
BEGIN
    SELECT count(*) INTO n FROM "Order Items";
    IF n = 0 THEN
        RAISE NOTICE 'empty; filling';
        INSERT INTO "Order Items" ("note;text") VALUES ('from a DO block; yes');
    END IF;
END
$$;

CALL add_item('from a procedure; ok');
INSERT INTO "Order Items" ("note;text") VALUES (E'tab\there; it\'s \\ escaped');
INSERT INTO "Order Items" ("note;text") VALUES ('plain '' quote; -- not a comment /* nor this */');

-- An SQL-standard body (PostgreSQL 14+): BEGIN ATOMIC ... END holds its own semicolons.
CREATE FUNCTION add_atomic(a int, b int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
    SELECT CASE WHEN a IS NULL THEN 0 ELSE a END + b;
END;

-- A rule with several actions in parentheses: psql does not split inside them.
CREATE RULE log_delete AS ON DELETE TO "Order Items" DO ALSO (
    INSERT INTO audit_log (tbl, op) VALUES ('Order Items', 'DELETE-1');
    INSERT INTO audit_log (tbl, op) VALUES ('Order Items', 'DELETE-2')
);
"##;

#[test]
fn postgres_functions_triggers_do_blocks_and_quoting() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__orders.sql", PG_SCHEMA);
    assert_eq!(statements_per_step(&p), [("V1".to_string(), 12)]);
    assert_eq!(one(&p, r#"SELECT count(*) FROM "Order Items""#), "4");
    // The trigger fired for every insert: its body was sent whole.
    assert_eq!(one(&p, "SELECT count(*) FROM audit_log"), "4");
    assert_eq!(
        one(
            &p,
            r#"SELECT count(*) FROM "Order Items" WHERE updated_at IS NOT NULL"#
        ),
        "4"
    );
    assert_eq!(one(&p, "SELECT greet('you')"), "Hello; you; it's $$ quoted");
    assert_eq!(one(&p, "SELECT add_atomic(2, 3)::text"), "5");
    assert_eq!(
        one(
            &p,
            r#"SELECT "note;text" FROM "Order Items" WHERE "note;text" LIKE 'tab%'"#
        ),
        "tab\there; it's \\ escaped"
    );
    assert_eq!(
        one(
            &p,
            r#"SELECT "note;text" FROM "Order Items" WHERE "note;text" LIKE 'plain%'"#
        ),
        "plain ' quote; -- not a comment /* nor this */"
    );
    p.db.exec(r#"DELETE FROM "Order Items" WHERE "Id" = 1"#);
    assert_eq!(
        one(
            &p,
            "SELECT count(*) FROM audit_log WHERE op LIKE 'DELETE-%'"
        ),
        "2"
    );
    // The file's checksum is stable across runs: nothing is pending or changed.
    p.godwit(&["validate"]).success();
}

const MYSQL_SCHEMA: &str = r##"# A dump-style header: hash comments; with semicolons.
-- dash-dash comments need a space after them; this one has it.
/*!40101 SET @saved_cs_client = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;

CREATE TABLE `order items` (
    `id` INT AUTO_INCREMENT PRIMARY KEY,
    `note;text` VARCHAR(200) NOT NULL DEFAULT 'a;b',
    `updated` INT NOT NULL DEFAULT 0
) /*!50100 ENGINE=InnoDB */;
CREATE TABLE audit_log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(200));

DELIMITER $$
CREATE TRIGGER order_items_bi BEFORE INSERT ON `order items`
FOR EACH ROW
BEGIN
    SET NEW.updated = 1;
    INSERT INTO audit_log (msg) VALUES (CONCAT('insert; ', NEW.`note;text`));
END$$

CREATE PROCEDURE fill(IN n INT)
BEGIN
    DECLARE i INT DEFAULT 0;
    WHILE i < n DO
        INSERT INTO `order items` (`note;text`) VALUES (CONCAT('row ', i, '; done'));
        SET i = i + 1;
    END WHILE;
END $$
DELIMITER ;

delimiter //
CREATE FUNCTION shout(s VARCHAR(100)) RETURNS VARCHAR(120) DETERMINISTIC
BEGIN
    IF s IS NULL THEN
        RETURN 'null;';
    END IF;
    RETURN CONCAT(UPPER(s), '!;');
END//
delimiter ;

-- mysqldump writes triggers like this: versioned comments and a `;;` delimiter.
DELIMITER ;;
/*!50003 CREATE*/ /*!50003 TRIGGER order_items_au AFTER UPDATE ON `order items` FOR EACH ROW BEGIN
    INSERT INTO audit_log (msg) VALUES ('update;');
END */;;
DELIMITER ;

-- No DELIMITER at all: the body of a stored program is still understood.
CREATE PROCEDURE bump()
BEGIN
    UPDATE `order items` SET updated = updated + 1 WHERE id = 1;
    CASE WHEN (SELECT COUNT(*) FROM audit_log) > 0
        THEN INSERT INTO audit_log (msg) VALUES ('bumped; ok');
        ELSE BEGIN END;
    END CASE;
END;

CALL fill(3);
CALL bump();
INSERT INTO `order items` (`note;text`) VALUES ('it\'s a \\ backslash; "double" -- not a comment');
INSERT INTO `order items` (`note;text`) VALUES ("double \"quoted\"; string # not a comment");
/*!40101 SET character_set_client = @saved_cs_client */;
"##;

#[test]
fn mysql_delimiter_procedures_triggers_and_quoting() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__orders.sql", MYSQL_SCHEMA);
    assert_eq!(statements_per_step(&p), [("V1".to_string(), 14)]);
    assert_eq!(one(&p, "SELECT COUNT(*) FROM `order items`"), "5");
    // Five inserts fired the insert trigger, bump() fired the update trigger and logged.
    assert_eq!(
        one(
            &p,
            "SELECT COUNT(*) FROM audit_log WHERE msg LIKE 'insert; %'"
        ),
        "5"
    );
    assert_eq!(
        one(&p, "SELECT COUNT(*) FROM audit_log WHERE msg = 'update;'"),
        "1"
    );
    assert_eq!(
        one(
            &p,
            "SELECT COUNT(*) FROM audit_log WHERE msg = 'bumped; ok'"
        ),
        "1"
    );
    assert_eq!(one(&p, "SELECT shout('hey')"), "HEY!;");
    assert_eq!(
        one(&p, "SELECT updated FROM `order items` WHERE id = 1"),
        "2"
    );
    assert_eq!(
        one(
            &p,
            "SELECT `note;text` FROM `order items` WHERE `note;text` LIKE 'it%'"
        ),
        r#"it's a \ backslash; "double" -- not a comment"#
    );
    assert_eq!(
        one(
            &p,
            "SELECT `note;text` FROM `order items` WHERE `note;text` LIKE 'double%'"
        ),
        r#"double "quoted"; string # not a comment"#
    );
    p.godwit(&["validate"]).success();
}

const SQLITE_SCHEMA: &str = r##"/* Orders and their audit trail; SQLite flavour. */
CREATE TABLE "order items" (
    id INTEGER PRIMARY KEY,
    [note;text] TEXT NOT NULL DEFAULT 'a;b',   -- bracket identifiers hold a ;
    `updated` INT NOT NULL DEFAULT 0
);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, msg TEXT);

CREATE TRIGGER order_items_ai AFTER INSERT ON "order items"
BEGIN
    INSERT INTO audit_log (msg) VALUES ('insert; ' || new.[note;text]);
    UPDATE "order items"
       SET updated = CASE WHEN new.id > 0 THEN 1 ELSE 0 END
     WHERE id = new.id;
END;

CREATE TRIGGER IF NOT EXISTS order_items_ad AFTER DELETE ON "order items"
FOR EACH ROW WHEN old.id > 0
BEGIN
    INSERT INTO audit_log (msg) VALUES ('delete; ' || old.id);
END;

INSERT INTO "order items" ([note;text]) VALUES ('it''s; fine -- not a comment');
INSERT INTO `order items` ([note;text]) VALUES ('back\slash; stays /* as is */');
DELETE FROM "order items" WHERE id = 1;
"##;

#[test]
fn sqlite_triggers_and_quoting() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__orders.sql", SQLITE_SCHEMA);
    assert_eq!(statements_per_step(&p), [("V1".to_string(), 7)]);
    assert_eq!(one(&p, "SELECT COUNT(*) FROM audit_log"), "3");
    assert_eq!(
        one(&p, "SELECT msg FROM audit_log WHERE msg LIKE 'delete%'"),
        "delete; 1"
    );
    assert_eq!(
        one(&p, "SELECT [note;text] FROM \"order items\""),
        r"back\slash; stays /* as is */"
    );
    assert_eq!(one(&p, "SELECT updated FROM \"order items\""), "1");
    p.godwit(&["validate"]).success();
}

/// A statement that fails after multi-line dialect constructs is reported at the line where it
/// starts, with the server's message and SQLSTATE (or error number).
fn failure_after_bodies_names_the_right_line(kind: Kind) {
    let p = Project::new(kind);
    let (body, code) = match kind {
        Kind::Postgres => (
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1; -- ;\nEND\n$$;\n",
            "[42P01]",
        ),
        Kind::MySql => (
            "DELIMITER //\nCREATE FUNCTION f() RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN 1;\nEND//\n",
            "[1146 (42S02)]",
        ),
        Kind::Sqlite => (
            "CREATE TABLE a (x INT);\nCREATE TRIGGER tr AFTER INSERT ON a\nBEGIN\n  SELECT 1;\nEND;\n",
            "[1]",
        ),
    };
    let delimiter = if kind == Kind::MySql { "//" } else { ";" };
    // The failing INSERT starts on line 8, after a comment that holds a `;`.
    let text = format!(
        "{body}/* a comment; spanning\n   two lines */\nINSERT INTO missing_table\n  VALUES (1){delimiter}\n"
    );
    assert_eq!(text.lines().position(|l| l.starts_with("INSERT")), Some(7));
    p.migration("V1__f.sql", &text);
    let run = p.godwit(&["migrate", "--json"]);
    run.code(1)
        .stderr_has("migrations/V1__f.sql:8")
        .stderr_has("INSERT INTO missing_table")
        .stderr_has("missing_table")
        .stderr_has(code);
    let json = run.json();
    assert_eq!(json["error"]["details"]["line"], 8);
    assert_eq!(
        json["error"]["details"]["code"].as_str(),
        Some(code.trim_matches(['[', ']']))
    );
}

godwit_test_support::on_every_database!(failure_after_bodies_names_the_right_line);

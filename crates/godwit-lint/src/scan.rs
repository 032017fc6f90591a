//! What one statement (as godwit's splitter cut it) does, as far as the rules need to know:
//! a small recognizer over its tokens, the same for every dialect. It never fails: a statement
//! it does not understand is [`Stmt::Other`].

use godwit_sql::Dialect;

/// One token of a statement. Words are uppercased; quoted identifiers keep their case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(String),
    Ident(String),
    Str,
    Num,
    Sym(char),
}

impl Tok {
    fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x == w)
    }

    /// The token as a name (lowercased when unquoted, as the databases fold it).
    fn name(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            Tok::Ident(i) => Some(i.clone()),
            _ => None,
        }
    }
}

pub(crate) fn tokenize(sql: &str, dialect: Dialect) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') || c == b'#' && dialect == Dialect::MySql
        {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let executable = dialect == Dialect::MySql && matches!(b.get(i + 2), Some(b'!'));
            if executable {
                // `/*!50100 … */`: the server runs it; read its content as SQL.
                i += 3;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if c == b'*' && b.get(i + 1) == Some(&b'/') && dialect == Dialect::MySql {
            i += 2;
        } else if c == b'\'' || (c == b'"' && dialect == Dialect::MySql) {
            i = skip_quoted(b, i, c, dialect == Dialect::MySql);
            out.push(Tok::Str);
        } else if c == b'"' || c == b'`' || (c == b'[' && dialect == Dialect::Sqlite) {
            let close = if c == b'[' { b']' } else { c };
            let start = i + 1;
            i = skip_quoted(b, i, close, false);
            let end = i.saturating_sub(1).max(start);
            out.push(Tok::Ident(sql[start..end].replace("\"\"", "\"")));
        } else if c == b'$' && b.get(i + 1) == Some(&b'{') {
            // A placeholder, `${name}`: a name once godwit replaces it.
            let start = i;
            while i < b.len() && b[i] != b'}' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(Tok::Ident(sql[start..i].to_owned()));
        } else if c == b'$' && dialect == Dialect::Postgres {
            // A dollar quote: `$$` or `$tag$`.
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j < b.len() && b[j] == b'$' && !b[i + 1..j].first().is_some_and(u8::is_ascii_digit) {
                let tag = &sql[i..=j];
                match sql[j + 1..].find(tag) {
                    Some(p) => i = j + 1 + p + tag.len(),
                    None => i = b.len(),
                }
                out.push(Tok::Str);
            } else {
                i = j.max(i + 1);
                out.push(Tok::Sym('$'));
            }
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            out.push(Tok::Word(sql[start..i].to_ascii_uppercase()));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Num);
        } else {
            out.push(Tok::Sym(c as char));
            i += 1;
        }
    }
    out
}

fn skip_quoted(b: &[u8], start: usize, close: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == close {
            if b.get(i + 1) == Some(&close) && close != b']' {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// The kind of a constraint that is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    ForeignKey,
    Check,
    Unique,
    PrimaryKey,
    Exclude,
    /// MySQL `ADD INDEX`/`ADD KEY`/`ADD FULLTEXT`: no constraint, an index.
    Index,
}

/// A column default, as far as rewriting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Default {
    None,
    Constant,
    /// A function evaluated per row (`now()`, `random()`, `gen_random_uuid()`, …): PostgreSQL
    /// rewrites the table to store it.
    Volatile,
}

/// One action of an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Alter {
    AddColumn {
        not_null: bool,
        default: Default,
    },
    AddConstraint {
        kind: Constraint,
        not_valid: bool,
        /// PostgreSQL `… UNIQUE | PRIMARY KEY USING INDEX i`: the index exists already.
        using_index: bool,
        name: Option<String>,
    },
    DropColumn,
    /// `DROP CONSTRAINT`, `DROP INDEX` (MySQL), `DROP PRIMARY KEY`, `DROP FOREIGN KEY`.
    DropOther,
    RenameColumn,
    RenameTable,
    /// `RENAME INDEX`, `RENAME CONSTRAINT`.
    RenameOther,
    /// PostgreSQL `ALTER COLUMN … TYPE`, MySQL `MODIFY`/`CHANGE` (which restate the column's
    /// whole definition, so godwit cannot tell whether the type is the same).
    ChangeType {
        not_null: bool,
        renames: bool,
    },
    SetNotNull,
    DropNotNull,
    SetDefault,
    DropDefault,
    ValidateConstraint(Option<String>),
    Algorithm(String),
    Lock(String),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stmt {
    CreateTable {
        table: String,
    },
    AlterTable {
        table: String,
        actions: Vec<Alter>,
    },
    CreateIndex {
        table: String,
        unique: bool,
        concurrently: bool,
        algorithm: Option<String>,
        lock: Option<String>,
    },
    DropIndex {
        concurrently: bool,
    },
    DropTable {
        tables: Vec<String>,
    },
    /// MySQL `RENAME TABLE a TO b`.
    RenameTable {
        table: String,
    },
    Insert {
        guarded: bool,
    },
    Update {
        has_where: bool,
    },
    /// `SET [LOCAL|SESSION] lock_timeout | lock_wait_timeout | innodb_lock_wait_timeout`.
    SetLockTimeout,
    Other,
}

struct Cursor<'a> {
    t: &'a [Tok],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.t.get(self.i)
    }
    fn eat(&mut self, w: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_word(w)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_all(&mut self, words: &[&str]) -> bool {
        let save = self.i;
        for w in words {
            if !self.eat(w) {
                self.i = save;
                return false;
            }
        }
        true
    }
    /// A possibly qualified name (`schema.table`): its last part.
    fn name(&mut self) -> Option<String> {
        let mut last = self.peek()?.name()?;
        self.i += 1;
        while self.peek() == Some(&Tok::Sym('.')) {
            self.i += 1;
            match self.peek().and_then(Tok::name) {
                Some(n) => {
                    last = n;
                    self.i += 1;
                }
                None => break,
            }
        }
        Some(last)
    }
    fn rest(&self) -> &'a [Tok] {
        &self.t[self.i.min(self.t.len())..]
    }
}

fn has_word(t: &[Tok], w: &str) -> bool {
    t.iter().any(|x| x.is_word(w))
}

fn has_seq(t: &[Tok], words: &[&str]) -> bool {
    t.windows(words.len())
        .any(|win| win.iter().zip(words).all(|(x, w)| x.is_word(w)))
}

/// Splits tokens at commas outside parentheses.
fn split_commas(t: &[Tok]) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, x) in t.iter().enumerate() {
        match x {
            Tok::Sym('(') => depth += 1,
            Tok::Sym(')') => depth -= 1,
            Tok::Sym(',') if depth == 0 => {
                out.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&t[start..]);
    out
}

/// The value after `KEY =` (or `KEY value`) in MySQL table options (`ALGORITHM=INPLACE`).
fn option_value(t: &[Tok], key: &str) -> Option<String> {
    let p = t.iter().position(|x| x.is_word(key))?;
    let mut j = p + 1;
    if t.get(j) == Some(&Tok::Sym('=')) {
        j += 1;
    }
    match t.get(j) {
        Some(Tok::Word(w)) => Some(w.clone()),
        _ => None,
    }
}

const VOLATILE: &[&str] = &[
    "NOW",
    "CURRENT_TIMESTAMP",
    "CLOCK_TIMESTAMP",
    "STATEMENT_TIMESTAMP",
    "TRANSACTION_TIMESTAMP",
    "RANDOM",
    "GEN_RANDOM_UUID",
    "UUID_GENERATE_V4",
    "UUID_GENERATE_V1",
    "NEXTVAL",
    "TIMEOFDAY",
];

/// PostgreSQL 11+ stores a constant default without a rewrite; `now()` and friends are
/// evaluated once per statement and also stored without a rewrite, except the truly volatile
/// ones (`clock_timestamp()`, `random()`, `gen_random_uuid()`, `nextval()`, `timeofday()`).
fn default_kind(def: &[Tok]) -> Default {
    let Some(p) = def.iter().position(|x| x.is_word("DEFAULT")) else {
        return if def
            .iter()
            .any(|x| x.is_word("SERIAL") || x.is_word("BIGSERIAL") || x.is_word("SMALLSERIAL"))
        {
            Default::Volatile
        } else if has_word(def, "AUTO_INCREMENT")
            || has_word(def, "AUTOINCREMENT")
            || has_word(def, "IDENTITY")
            || has_word(def, "GENERATED")
        {
            Default::Constant
        } else {
            Default::None
        };
    };
    let after = &def[p + 1..];
    let stable_time = [
        "NOW",
        "CURRENT_TIMESTAMP",
        "STATEMENT_TIMESTAMP",
        "TRANSACTION_TIMESTAMP",
    ];
    let volatile = after.iter().take(4).any(|x| {
        matches!(x, Tok::Word(w) if VOLATILE.contains(&w.as_str()) && !stable_time.contains(&w.as_str()))
    });
    if volatile {
        Default::Volatile
    } else {
        Default::Constant
    }
}

fn constraint_kind(t: &[Tok]) -> Option<Constraint> {
    let mut c = Cursor { t, i: 0 };
    if c.eat("CONSTRAINT") {
        c.name();
    }
    match c.peek() {
        Some(Tok::Word(w)) => match w.as_str() {
            "FOREIGN" => Some(Constraint::ForeignKey),
            "CHECK" => Some(Constraint::Check),
            "UNIQUE" => Some(Constraint::Unique),
            "PRIMARY" => Some(Constraint::PrimaryKey),
            "EXCLUDE" => Some(Constraint::Exclude),
            "INDEX" | "KEY" | "FULLTEXT" | "SPATIAL" => Some(Constraint::Index),
            _ => None,
        },
        _ => None,
    }
}

fn constraint_name(t: &[Tok]) -> Option<String> {
    let mut c = Cursor { t, i: 0 };
    if c.eat("CONSTRAINT") {
        c.name()
    } else {
        None
    }
}

fn parse_action(t: &[Tok], dialect: Dialect) -> Alter {
    let mut c = Cursor { t, i: 0 };
    if c.eat("ADD") {
        if let Some(kind) = constraint_kind(c.rest()) {
            return Alter::AddConstraint {
                kind,
                not_valid: has_seq(c.rest(), &["NOT", "VALID"]),
                using_index: has_seq(c.rest(), &["USING", "INDEX"]),
                name: constraint_name(c.rest()),
            };
        }
        c.eat("COLUMN");
        let def = c.rest();
        let default = default_kind(def);
        let not_null = has_seq(def, &["NOT", "NULL"])
            || has_seq(def, &["PRIMARY", "KEY"])
            || has_word(def, "IDENTITY");
        return Alter::AddColumn { not_null, default };
    }
    if c.eat("DROP") {
        if c.eat("COLUMN") {
            return Alter::DropColumn;
        }
        if c.eat("DEFAULT") {
            return Alter::DropDefault;
        }
        return match c.peek() {
            Some(Tok::Word(w))
                if matches!(
                    w.as_str(),
                    "CONSTRAINT" | "INDEX" | "KEY" | "PRIMARY" | "FOREIGN" | "CHECK"
                ) =>
            {
                Alter::DropOther
            }
            Some(_) => Alter::DropColumn,
            None => Alter::Other,
        };
    }
    if c.eat("RENAME") {
        if c.eat("COLUMN") {
            return Alter::RenameColumn;
        }
        if c.eat("TO") || c.eat("AS") {
            return Alter::RenameTable;
        }
        if c.eat("INDEX") || c.eat("KEY") || c.eat("CONSTRAINT") {
            return Alter::RenameOther;
        }
        // PostgreSQL and SQLite: `RENAME old TO new` renames a column.
        return Alter::RenameColumn;
    }
    if c.eat("ALTER") {
        c.eat("COLUMN");
        c.name();
        let r = c.rest();
        if c.eat("TYPE") || c.eat_all(&["SET", "DATA", "TYPE"]) {
            return Alter::ChangeType {
                not_null: false,
                renames: false,
            };
        }
        if c.eat_all(&["SET", "NOT", "NULL"]) {
            return Alter::SetNotNull;
        }
        if c.eat_all(&["DROP", "NOT", "NULL"]) {
            return Alter::DropNotNull;
        }
        if c.eat_all(&["SET", "DEFAULT"]) {
            return Alter::SetDefault;
        }
        if c.eat_all(&["DROP", "DEFAULT"]) {
            return Alter::DropDefault;
        }
        let _ = r;
        return Alter::Other;
    }
    if dialect == Dialect::MySql && (c.eat("MODIFY") || c.eat("CHANGE")) {
        let change = t.first().is_some_and(|x| x.is_word("CHANGE"));
        c.eat("COLUMN");
        let old = c.name();
        let renames = change && {
            let new = c.name();
            new.is_some() && new != old
        };
        return Alter::ChangeType {
            not_null: has_seq(c.rest(), &["NOT", "NULL"]),
            renames,
        };
    }
    if c.eat("VALIDATE") && c.eat("CONSTRAINT") {
        return Alter::ValidateConstraint(c.name());
    }
    if c.peek().is_some_and(|x| x.is_word("ALGORITHM")) {
        return Alter::Algorithm(option_value(t, "ALGORITHM").unwrap_or_default());
    }
    if c.peek().is_some_and(|x| x.is_word("LOCK")) {
        return Alter::Lock(option_value(t, "LOCK").unwrap_or_default());
    }
    Alter::Other
}

/// What a statement does.
pub(crate) fn recognize(sql: &str, dialect: Dialect) -> Stmt {
    let toks = tokenize(sql, dialect);
    let mut c = Cursor { t: &toks, i: 0 };
    if c.eat("CREATE") {
        let or_replace = c.eat_all(&["OR", "REPLACE"]);
        c.eat("TEMPORARY");
        c.eat("TEMP");
        c.eat("UNLOGGED");
        if !or_replace && c.eat("TABLE") {
            c.eat_all(&["IF", "NOT", "EXISTS"]);
            return c
                .name()
                .map_or(Stmt::Other, |table| Stmt::CreateTable { table });
        }
        let unique = c.eat("UNIQUE");
        c.eat("FULLTEXT");
        c.eat("SPATIAL");
        if c.eat("INDEX") {
            let concurrently = c.eat("CONCURRENTLY");
            c.eat_all(&["IF", "NOT", "EXISTS"]);
            let rest = c.rest();
            let on = rest.iter().position(|x| x.is_word("ON"));
            let table = on
                .and_then(|p| {
                    let mut d = Cursor { t: rest, i: p + 1 };
                    d.eat("ONLY");
                    d.name()
                })
                .unwrap_or_default();
            return Stmt::CreateIndex {
                table,
                unique,
                concurrently,
                algorithm: option_value(rest, "ALGORITHM"),
                lock: option_value(rest, "LOCK"),
            };
        }
        return Stmt::Other;
    }
    if c.eat("ALTER") {
        c.eat("ONLINE");
        c.eat("IGNORE");
        if !c.eat("TABLE") {
            return Stmt::Other;
        }
        c.eat_all(&["IF", "EXISTS"]);
        c.eat("ONLY");
        let Some(table) = c.name() else {
            return Stmt::Other;
        };
        let actions = split_commas(c.rest())
            .into_iter()
            .filter(|a| !a.is_empty())
            .map(|a| parse_action(a, dialect))
            .collect();
        return Stmt::AlterTable { table, actions };
    }
    if c.eat("DROP") {
        if c.eat("INDEX") {
            return Stmt::DropIndex {
                concurrently: c.eat("CONCURRENTLY"),
            };
        }
        c.eat("TEMPORARY");
        if c.eat("TABLE") {
            c.eat_all(&["IF", "EXISTS"]);
            let tables = split_commas(c.rest())
                .into_iter()
                .filter_map(|t| Cursor { t, i: 0 }.name())
                .collect();
            return Stmt::DropTable { tables };
        }
        return Stmt::Other;
    }
    if c.eat("RENAME") && c.eat("TABLE") {
        return c
            .name()
            .map_or(Stmt::Other, |table| Stmt::RenameTable { table });
    }
    if c.eat("INSERT") || c.eat("REPLACE") {
        let replace = toks.first().is_some_and(|x| x.is_word("REPLACE"));
        let rest = c.rest();
        let guarded = replace
            || rest.first().is_some_and(|x| x.is_word("IGNORE"))
            || has_seq(rest, &["OR", "IGNORE"][..])
                && rest.first().is_some_and(|x| x.is_word("OR"))
            || has_seq(rest, &["OR", "REPLACE"][..])
                && rest.first().is_some_and(|x| x.is_word("OR"))
            || has_seq(rest, &["ON", "CONFLICT"])
            || has_seq(rest, &["ON", "DUPLICATE", "KEY"])
            || has_seq(rest, &["NOT", "EXISTS"])
            || has_seq(rest, &["NOT", "IN"]);
        return Stmt::Insert { guarded };
    }
    if c.eat("UPDATE") {
        return Stmt::Update {
            has_where: has_word(c.rest(), "WHERE"),
        };
    }
    if c.eat("SET") {
        c.eat("LOCAL");
        c.eat("SESSION");
        let rest = c.rest();
        let var = rest.iter().find_map(|x| match x {
            Tok::Word(w) => Some(w.as_str()),
            _ => None,
        });
        if matches!(
            var,
            Some("LOCK_TIMEOUT" | "LOCK_WAIT_TIMEOUT" | "INNODB_LOCK_WAIT_TIMEOUT")
        ) {
            return Stmt::SetLockTimeout;
        }
    }
    Stmt::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_alter_actions() {
        let s = recognize(
            "ALTER TABLE app.\"Users\" ADD COLUMN x int NOT NULL, DROP COLUMN y",
            Dialect::Postgres,
        );
        assert_eq!(
            s,
            Stmt::AlterTable {
                table: "Users".into(),
                actions: vec![
                    Alter::AddColumn {
                        not_null: true,
                        default: Default::None
                    },
                    Alter::DropColumn
                ]
            }
        );
        let s = recognize(
            "ALTER TABLE t ADD COLUMN c int, ALGORITHM=INSTANT",
            Dialect::MySql,
        );
        assert!(
            matches!(s, Stmt::AlterTable { ref actions, .. } if actions[1] == Alter::Algorithm("INSTANT".into()))
        );
    }

    #[test]
    fn guarded_inserts() {
        for (sql, d, guarded) in [
            ("INSERT INTO t VALUES (1)", Dialect::Postgres, false),
            (
                "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
                Dialect::Postgres,
                true,
            ),
            ("INSERT IGNORE INTO t VALUES (1)", Dialect::MySql, true),
            ("INSERT OR IGNORE INTO t VALUES (1)", Dialect::Sqlite, true),
            (
                "INSERT INTO t SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t)",
                Dialect::Sqlite,
                true,
            ),
        ] {
            assert_eq!(recognize(sql, d), Stmt::Insert { guarded }, "{sql}");
        }
    }
}

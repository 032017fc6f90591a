//! The rules: their ids, default levels, what breaks and the safe recipe. `docs/lint.md` has a
//! section per rule, under a heading that is the rule's id.

use std::fmt;
use std::str::FromStr;

/// How much a finding matters: `off` hides it, `warn` prints it, `error` also makes `godwit lint`
/// (and `migrate` with `lint = "error"`) fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(Level::Off),
            "warn" => Ok(Level::Warn),
            "error" => Ok(Level::Error),
            _ => Err(format!("`{s}` is not a level: use off, warn or error")),
        }
    }
}

/// The family a rule belongs to, which decides where it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Breaks the previous release, which still runs during a rolling upgrade: not reported in a
    /// file marked `-- godwit:contract`, nor in undo and baseline migrations.
    Compatibility,
    /// Blocks other sessions or rewrites a table: not reported in baseline migrations (they run
    /// on an empty database).
    Locking,
    /// About how godwit runs the file.
    Godwit,
}

macro_rules! rules {
    ($($variant:ident = $id:literal, $family:ident, $level:ident, $title:literal, $recipe:literal;)*) => {
        /// A lint rule. The id (`drop-column`) is what findings, `-- godwit:lint-allow` and the
        /// `[lint_rules]` table use.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($variant),*
        }

        impl Rule {
            /// Every rule, in documentation order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The rule's id.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id),* }
            }

            /// Where it applies.
            pub fn family(self) -> Family {
                match self { $(Rule::$variant => Family::$family),* }
            }

            /// Its level unless the configuration says otherwise.
            pub fn default_level(self) -> Level {
                match self { $(Rule::$variant => Level::$level),* }
            }

            /// What it finds, in a few words.
            pub fn title(self) -> &'static str {
                match self { $(Rule::$variant => $title),* }
            }

            /// How to make the change safely, in one or two sentences.
            pub fn recipe(self) -> &'static str {
                match self { $(Rule::$variant => $recipe),* }
            }
        }
    };
}

rules! {
    DropColumn = "drop-column", Compatibility, Error,
        "a column the previous release may still read or write is dropped",
        "stop using the column in a release first, then drop it in a later migration marked `-- godwit:contract`";
    DropTable = "drop-table", Compatibility, Error,
        "a table the previous release may still use is dropped",
        "stop using the table in a release first, then drop it in a later migration marked `-- godwit:contract`";
    RenameColumn = "rename-column", Compatibility, Error,
        "a column is renamed: the previous release still uses the old name",
        "add the new column, write both from the application, backfill in a data migration (D), switch reads, then drop the old column in a contract step";
    RenameTable = "rename-table", Compatibility, Error,
        "a table is renamed: the previous release still uses the old name",
        "create the new table (or a view with the new name), move the application over, then drop the old name in a contract step";
    ColumnTypeChange = "column-type-change", Compatibility, Error,
        "a column's type changes under the previous release",
        "add a column of the new type, write both, backfill in a data migration (D), switch reads, then drop the old column in a contract step";
    NotNullAdded = "not-null-added", Compatibility, Error,
        "NOT NULL is added (or a NOT NULL column without a default): the previous release does not write the column",
        "add the column nullable or with a DEFAULT; backfill in a data migration (D); add NOT NULL in a contract step once every node writes it (PostgreSQL: a CHECK (col IS NOT NULL) NOT VALID, VALIDATE, then SET NOT NULL)";
    DropDefault = "drop-default", Compatibility, Error,
        "a column's default is dropped: the previous release relies on it when it leaves the column out",
        "drop the default in a contract step, once no release omits the column from its INSERTs";
    ConstraintAdded = "constraint-added", Compatibility, Warn,
        "a constraint is added that rows written by the previous release may violate",
        "make the application write valid rows first, then add the constraint in a contract step (PostgreSQL: NOT VALID, then VALIDATE CONSTRAINT in a later migration)";
    IndexNotConcurrent = "index-not-concurrent", Locking, Error,
        "an index is built or dropped without CONCURRENTLY: writes to the table wait until it finishes",
        "use CREATE INDEX CONCURRENTLY (or DROP INDEX CONCURRENTLY) in a migration of its own, which godwit runs outside a transaction; for a UNIQUE or PRIMARY KEY constraint, build its index that way first, then ADD CONSTRAINT … USING INDEX";
    ConstraintNotValid = "constraint-not-valid", Locking, Error,
        "a foreign key or check is validated while the table is locked",
        "add it with NOT VALID, then run ALTER TABLE … VALIDATE CONSTRAINT in a later migration (its own transaction), which does not block writes";
    TableRewrite = "table-rewrite", Locking, Error,
        "the statement rewrites the whole table under an exclusive lock",
        "add a new column (without a volatile default), backfill it in batches in a data migration (D), then switch over in a contract step";
    MysqlOnlineDdl = "mysql-online-ddl", Locking, Warn,
        "ALTER TABLE on MySQL/MariaDB without ALGORITHM=INSTANT or ALGORITHM=INPLACE, LOCK=NONE may copy the table and block writes",
        "state the algorithm and lock, e.g. `ALTER TABLE t ADD COLUMN c int, ALGORITHM=INSTANT` or `…, ALGORITHM=INPLACE, LOCK=NONE`: the server then refuses, instead of blocking, when it cannot do it online";
    LockTimeoutMissing = "lock-timeout-missing", Locking, Warn,
        "a statement takes a strong lock with no lock timeout in force: while it waits, every other session queues behind it",
        "set `statement_lock_timeout` (e.g. \"5s\") in godwit.toml, or `-- godwit:statement-lock-timeout=5s` on the file's first line, with `statement_lock_retries`";
    MissingUndo = "missing-undo", Godwit, Warn,
        "a versioned migration has no undo script: a release that fails cannot be rolled back to the previous version",
        "write U<version>__<description>.sql beside it (`godwit new --undo`), or accept it with `-- godwit:lint-allow missing-undo <reason>`";
    DataNotRerunnable = "data-not-rerunnable", Godwit, Error,
        "a data migration (D) runs on every migrate, but this statement does not give the same result when run again",
        "guard it: INSERT … ON CONFLICT DO NOTHING (PostgreSQL, SQLite), INSERT IGNORE or ON DUPLICATE KEY UPDATE (MySQL), INSERT … SELECT … WHERE NOT EXISTS, UPDATE … WHERE <not done yet>";
    DataDdlMysql = "data-ddl-mysql", Godwit, Error,
        "DDL in a data migration on MySQL/MariaDB commits the migration's transaction half-way",
        "move the DDL into a versioned migration (V); keep D files to INSERT, UPDATE and DELETE";
    TransactionControl = "transaction-control", Godwit, Error,
        "a statement controls transactions in a file godwit runs in a transaction of its own",
        "remove it (godwit commits each migration), or put `-- godwit:no-transaction` on the first line if the file manages its own transactions";
    ContractWithExpand = "contract-with-expand", Godwit, Error,
        "a contract step runs in the same release as the expand step it depends on: nodes of the previous release are still running",
        "ship the contract step (the file marked `-- godwit:contract`) in a later release, once every node runs the release that expanded";
}

impl Rule {
    /// The rule's section in `docs/lint.md`.
    pub fn docs(self) -> String {
        format!("docs/lint.md#{}", self.id())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Rule, String> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.id().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
                format!("`{s}` is not a lint rule; the rules are {}", ids.join(", "))
            })
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

//! Every configuration key, declared once: its name in `godwit.toml`, its environment
//! variables, its flag, where its value goes and its documentation. The unknown-key suggestions
//! and `docs/configuration.md` are derived from this table (a unit test keeps the committed page
//! in step with it); the documentation is compiled into the tests only.

use std::path::PathBuf;
use std::time::Duration;

use super::Settings;

/// Which setting a key fills, and so how its value is read.
#[derive(Clone, Copy)]
pub(super) enum Slot {
    /// The database URL; a relative SQLite path in a file is resolved against the file's
    /// directory.
    Url,
    /// A non-empty string that may be left unset.
    OptText(fn(&mut Settings) -> &mut Option<String>),
    /// The password: never shown in a message; setting it clears `password_file`.
    Password,
    /// The password file: a path, relative to the file that sets it; setting it clears `password`.
    PasswordFile,
    /// The history table: `name` or `schema.name`.
    Table,
    /// The target: `latest`, `current`, `none` or a version; a string, or an integer in a file
    /// (a float is refused).
    Target,
    /// The baseline version: a string, or an integer in a file (a float is refused).
    BaselineVersion,
    /// Directories; relative ones in a file are resolved against the file's directory.
    Paths(fn(&mut Settings) -> &mut Vec<PathBuf>),
    /// A list of names, possibly empty.
    List(fn(&mut Settings) -> &mut Vec<String>),
    /// A boolean.
    Bool(fn(&mut Settings) -> &mut bool),
    /// A duration.
    Duration(fn(&mut Settings) -> &mut Duration),
    /// A duration of at least a millisecond that may be left unset.
    OptDuration(fn(&mut Settings) -> &mut Option<Duration>),
    /// A count: a whole number, 0 or more.
    Count(fn(&mut Settings) -> &mut u32),
    /// The `[placeholders]` table.
    Placeholders,
    /// A lint level: `off`, `warn` or `error`.
    Level(fn(&mut Settings) -> &mut godwit_lint::Level),
    /// The `[lint_rules]` table: a level for each rule named; in the environment,
    /// `rule=level` pairs separated by commas.
    LintRules,
    /// A non-empty string that has a default.
    Text(fn(&mut Settings) -> &mut String),
    /// A list of entries, each parsed into the setting's type by the function, which stores
    /// them (an error names the entry).
    ParsedList(fn(&mut Settings, &[String]) -> Result<(), String>),
}

impl Slot {
    /// The value's type, as the documentation names it.
    #[cfg(test)]
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Slot::Url => "string (URL)",
            Slot::OptText(_) | Slot::Table | Slot::Password | Slot::Text(_) => "string",
            Slot::PasswordFile => "string (path)",
            Slot::Target | Slot::BaselineVersion => "string or integer",
            Slot::Paths(_) | Slot::List(_) | Slot::ParsedList(_) => {
                "array of strings, or one string"
            }
            Slot::Bool(_) => "boolean",
            Slot::Duration(_) | Slot::OptDuration(_) => "duration string, or integer seconds",
            Slot::Count(_) => "integer",
            Slot::Placeholders => "table of strings",
            Slot::Level(_) => "string: `off`, `warn` or `error`",
            Slot::LintRules => "table of levels (`rule = \"off\" | \"warn\" | \"error\"`)",
        }
    }
}

/// One configuration key, as the layers read it.
pub(super) struct Key {
    /// The key in `godwit.toml`.
    pub(super) key: &'static str,
    /// The environment variables that set it, the first one set winning.
    pub(super) env: &'static [&'static str],
    /// Where the value goes.
    pub(super) slot: Slot,
}

/// One configuration key with its documentation (tests only: the documentation is generated
/// by a test).
#[cfg(test)]
pub(super) struct KeyDoc {
    /// The key in `godwit.toml`.
    pub(super) key: &'static str,
    /// The environment variables that set it, the first one set winning.
    pub(super) env: &'static [&'static str],
    /// The command-line flag, if any.
    pub(super) flag: Option<&'static str>,
    /// The default, as the documentation shows it (markdown).
    pub(super) default: &'static str,
    /// The default as a TOML value, when it can be written as one (checked by a test).
    pub(super) default_toml: Option<&'static str>,
    /// One sentence for the key table.
    pub(super) summary: &'static str,
    /// The rest of the documentation (markdown).
    pub(super) details: &'static str,
    /// A `godwit.toml` snippet that sets the key.
    pub(super) example: &'static str,
    /// Where the value goes.
    pub(super) slot: Slot,
}

/// Declares the keys once: `KEYS` for the layers and, in tests, `DOCS`, the same keys in the
/// same order with their documentation.
macro_rules! keys {
    ($({
        key: $key:expr,
        env: $env:expr,
        flag: $flag:expr,
        default: $default:expr,
        default_toml: $default_toml:expr,
        summary: $summary:expr,
        details: $details:expr,
        example: $example:expr,
        slot: $slot:expr $(,)?
    }),* $(,)?) => {
        /// Every configuration key, in documentation order.
        pub(super) static KEYS: &[Key] = &[$(Key {
            key: $key,
            env: $env,
            slot: $slot,
        }),*];

        /// Every configuration key with its documentation, in the order of [`KEYS`].
        #[cfg(test)]
        pub(super) static DOCS: &[KeyDoc] = &[$(KeyDoc {
            key: $key,
            env: $env,
            flag: $flag,
            default: $default,
            default_toml: $default_toml,
            summary: $summary,
            details: $details,
            example: $example,
            slot: $slot,
        }),*];
    };
}

keys! {
    {
        key: "url",
        env: &["GODWIT_URL", "DATABASE_URL"],
        flag: Some("--url"),
        default: "none: commands that need a database say how to set one",
        default_toml: None,
        summary: "The database to migrate.",
        details: "`postgres://` or `postgresql://`, `mysql://` or `mariadb://`, `sqlite://path` \
                  (or `sqlite:path`), or `sqlite::memory:`. The user name goes in the URL; the \
                  password too (percent-encoded where it contains `@ / : # ? %`), or, to keep it \
                  out of the process table, in `password` or `password_file`. godwit never prints \
                  a password: messages show the URL as `postgres://user:***@host/db`, and the \
                  values of password-like parameters (`password`, `pass`, `passwd`, `pwd`, \
                  `sslpassword`, `sslkey`, and any name containing `password`, `secret` or \
                  `token`) as `***`. A URL godwit cannot read with certainty, an unknown \
                  parameter (`ssl_mode` for `sslmode`) or value (`charset=bogus`), and a URL that \
                  names no database (`mysql://host:3306` without `schemas`, `sqlite:`) are \
                  refused with exit 2, as is `sqlite::memory:` for a command that writes (the \
                  database would be thrown away at exit); a PostgreSQL URL without a database \
                  connects to the database named after the user, as `psql` does. \
                  `DATABASE_URL` is read only when `GODWIT_URL` is not set.",
        example: "url = \"postgres://app@localhost:5432/app\"",
        slot: Slot::Url,
    },
    {
        key: "password",
        env: &["GODWIT_PASSWORD"],
        flag: None,
        default: "none: the password in `url`, if any",
        default_toml: None,
        summary: "The database password, kept out of the URL.",
        details: "A password in `--url` can be read by every local user in the process table; \
                  set it here, or better in `GODWIT_PASSWORD` or a `password_file`, and leave it \
                  out of the URL. It is used as written (no percent-encoding) on PostgreSQL and \
                  MySQL/MariaDB. A URL that has a password too is refused (exit 2), as is a \
                  password for SQLite, which has none. `password` and `password_file` are one \
                  setting: a source that sets one replaces the other from earlier sources, and a \
                  source that sets both is refused. godwit never prints it.",
        example: "password = \"change-me\"",
        slot: Slot::Password,
    },
    {
        key: "password_file",
        env: &["GODWIT_PASSWORD_FILE"],
        flag: None,
        default: "none",
        default_toml: None,
        summary: "A file holding the database password.",
        details: "The file's one line is the password; its trailing newline (`\\n` or \
                  `\\r\\n`) is dropped. An empty file, a file of more than one line or one that \
                  is not UTF-8 is refused (exit 2), without showing its content. A relative path \
                  in a file is taken from that file's directory. Suits secrets mounted by \
                  Docker or Kubernetes (`/run/secrets/…`). The same rules as `password` apply.",
        example: "password_file = \"/run/secrets/db_password\"",
        slot: Slot::PasswordFile,
    },
    {
        key: "user",
        env: &["GODWIT_USER"],
        flag: None,
        default: "none: the user in `url`, if any",
        default_toml: None,
        summary: "The database user, kept apart from the URL (Flyway's `user`).",
        details: "Put into the URL's user name when godwit connects. A URL that names another \
                  user (before the host, or in a JDBC URL's `user=`) is refused (exit 2), as is a \
                  user for SQLite, which has none. Where the URL names the same user, nothing \
                  changes.",
        example: "user = \"deploy\"",
        slot: Slot::OptText(|s| &mut s.cli.user),
    },
    {
        key: "locations",
        env: &["GODWIT_LOCATIONS"],
        flag: Some("--locations"),
        default: "`[\"migrations\"]`",
        default_toml: Some("[\"migrations\"]"),
        summary: "The directories searched, recursively, for migration files.",
        details: "An array of directories, or one string, which is split at commas like \
                  `GODWIT_LOCATIONS`. Flyway's `filesystem:` prefix is accepted and ignored; a \
                  `classpath:` location is refused, since godwit reads directories. \
                  `godwit new` creates files in the first location.",
        example: "locations = [\"db/migrations\", \"db/reference-data\"]",
        slot: Slot::Paths(|s| &mut s.cli.locations),
    },
    {
        key: "table",
        env: &["GODWIT_TABLE"],
        flag: Some("--table"),
        default: "`godwit_schema_history`",
        default_toml: Some("\"godwit_schema_history\""),
        summary: "The history table, optionally schema-qualified.",
        details: "`app.schema_history` puts it in schema `app`; without a schema it is created in \
                  the connection's default schema. Set `flyway_schema_history` to carry on with a \
                  database that Flyway has been migrating.",
        example: "table = \"flyway_schema_history\"",
        slot: Slot::Table,
    },
    {
        key: "schemas",
        env: &["GODWIT_SCHEMAS"],
        flag: Some("--schemas"),
        default: "none: the connection's default schema",
        default_toml: Some("[]"),
        summary: "The schemas godwit manages.",
        details: "`godwit clean` drops the objects in these schemas, and the first one is \
                  `${godwit:defaultSchema}`. An array, or one string split at commas; an empty \
                  list means the connection's default schema.",
        example: "schemas = [\"app\", \"audit\"]",
        slot: Slot::List(|s| &mut s.config.schemas),
    },
    {
        key: "target",
        env: &["GODWIT_TARGET"],
        flag: Some("--target"),
        default: "`latest`",
        default_toml: Some("\"latest\""),
        summary: "The version that `migrate` brings the database to.",
        details: "`latest` (every pending migration), `current` (the database's current \
                  version), `none` (down to an empty database, undoing everything) or a version \
                  such as `\"2.1\"`. A version below the current one makes \
                  `migrate` go down, running undo scripts. Write versions as strings: TOML reads \
                  `1.10` as the number 1.1, so godwit refuses a decimal number here.",
        example: "target = \"2.1\"",
        slot: Slot::Target,
    },
    {
        key: "out_of_order",
        env: &["GODWIT_OUT_OF_ORDER"],
        flag: Some("--out-of-order"),
        default: "`false`",
        default_toml: Some("false"),
        summary: "Apply pending migrations whose version is below the newest applied one.",
        details: "When it is off, such a migration is a validation error. Turn it on when \
                  branches that each added migrations are merged, leaving versions interleaved.",
        example: "out_of_order = true",
        slot: Slot::Bool(|s| &mut s.config.out_of_order),
    },
    {
        key: "validate_on_migrate",
        env: &["GODWIT_VALIDATE_ON_MIGRATE"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Validate the files against the history before `migrate` changes anything.",
        details: "The checks are those of `godwit validate`: changed checksums, applied \
                  migrations whose files are missing, failed migrations. Leave it on unless you \
                  know why it must be off.",
        example: "validate_on_migrate = false",
        slot: Slot::Bool(|s| &mut s.config.validate_on_migrate),
    },
    {
        key: "baseline_on_migrate",
        env: &["GODWIT_BASELINE_ON_MIGRATE"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Baseline a non-empty database that has no history table, instead of refusing \
                  to migrate it.",
        details:
            "`migrate` then records `baseline_version` first, as `godwit baseline` would, and \
                  applies only the migrations above it.",
        example: "baseline_on_migrate = true",
        slot: Slot::Bool(|s| &mut s.config.baseline_on_migrate),
    },
    {
        key: "baseline_version",
        env: &["GODWIT_BASELINE_VERSION"],
        flag: None,
        default: "`1`",
        default_toml: Some("\"1\""),
        summary: "The version that a baseline records.",
        details: "Migrations up to and including it count as already applied. Used by \
                  `baseline_on_migrate` and by `godwit baseline` (whose `--baseline-version` \
                  overrides it). A string or an integer; quote versions that have dots.",
        example: "baseline_version = \"3.2\"",
        slot: Slot::BaselineVersion,
    },
    {
        key: "clean_disabled",
        env: &["GODWIT_CLEAN_DISABLED"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Refuse to run `godwit clean`.",
        details: "`clean` drops every object in the managed schemas. It runs only when this is \
                  `false` and `--yes` is given; set it to `false` only where losing the data does \
                  not matter.",
        example: "clean_disabled = false",
        slot: Slot::Bool(|s| &mut s.cli.clean_disabled),
    },
    {
        key: "lock_timeout",
        env: &["GODWIT_LOCK_TIMEOUT"],
        flag: Some("--lock-timeout"),
        default: "`10m`",
        default_toml: Some("\"10m\""),
        summary: "How long `migrate` waits for the migration lock held by another process.",
        details: "A duration such as `\"30s\"`, `\"10m\"` or `\"1h 30m\"`, or a whole number of \
                  seconds; at most a year. When it runs out the command fails with exit code 1. \
                  It is not how long a migration's statements wait for the locks of other \
                  sessions: that is `statement_lock_timeout`.",
        example: "lock_timeout = \"2m\"",
        slot: Slot::Duration(|s| &mut s.config.lock_timeout),
    },
    {
        key: "lock_lease",
        env: &["GODWIT_LOCK_LEASE"],
        flag: Some("--lock-lease"),
        default: "unset (advisory lock; on a Galera node, a `2m` lease)",
        default_toml: None,
        summary: "Makes the migration lock a lease row that expires this long after its holder \
                  stops renewing it (PostgreSQL, MySQL, MariaDB).",
        details: "Unset, the migration lock is a session advisory lock (PostgreSQL) or \
                  `GET_LOCK` (MySQL, MariaDB). The advisory lock does not work through a \
                  connection pooler in transaction mode (PgBouncer), and `GET_LOCK` holds on one \
                  node of a multi-primary cluster only (Galera, group replication). Set, godwit \
                  holds a row in a `godwit_lease` table (created in the current schema, on MySQL \
                  in the history table's database), taken and renewed in short committed \
                  statements: a heartbeat on a second connection renews it every third of this \
                  duration while the run goes on, and a holder killed without releasing it lets \
                  the next migrator in once it has expired. Pick a duration well above a network \
                  hiccup, such as `\"30s\"`; on Galera, above the longest DDL statement too. On a \
                  server that says it is a Galera node (`wsrep_on`) or a member of a \
                  multi-primary group, godwit uses a lease of `2m` when this is unset. Ignored \
                  on SQLite. See docs/migrations.md, Locking.",
        example: "lock_lease = \"30s\"",
        slot: Slot::OptDuration(|s| &mut s.cli.lock_lease),
    },
    {
        key: "statement_lock_timeout",
        env: &["GODWIT_STATEMENT_LOCK_TIMEOUT"],
        flag: Some("--statement-lock-timeout"),
        default: "unset (the server's setting)",
        default_toml: None,
        summary: "How long each statement of a migration may wait for a table or row lock that \
                  another session holds.",
        details:
            "Not `lock_timeout`, which is godwit's own migration lock. Set for each migration \
                  as it runs: PostgreSQL `SET LOCAL lock_timeout` (`SET`, then `RESET`, for a \
                  migration run outside a transaction); MySQL and MariaDB `lock_wait_timeout` \
                  (metadata locks) and `innodb_lock_wait_timeout` (row locks), in whole seconds \
                  rounded up, restored afterwards; SQLite the busy timeout. A statement that waits \
                  longer fails the migration (PostgreSQL `55P03`, MySQL 1205), so that a migration \
                  stuck behind an application's lock does not make every other session queue \
                  behind it; see `statement_lock_retries`. A file's first lines may override it \
                  with `-- godwit:statement-lock-timeout=<duration>`. A duration such as \
                  `\"5s\"` or `\"500ms\"`, at least 1ms.",
        example: "statement_lock_timeout = \"5s\"",
        slot: Slot::OptDuration(|s| &mut s.config.statement_lock_timeout),
    },
    {
        key: "statement_timeout",
        env: &["GODWIT_STATEMENT_TIMEOUT"],
        flag: Some("--statement-timeout"),
        default: "unset (the server's setting)",
        default_toml: None,
        summary: "How long each statement of a migration may run.",
        details: "Set for each migration as it runs: PostgreSQL `SET LOCAL statement_timeout`; \
                  MariaDB `max_statement_time`; MySQL `max_execution_time`, which MySQL applies to \
                  `SELECT` statements only (DDL and other writes are not limited there); SQLite \
                  has no statement timeout and ignores it. A statement that runs longer is \
                  stopped and the migration fails. A file's first lines may override it with \
                  `-- godwit:statement-timeout=<duration>` (a long data migration, say). A \
                  duration such as `\"30s\"` or `\"10m\"`, at least 1ms.",
        example: "statement_timeout = \"10m\"",
        slot: Slot::OptDuration(|s| &mut s.config.statement_timeout),
    },
    {
        key: "statement_lock_retries",
        env: &["GODWIT_STATEMENT_LOCK_RETRIES"],
        flag: Some("--statement-lock-retries"),
        default: "`0`",
        default_toml: Some("0"),
        summary: "How many times a migration is retried when a statement could not get a lock.",
        details: "Only a migration run in a transaction, failed because a statement waited past \
                  its lock timeout or was chosen as a deadlock's victim, and rolled back with \
                  nothing of it left, is retried: never one that ran outside a transaction, and \
                  on MySQL never one that had run a statement before (DDL commits by itself). \
                  Retries wait 1s, 2s, 4s, … (at most 30s), less a random part so that nodes do \
                  not retry together; each one prints a line. Pair it with \
                  `statement_lock_timeout`.",
        example: "statement_lock_retries = 5",
        slot: Slot::Count(|s| &mut s.config.statement_lock_retries),
    },
    {
        key: "connect_timeout",
        env: &["GODWIT_CONNECT_TIMEOUT"],
        flag: Some("--connect-timeout"),
        default: "`10s`",
        default_toml: Some("\"10s\""),
        summary: "How long one attempt to connect to the database may take.",
        details: "A duration such as `\"5s\"`, or a whole number of seconds. An attempt that gets \
                  no answer in that time counts as a failure to connect, which \
                  `connect_retries` may try again.",
        example: "connect_timeout = \"5s\"",
        slot: Slot::Duration(|s| &mut s.cli.connect_timeout),
    },
    {
        key: "connect_retries",
        env: &["GODWIT_CONNECT_RETRIES"],
        flag: Some("--connect-retries"),
        default: "`0`",
        default_toml: Some("0"),
        summary: "How many times to try connecting again while the database is not up yet \
                  (Flyway's `connectRetries`).",
        details: "Retried: a refused, reset or timed-out connection, a missing socket, and a \
                  server that answers it is starting up, shutting down or full. Never retried: a \
                  refused login (wrong password, unknown user or database), which will not pass \
                  by waiting. Each retry prints a line; the waits start at one second and double, \
                  up to `connect_retries_interval`. When the retries run out the command fails \
                  with exit code 3. `godwit wait` uses the same settings.",
        example: "connect_retries = 10",
        slot: Slot::Count(|s| &mut s.cli.connect_retries),
    },
    {
        key: "connect_retries_interval",
        env: &["GODWIT_CONNECT_RETRIES_INTERVAL"],
        flag: Some("--connect-retries-interval"),
        default: "`120s`",
        default_toml: Some("\"120s\""),
        summary: "The longest wait between two connection attempts (Flyway's \
                  `connectRetriesInterval`).",
        details: "The first wait is one second and each next one twice as long, up to this. \
                  A duration, or a whole number of seconds.",
        example: "connect_retries_interval = \"10s\"",
        slot: Slot::Duration(|s| &mut s.cli.connect_retries_interval),
    },
    {
        key: "mixed",
        env: &["GODWIT_MIXED"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Allow a migration to mix statements that cannot run in a transaction with \
                  others.",
        details: "Without it, a file such as one with both `CREATE TABLE` and `CREATE INDEX \
                  CONCURRENTLY` is an error. With it, such a file runs outside a transaction, so a \
                  failure part-way can leave it half applied. A file made only of such statements, \
                  or one whose first line is `-- godwit:no-transaction`, needs no setting.",
        example: "mixed = true",
        slot: Slot::Bool(|s| &mut s.config.mixed),
    },
    {
        key: "checksum_cache",
        env: &["GODWIT_CHECKSUM_CACHE"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Remember the checksums of migration files between runs, so that files that \
                  have not changed are not read again.",
        details: "A file's checksum is reused only while its size, modification time, change \
                  time and inode are all what they were when it was read (git's index works the \
                  same way), and files about to be applied are checksummed again from the text \
                  that runs. The cache lives in `$XDG_CACHE_HOME/godwit` (or \
                  `~/.cache/godwit`), one small file per location; deleting it is always safe. \
                  Turn it off to read every file on every run.",
        example: "checksum_cache = false",
        slot: Slot::Bool(|s| &mut s.cli.checksum_cache),
    },
    {
        key: "installed_by",
        env: &["GODWIT_INSTALLED_BY"],
        flag: None,
        default: "the database user",
        default_toml: None,
        summary: "The name recorded in the history table's `installed_by` column.",
        details: "Useful when every deployment logs in as the same database user.",
        example: "installed_by = \"deploy-pipeline\"",
        slot: Slot::OptText(|s| &mut s.config.installed_by),
    },
    {
        key: "placeholders",
        env: &["GODWIT_PLACEHOLDERS_<NAME>"],
        flag: Some("--placeholder NAME=VALUE"),
        default: "none",
        default_toml: None,
        summary: "Values for `${NAME}` in migrations.",
        details: "A table of names and string values; integers and booleans are accepted and \
                  written out as text. Names are case-insensitive. See \
                  [Using placeholders](#using-placeholders).",
        example: "[placeholders]\nowner = \"app\"\nretention_days = 30",
        slot: Slot::Placeholders,
    },    {
        key: "store_undo",
        env: &["GODWIT_STORE_UNDO"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Store each applied migration's undo script in the database, so that a \
                  release without the `U` file can roll back through it.",
        details: "When `V7` is applied and `U7` exists, `U7`'s text and checksum go to the \
                  side table `<table>_undo`, next to the history table (which keeps Flyway's \
                  layout), in the same transaction as the history row. `undo` and \
                  `migrate --target` from any release, also one whose files stop below `V7`, \
                  then go down with the stored script. Turn it off to keep undo scripts out of \
                  the database; a migration marked `-- godwit:breaking` is recorded in the side \
                  table all the same. See [rolling-upgrades.md](rolling-upgrades.md).",
        example: "store_undo = false",
        slot: Slot::Bool(|s| &mut s.config.store_undo),
    },
    {
        key: "lint",
        env: &["GODWIT_LINT"],
        flag: None,
        default: "`warn`",
        default_toml: Some("\"warn\""),
        summary: "Whether `migrate` and `validate` lint the pending migrations first, and whether \
                  a finding at level error stops them.",
        details: "`off`: no lint. `warn`: the findings of `godwit lint` on the files `migrate` \
                  would run are printed as warnings, and the command goes on. `error`: as `warn`, \
                  but a finding at level `error` stops the command with exit code 1 before \
                  anything runs (`--dry-run` too). `godwit lint` itself always lints. See \
                  docs/lint.md.",
        example: "lint = \"error\"",
        slot: Slot::Level(|s| &mut s.cli.lint),
    },
    {
        key: "lint_rules",
        env: &["GODWIT_LINT_RULES"],
        flag: None,
        default: "none: each rule's own level (docs/lint.md)",
        default_toml: None,
        summary: "The level of each lint rule named, instead of its own.",
        details: "A table of rule ids and levels: `off` hides a rule's findings, `warn` reports \
                  them, `error` makes `godwit lint` (and `migrate` with `lint = \"error\"`) fail on \
                  them. An unknown rule id is refused. In the environment, `rule=level` pairs \
                  separated by commas (`GODWIT_LINT_RULES=missing-undo=off,mysql-online-ddl=error`); \
                  rules merge rule by rule across files and the environment. A single file can \
                  accept a finding with `-- godwit:lint-allow <rule> <reason>` instead.",
        example: "[lint_rules]\nmissing-undo = \"off\"\nlock-timeout-missing = \"error\"",
        slot: Slot::LintRules,
    },
    {
        key: "sql_migration_prefix",
        env: &["GODWIT_SQL_MIGRATION_PREFIX"],
        flag: None,
        default: "`V`",
        default_toml: Some("\"V\""),
        summary: "The prefix of versioned migrations (Flyway's `sqlMigrationPrefix`).",
        details: "`V1__init.sql` by default. Compared with its case, like the other prefixes; \
                  each kind of migration needs a prefix of its own. See docs/design.md §1.9.",
        example: "sql_migration_prefix = \"M\"",
        slot: Slot::Text(|s| &mut s.config.naming.sql_migration_prefix),
    },
    {
        key: "sql_migration_separator",
        env: &["GODWIT_SQL_MIGRATION_SEPARATOR"],
        flag: None,
        default: "`__`",
        default_toml: Some("\"__\""),
        summary: "What separates a migration's version from its description (Flyway's \
                  `sqlMigrationSeparator`).",
        details: "Also what separates a repeatable's prefix, or a callback's event, from the \
                  description.",
        example: "sql_migration_separator = \"--\"",
        slot: Slot::Text(|s| &mut s.config.naming.sql_migration_separator),
    },
    {
        key: "sql_migration_suffixes",
        env: &["GODWIT_SQL_MIGRATION_SUFFIXES"],
        flag: None,
        default: "`[\".sql\"]`",
        default_toml: Some("[\".sql\"]"),
        summary: "The file endings of migrations (Flyway's `sqlMigrationSuffixes`).",
        details: "Compared without regard to case. Files with another ending are not \
                  migrations.",
        example: "sql_migration_suffixes = [\".sql\", \".pgsql\"]",
        slot: Slot::List(|s| &mut s.config.naming.sql_migration_suffixes),
    },
    {
        key: "repeatable_sql_migration_prefix",
        env: &["GODWIT_REPEATABLE_SQL_MIGRATION_PREFIX"],
        flag: None,
        default: "`R`",
        default_toml: Some("\"R\""),
        summary: "The prefix of repeatable migrations (Flyway's `repeatableSqlMigrationPrefix`).",
        details: "`R__views.sql` by default.",
        example: "repeatable_sql_migration_prefix = \"RR\"",
        slot: Slot::Text(|s| &mut s.config.naming.repeatable_sql_migration_prefix),
    },
    {
        key: "undo_sql_migration_prefix",
        env: &["GODWIT_UNDO_SQL_MIGRATION_PREFIX"],
        flag: None,
        default: "`U`",
        default_toml: Some("\"U\""),
        summary: "The prefix of undo scripts (Flyway's `undoSqlMigrationPrefix`).",
        details: "`U3__add_email.sql` undoes `V3__add_email.sql` by default.",
        example: "undo_sql_migration_prefix = \"UNDO\"",
        slot: Slot::Text(|s| &mut s.config.naming.undo_sql_migration_prefix),
    },
    {
        key: "baseline_migration_prefix",
        env: &["GODWIT_BASELINE_MIGRATION_PREFIX"],
        flag: None,
        default: "`B`",
        default_toml: Some("\"B\""),
        summary: "The prefix of baseline migrations (Flyway's `baselineMigrationPrefix`).",
        details: "`B5__squashed.sql` by default.",
        example: "baseline_migration_prefix = \"S\"",
        slot: Slot::Text(|s| &mut s.config.naming.baseline_migration_prefix),
    },
    {
        key: "validate_migration_naming",
        env: &["GODWIT_VALIDATE_MIGRATION_NAMING"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Refuse files whose name starts like a migration but does not parse \
                  (Flyway's `validateMigrationNaming`).",
        details: "On (godwit's default), `V1_init.sql` or `v2__x.sql` is an error (exit 2). \
                  Off (Flyway's default), such files are ignored, as Flyway ignores them.",
        example: "validate_migration_naming = false",
        slot: Slot::Bool(|s| &mut s.config.naming.validate_migration_naming),
    },
    {
        key: "ignore_migration_patterns",
        env: &["GODWIT_IGNORE_MIGRATION_PATTERNS"],
        flag: None,
        default: "none",
        default_toml: Some("[]"),
        summary: "Validation problems to let pass, as `<type>:<state>` (Flyway's \
                  `ignoreMigrationPatterns`).",
        details: "Type `*`, `versioned` or `repeatable`; state `*`, `missing`, `pending`, \
                  `ignored` or `future`. `*:missing` lets applied migrations whose files are \
                  gone pass validation; `versioned:ignored` lets versions below the current one \
                  that never ran pass (they still do not run without `out_of_order`). See \
                  docs/design.md §4.6.",
        example: "ignore_migration_patterns = [\"*:missing\", \"repeatable:ignored\"]",
        slot: Slot::ParsedList(|s, entries| {
            s.config.ignore_migration_patterns = entries
                .iter()
                .map(|e| godwit::IgnorePattern::parse(e))
                .collect::<Result<_, _>>()?;
            Ok(())
        }),
    },
    {
        key: "group",
        env: &["GODWIT_GROUP"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Flyway's `group`: every pending migration of a run in one transaction, \
                  committed once at the end (PostgreSQL, SQLite).",
        details: "With `true`, `migrate` and `undo` run all their steps (callbacks included) \
                  and history rows in one transaction: a failure or an interrupt rolls the \
                  whole run back, and nothing is reported as applied before the commit. \
                  Refused (exit 2) on MySQL/MariaDB, whose DDL commits by itself, and when a \
                  pending file must run outside a transaction (`-- godwit:no-transaction`, \
                  `executeInTransaction=false`, `CREATE INDEX CONCURRENTLY`…). \
                  `statement_lock_retries` does not apply in a group. See docs/design.md §5.8.8.",
        example: "group = true",
        slot: Slot::Bool(|s| &mut s.config.group),
    },
    {
        key: "skip_executing_migrations",
        env: &["GODWIT_SKIP_EXECUTING_MIGRATIONS"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Record pending migrations as applied without running them (Flyway's \
                  `skipExecutingMigrations`).",
        details: "For a database whose schema was changed by other means: each pending \
                  versioned, baseline and repeatable migration (and, going down, undo script) \
                  gets its history row, with an execution time of 0, and none of its SQL runs. \
                  Callbacks and data migrations still run; the files are checked as usual. See \
                  docs/design.md §5.8.",
        example: "skip_executing_migrations = true",
        slot: Slot::Bool(|s| &mut s.config.skip_executing_migrations),
    },
    {
        key: "cherry_pick",
        env: &["GODWIT_CHERRY_PICK"],
        flag: None,
        default: "none: every migration",
        default_toml: Some("[]"),
        summary: "The only migrations `migrate` applies: versions, or repeatables' \
                  descriptions (Flyway's `cherryPick`).",
        details: "An entry that reads as a version (`2`, `1.1`) names a versioned migration; \
                  any other names a repeatable by its description. See docs/design.md §5.8.",
        example: "cherry_pick = [\"2.1\", \"refresh views\"]",
        slot: Slot::ParsedList(|s, entries| {
            s.config.cherry_pick = entries
                .iter()
                .map(|e| godwit::CherryPick::parse(e))
                .collect::<Result<_, _>>()?;
            Ok(())
        }),
    },
    {
        key: "create_schemas",
        env: &["GODWIT_CREATE_SCHEMAS"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Create the managed schemas that do not exist (Flyway's `createSchemas`).",
        details: "Off, a missing schema is an error instead. See docs/design.md §5.8.",
        example: "create_schemas = false",
        slot: Slot::Bool(|s| &mut s.config.create_schemas),
    },
    {
        key: "default_schema",
        env: &["GODWIT_DEFAULT_SCHEMA"],
        flag: None,
        default: "the first of `schemas`",
        default_toml: None,
        summary: "The schema that holds the history table (Flyway's `defaultSchema`).",
        details: "Also `${godwit:defaultSchema}`. See docs/design.md §5.8.",
        example: "default_schema = \"app\"",
        slot: Slot::OptText(|s| &mut s.config.default_schema),
    },
    {
        key: "init_sql",
        env: &["GODWIT_INIT_SQL"],
        flag: None,
        default: "none",
        default_toml: None,
        summary: "SQL run on the connection before anything else (Flyway's `initSql`).",
        details: "For session settings such as `SET ROLE deploy`: run once on each new \
                  connection, before godwit reads the session (its user, role and search path), so \
                  what it sets holds for every migration and every history write. A failure is \
                  the command's failure (exit 1), naming `init_sql`. See docs/design.md §5.8.",
        example: "init_sql = \"SET ROLE deploy\"",
        slot: Slot::OptText(|s| &mut s.cli.init_sql),
    },
    {
        key: "placeholder_replacement",
        env: &["GODWIT_PLACEHOLDER_REPLACEMENT"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Replace placeholders in migrations (Flyway's `placeholderReplacement`).",
        details: "Off, `${…}` is sent to the database as written.",
        example: "placeholder_replacement = false",
        slot: Slot::Bool(|s| &mut s.config.placeholder_replacement),
    },
    {
        key: "placeholder_prefix",
        env: &["GODWIT_PLACEHOLDER_PREFIX"],
        flag: None,
        default: "`${`",
        default_toml: Some("\"${\""),
        summary: "What opens a placeholder (Flyway's `placeholderPrefix`).",
        details: "With `placeholder_suffix`, what godwit looks for in migrations.",
        example: "placeholder_prefix = \"#[\"",
        slot: Slot::Text(|s| &mut s.config.placeholder_prefix),
    },
    {
        key: "placeholder_suffix",
        env: &["GODWIT_PLACEHOLDER_SUFFIX"],
        flag: None,
        default: "`}`",
        default_toml: Some("\"}\""),
        summary: "What closes a placeholder (Flyway's `placeholderSuffix`).",
        details: "See `placeholder_prefix`.",
        example: "placeholder_suffix = \"]\"",
        slot: Slot::Text(|s| &mut s.config.placeholder_suffix),
    },
    {
        key: "baseline_description",
        env: &["GODWIT_BASELINE_DESCRIPTION"],
        flag: None,
        default: "`<< Baseline >>`",
        default_toml: Some("\"<< Baseline >>\""),
        summary: "The description of the row a baseline writes (Flyway's \
                  `baselineDescription`).",
        details: "Written by `godwit baseline` and `baseline_on_migrate`.",
        example: "baseline_description = \"<< Flyway Baseline >>\"",
        slot: Slot::Text(|s| &mut s.config.baseline_description),
    },
    {
        key: "skip_default_callbacks",
        env: &["GODWIT_SKIP_DEFAULT_CALLBACKS"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Do not run the callback files found in the locations (Flyway's \
                  `skipDefaultCallbacks`).",
        details: "`beforeMigrate.sql` and the other callbacks are then left alone.",
        example: "skip_default_callbacks = true",
        slot: Slot::Bool(|s| &mut s.config.skip_default_callbacks),
    },
}

/// Finds the key declared under `name`.
pub(super) fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.key == name)
}

/// Finds the documentation of the key declared under `name`.
#[cfg(test)]
pub(super) fn key_doc(name: &str) -> Option<&'static KeyDoc> {
    DOCS.iter().find(|doc| doc.key == name)
}

/// The valid keys, for a hint.
pub(super) fn valid_keys() -> String {
    KEYS.iter()
        .map(|key| format!("`{}`", key.key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Normalises a key for comparison: camelCase and dashes become snake_case.
pub(super) fn normalise_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.trim().chars() {
        if c == '-' || c == ' ' || c == '.' {
            out.push('_');
            previous_lower = false;
        } else if c.is_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out.strip_prefix("flyway_")
        .map(str::to_owned)
        .unwrap_or(out)
}

/// The valid key an unknown one most likely meant.
pub(super) fn suggest_key(written: &str) -> Option<&'static str> {
    let wanted = normalise_key(written);
    if let Some(found) = key(&wanted) {
        return Some(found.key);
    }
    let aliases = [
        ("schema", "schemas"),
        ("location", "locations"),
        ("placeholder", "placeholders"),
        ("history_table", "table"),
        ("username", "user"),
        ("schema_history_table", "table"),
        // The setting that was there first; `connect_timeout` came later.
        ("timeout", "lock_timeout"),
    ];
    if let Some((_, key)) = aliases.iter().find(|(alias, _)| *alias == wanted) {
        return Some(key);
    }
    let limit = if wanted.chars().count() >= 5 { 2 } else { 1 };
    let closest = KEYS
        .iter()
        .map(|key| (strsim::damerau_levenshtein(&wanted, key.key), key.key))
        .min()
        .filter(|(distance, _)| *distance <= limit)
        .map(|(_, key)| key);
    if closest.is_some() {
        return closest;
    }
    if wanted.chars().count() >= 4 {
        let mut containing = KEYS.iter().filter(|key| key.key.contains(wanted.as_str()));
        if let (Some(only), None) = (containing.next(), containing.next()) {
            return Some(only.key);
        }
    }
    None
}

//! `docs/configuration.md`, generated from the key table by a test (and so compiled into the
//! tests only): `GODWIT_BLESS=1 cargo test -p godwit-cli --bin godwit config` rewrites it.

use super::keys::{Slot, DOCS};

/// Escapes text for a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Renders `docs/configuration.md` from the key table.
fn render_markdown() -> String {
    let mut md = String::new();
    md.push_str(DOC_INTRO);

    md.push_str("## Keys\n\n");
    md.push_str("| key | environment variable | flag | default | meaning |\n");
    md.push_str("| --- | --- | --- | --- | --- |\n");
    for doc in DOCS {
        let key = match doc.slot {
            Slot::Placeholders => "placeholders.NAME".to_owned(),
            Slot::LintRules => "lint_rules.RULE".to_owned(),
            _ => doc.key.to_owned(),
        };
        let env = doc
            .env
            .iter()
            .map(|var| format!("`{var}`"))
            .collect::<Vec<_>>()
            .join(", else ");
        let flag = doc.flag.map(|f| format!("`{f}`")).unwrap_or_default();
        md.push_str(&format!(
            "| [`{key}`](#{}) | {} | {} | {} | {} |\n",
            doc.key,
            cell(&env),
            cell(&flag),
            cell(doc.default),
            cell(doc.summary)
        ));
    }
    md.push('\n');

    for doc in DOCS {
        md.push_str(&format!("### `{}`\n\n", doc.key));
        md.push_str(&format!("{} {}\n\n", doc.summary, doc.details));
        md.push_str(&format!("- type: {}\n", doc.slot.type_name()));
        md.push_str(&format!("- default: {}\n", doc.default));
        let env = doc
            .env
            .iter()
            .map(|var| format!("`{var}`"))
            .collect::<Vec<_>>()
            .join(", else ");
        md.push_str(&format!("- environment: {env}\n"));
        if let Some(flag) = doc.flag {
            md.push_str(&format!("- flag: `{flag}`\n"));
        }
        md.push_str(&format!("\n```toml\n{}\n```\n\n", doc.example));
    }

    md.push_str(DOC_OUTRO);
    md
}

const DOC_INTRO: &str = r#"# Configuration

<!-- Generated from crates/godwit-cli/src/config/keys.rs; do not edit by hand. After changing the
     key table there, run `GODWIT_BLESS=1 cargo test -p godwit-cli config` to update this page. -->

godwit needs to know which database to migrate and where the migration files are; everything else
has a default that suits most projects. Settings come from `godwit.toml` files, environment
variables and command-line flags.

## Where settings come from

godwit reads these sources in order. A later source overrides an earlier one key by key: a key
that a source does not mention keeps the value it had.

1. `godwit.toml` in the directory of the `godwit` binary: defaults for one installation;
2. `$XDG_CONFIG_HOME/godwit/godwit.toml`, or `~/.config/godwit/godwit.toml` when
   `XDG_CONFIG_HOME` is not set (on Windows without `HOME`, `%APPDATA%\godwit\godwit.toml`):
   your own defaults;
3. `godwit.toml` in the working directory: the project's settings, usually committed;
4. each file named with `--config FILE`, in the order given;
5. environment variables (`GODWIT_URL`, `GODWIT_TARGET`, …);
6. command-line flags (`--url`, `--target`, …).

A file from 1–3 that does not exist is skipped. A `--config` file that does not exist is an error;
a relative `--config` path is taken from the working directory.
Placeholders merge name by name: a file can define `${owner}` while the environment supplies
`${password}`.

For example, with this `godwit.toml` in the working directory:

```toml
url = "postgres://app@localhost:5432/app"
locations = ["db/migrations"]
lock_timeout = "2m"

[placeholders]
owner = "app"
```

the command

```sh
GODWIT_URL=postgres://app@db.internal:5432/app godwit migrate --lock-timeout 30s --placeholder owner=admin
```

migrates the database on `db.internal` (the environment beats the file), reads the migrations in
`db/migrations` (from the file), waits at most 30 seconds for the lock (the flag beats the file)
and replaces `${owner}` with `admin`.

`DATABASE_URL` is read when `GODWIT_URL` is not set, so a project that already uses it needs no
extra setting. Like any environment variable it overrides the `url` in every file: when it points
at another database, set `GODWIT_URL` or unset it.

## Relative paths

A relative path in a file is taken from the directory of the file that sets it, not from the
working directory, so a file means the same thing wherever godwit is started. This applies to
`locations` and to the file in an SQLite `url` (`sqlite://data/app.db` or `sqlite:data/app.db`;
a query string such as `?mode=rwc` is kept). With `deploy/prod.toml` containing

```toml
url = "sqlite://../var/app.db"
locations = ["../db/migrations"]
```

`godwit --config deploy/prod.toml migrate` reads `deploy/../db/migrations` and opens
`deploy/../var/app.db`, from whichever directory it runs. `sqlite::memory:`, absolute paths
(`sqlite:///var/lib/app.db`) and the URLs of other databases are used as written. Paths given in
environment variables and flags are relative to the working directory, as usual.

## Files

`godwit.toml` is [TOML](https://toml.io). Strings are quoted; `locations` and `schemas` take an
array or a single string. Keys are written in snake_case at the top level of the file, before any
`[placeholders]` header: a key written after that header sets a placeholder. A key godwit does not
know is an error, never silently ignored, and the message suggests the nearest valid key
(`lock-timeout` → `lock_timeout`, `outOfOrder` → `out_of_order`). Mistakes are reported with the
file and line, stop godwit before it connects to the database, and exit with code 2.
`godwit init` writes a `godwit.toml` to start from, with every key listed and commented
([commands.md](commands.md#godwit-init)).

"#;

const DOC_OUTRO: &str = r#"## Environment variables

- A variable set to the empty string (or to spaces only) counts as unset.
- Booleans are `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, in any case. Anything else is
  an error that names the variable and its value.
- Lists (`GODWIT_LOCATIONS`, `GODWIT_SCHEMAS`) are comma-separated; spaces around the commas are
  ignored.
- `GODWIT_LOCK_TIMEOUT` is a duration such as `30s`, `10m` or `1h 30m`, or a number of seconds.
- `GODWIT_URL` wins over `DATABASE_URL`.
- `GODWIT_AUTO_MIGRATE` is read by applications that embed the godwit library, not by this tool.

## Flags

- The flags may come before or after the command: `godwit --url … migrate` and
  `godwit migrate --url …` are the same.
- `--locations` and `--schemas` take comma-separated lists and may be repeated:
  `--locations db/schema,db/seed` is `--locations db/schema --locations db/seed`.
- `--config` and `--placeholder` may be repeated.
- `--out-of-order` can only switch out-of-order migration on; to switch it off for one run when a
  file switches it on, set `GODWIT_OUT_OF_ORDER=false` instead.

## Using placeholders

`${name}` in a migration is replaced by the value of placeholder `name` before the migration runs.
Set placeholders in the `[placeholders]` table of a file, with `GODWIT_PLACEHOLDERS_<NAME>`
variables, or with `--placeholder NAME=VALUE` (repeatable); each source overrides earlier ones
name by name.

```toml
[placeholders]
owner = "app"
retention_days = 30
```

```sh
GODWIT_PLACEHOLDERS_OWNER=admin godwit migrate --placeholder retention_days=90
```

- Names are case-insensitive: `GODWIT_PLACEHOLDERS_APP_USER` sets `${app_user}`. Within one
  file, the environment or the command line, two names that differ only in case (`Who` and
  `who`) are an error naming both, since one value would silently replace the other; a higher
  source may spell a name differently from a lower one and overrides it as usual.
- Values are text. In a file, integers and booleans are accepted and written out (`30`, `true`); a
  decimal number must be quoted, since TOML would not keep it as written.
- An empty value can be set in a file or with `--placeholder name=`, but not through the
  environment, where an empty variable counts as unset.
- Names beginning `godwit:` or `flyway:` are the built-in placeholders (`${godwit:user}`,
  `${godwit:defaultSchema}`, …) and cannot be set. A `${godwit:…}` that is not a built-in is an
  error whose hint lists the built-ins and suggests the name without the prefix.
- Placeholder values are often secrets: configuration errors never print them.

## Coming from Flyway

- godwit also reads Flyway's own configuration: `flyway.conf`, `flyway.toml`, `FLYWAY_*`
  variables, JDBC URLs, and Flyway's command line through `godwit flyway`, below godwit's own
  files and variables, with Flyway's defaults (the table `flyway_schema_history`, the location
  `sql`); see [flyway.md](flyway.md). What follows is about writing `godwit.toml` instead.
- Keys are snake_case at the top level (`out_of_order`, not `flyway.outOfOrder` or a `[flyway]`
  table); the error for a Flyway-style key names the godwit key.
- The user is part of `url`, or comes from `user` (`GODWIT_USER`); the password may be part of
  `url` too, or comes from `password` / `password_file` (`GODWIT_PASSWORD` /
  `GODWIT_PASSWORD_FILE`).
- `filesystem:` locations are accepted; `classpath:` locations are refused with the directory to
  name instead.
- `table = "flyway_schema_history"` carries on with a database that Flyway has been migrating.

## Examples

A PostgreSQL project, with its settings committed in `godwit.toml`:

```toml
url = "postgres://app@localhost:5432/app"
locations = ["db/migrations"]
schemas = ["app"]
table = "app.schema_history"
```

An SQLite database next to the configuration file:

```toml
url = "sqlite://data/app.db?mode=rwc"
```

One file per environment, chosen at deployment, with a secret placeholder from the environment:

```toml
# deploy/prod.toml
url = "postgres://deploy@db.internal:5432/app"
lock_timeout = "30m"
installed_by = "release-pipeline"
```

```sh
GODWIT_PLACEHOLDERS_APP_PASSWORD="$APP_PASSWORD" godwit --config deploy/prod.toml migrate
```

Only environment variables, as in a container:

```sh
DATABASE_URL=mysql://app:secret@db:3306/app GODWIT_LOCATIONS=/migrations GODWIT_BASELINE_ON_MIGRATE=true godwit migrate
```
"#;

mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

    fn docs_path() -> PathBuf {
        match std::env::var_os("GODWIT_DOCS_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("configuration.md"),
            _ => PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/configuration.md"
            )),
        }
    }

    #[test]
    fn docs_configuration_md_is_up_to_date() {
        let path = docs_path();
        let expected = render_markdown();
        if std::env::var_os("GODWIT_BLESS").is_some_and(|v| v == "1") {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).expect("create docs dir");
            }
            fs::write(&path, &expected).expect("write docs");
            return;
        }
        let actual = fs::read_to_string(&path).map(|text| text.replace("\r\n", "\n"));
        if actual.as_ref().ok() != Some(&expected) {
            let first_difference = match &actual {
                Err(err) => format!("cannot read it: {err}"),
                Ok(actual) => actual
                    .lines()
                    .zip(expected.lines())
                    .position(|(a, e)| a != e)
                    .map_or_else(
                        || "one is longer than the other".to_owned(),
                        |i| format!("line {} differs", i + 1),
                    ),
            };
            panic!(
                "{} does not match the key table in config/keys.rs ({first_difference}); run \
                 `GODWIT_BLESS=1 cargo test -p godwit-cli config` to update it",
                path.display()
            );
        }
    }

    #[test]
    fn docs_mention_every_key_env_var_and_flag() {
        let md = render_markdown();
        for doc in DOCS {
            assert!(md.contains(&format!("### `{}`", doc.key)), "{}", doc.key);
            for var in doc.env {
                assert!(md.contains(var), "{var}");
            }
            if let Some(flag) = doc.flag {
                assert!(md.contains(flag), "{flag}");
            }
        }
    }
}

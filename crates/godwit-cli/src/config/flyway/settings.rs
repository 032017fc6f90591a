//! Every Flyway Community setting, declared once, with what it becomes in godwit: a godwit key of
//! the same meaning, a conversion, something godwit does anyway, or a refusal saying what to do
//! instead. Nothing is ignored in silence. docs/flyway.md tabulates the same (a test keeps every
//! name there).

/// What a Flyway setting becomes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Mapping {
    /// The godwit key of the same meaning: the value is read as `GODWIT_<KEY>` would be.
    Key(&'static str),
    /// `url`: a JDBC URL (or one of godwit's), converted by `godwit::jdbc_to_url`.
    Url,
    /// `lockRetryCount`: Flyway tries for the lock once a second, so N retries become a
    /// `lock_timeout` of N seconds (-1, for ever, the longest godwit accepts).
    LockRetryCount,
    /// `placeholders.<name>`.
    Placeholder,
    /// godwit does this whatever the value: accepted, with why (docs/flyway.md).
    Inherent(&'static str),
    /// Accepted with one of these values (what godwit does, case ignored); any other value is
    /// refused with the text after it: what to do instead.
    Only(&'static [&'static str], &'static str),
    /// Refused, with what to do instead.
    Refused(&'static str),
    /// Read while the sources are gathered: `configFiles`, `configFileEncoding`, `environment`.
    Sources,
    /// `outputType`: `json` for `godwit flyway`; elsewhere `--json`.
    OutputType,
}

/// One Flyway setting: its name as Flyway spells it (without `flyway.`), or the prefix of a
/// family of them (`placeholders.`).
#[derive(Debug)]
pub(super) struct FlywaySetting {
    pub(super) name: &'static str,
    pub(super) mapping: Mapping,
}

const JAVA: &str = "godwit runs SQL migrations and SQL callbacks; Java classes have no \
                    counterpart: rewrite them as SQL files, or keep them out of the configuration";
const TEAMS: &str = "this is a Flyway Teams/Enterprise feature godwit does not have; remove the \
                     setting";

macro_rules! settings {
    ($($name:literal => $mapping:expr,)*) => {
        /// Every Flyway Community setting (and the Teams ones a Flyway configuration may still
        /// hold), in the order of docs/flyway.md.
        pub(super) static SETTINGS: &[FlywaySetting] = &[
            $(FlywaySetting { name: $name, mapping: $mapping },)*
        ];
    };
}

use Mapping::*;

settings! {
    // Connection.
    "url" => Url,
    "user" => Key("user"),
    "password" => Key("password"),
    "driver" => Only(
        &["org.postgresql.Driver", "com.mysql.cj.jdbc.Driver", "com.mysql.jdbc.Driver",
          "org.mariadb.jdbc.Driver", "org.sqlite.JDBC"],
        "remove it: godwit has its own PostgreSQL, MySQL, MariaDB and SQLite drivers, chosen by the URL",
    ),
    "connectRetries" => Key("connect_retries"),
    "connectRetriesInterval" => Key("connect_retries_interval"),
    "initSql" => Key("init_sql"),
    "jdbcProperties." => Refused(
        "give the parameter in the URL instead (godwit takes the JDBC parameters that have a counterpart there: docs/flyway.md, JDBC URLs)",
    ),
    "environment" => Sources,
    "displayName" => Inherent("Flyway Desktop's name for the environment; it changes nothing"),
    "provisioner" => Refused(TEAMS),
    "resolvers." => Refused(
        "write `${env.VARIABLE}` to read a value from the environment; secret managers have no counterpart",
    ),
    // Where the configuration comes from.
    "configFiles" => Sources,
    "configFileEncoding" => Sources,
    "workingDirectory" => Refused("run godwit from that directory instead"),
    // Migrations.
    "locations" => Key("locations"),
    "failOnMissingLocations" => Only(
        &["true"],
        "godwit always refuses a location that does not exist: create the directory, or remove it from `locations`",
    ),
    "encoding" => Only(
        &["UTF-8", "UTF8"],
        "godwit reads migrations as UTF-8: convert the files, or give one file's encoding in its `.sql.conf` (`encoding=…`)",
    ),
    "detectEncoding" => Only(&["false"], TEAMS),
    "sqlMigrationPrefix" => Key("sql_migration_prefix"),
    "sqlMigrationSeparator" => Key("sql_migration_separator"),
    "sqlMigrationSuffixes" => Key("sql_migration_suffixes"),
    "repeatableSqlMigrationPrefix" => Key("repeatable_sql_migration_prefix"),
    "undoSqlMigrationPrefix" => Key("undo_sql_migration_prefix"),
    "baselineMigrationPrefix" => Key("baseline_migration_prefix"),
    "validateMigrationNaming" => Key("validate_migration_naming"),
    "ignoreMigrationPatterns" => Key("ignore_migration_patterns"),
    "resolvers" => Refused(JAVA),
    "skipDefaultResolvers" => Only(&["false"], JAVA),
    "jarDirs" => Refused(JAVA),
    "callbacks" => Refused(
        "godwit runs the SQL callbacks it finds in the locations (beforeMigrate.sql, …); Java callback classes have no counterpart",
    ),
    "callbackLocations" => Refused("add the directory to `locations`: godwit finds SQL callbacks there"),
    "skipDefaultCallbacks" => Key("skip_default_callbacks"),
    // Placeholders.
    "placeholders." => Placeholder,
    "placeholderReplacement" => Key("placeholder_replacement"),
    "placeholderPrefix" => Key("placeholder_prefix"),
    "placeholderSuffix" => Key("placeholder_suffix"),
    "placeholderSeparator" => Only(
        &[":"],
        "godwit's built-in placeholders are `${flyway:…}` and `${godwit:…}`; remove the setting",
    ),
    "scriptPlaceholderPrefix" => Only(&["FP__"], "godwit runs no script migrations; remove the setting"),
    "scriptPlaceholderSuffix" => Only(&["__"], "godwit runs no script migrations; remove the setting"),
    // The history table and schemas.
    "table" => Key("table"),
    "tablespace" => Refused(
        "remove it: godwit creates the history table in the default tablespace (move it with ALTER TABLE … SET TABLESPACE afterwards)",
    ),
    "schemas" => Key("schemas"),
    "defaultSchema" => Key("default_schema"),
    "createSchemas" => Key("create_schemas"),
    // Running.
    "target" => Key("target"),
    "cherryPick" => Key("cherry_pick"),
    "outOfOrder" => Key("out_of_order"),
    "skipExecutingMigrations" => Key("skip_executing_migrations"),
    "validateOnMigrate" => Key("validate_on_migrate"),
    "cleanOnValidationError" => Only(
        &["false"],
        "godwit never cleans by itself: run `godwit clean --yes` where losing the data is intended",
    ),
    "cleanDisabled" => Key("clean_disabled"),
    "baselineOnMigrate" => Key("baseline_on_migrate"),
    "baselineVersion" => Key("baseline_version"),
    "baselineDescription" => Key("baseline_description"),
    "installedBy" => Key("installed_by"),
    "mixed" => Key("mixed"),
    "group" => Key("group"),
    "executeInTransaction" => Only(
        &["true"],
        "godwit runs each migration in a transaction where the database allows; for one script, write `executeInTransaction=false` in its `.sql.conf`, or start it with `-- godwit:no-transaction`",
    ),
    "lockRetryCount" => LockRetryCount,
    "postgresql.transactional.lock" => Inherent(
        "godwit's PostgreSQL lock is held on a connection outside any transaction, so it never blocks CREATE INDEX CONCURRENTLY",
    ),
    "communityDBSupportEnabled" => Inherent("PostgreSQL, MySQL, MariaDB and SQLite are all built in"),
    // Output.
    "outputType" => OutputType,
    "outputQueryResults" => Only(
        &["false"],
        "godwit does not print what a migration's queries return; remove the setting",
    ),
    "color" => Only(&["auto"], "godwit colours a terminal only; set NO_COLOR to turn colours off"),
    "outputFile" => Refused("redirect godwit's output instead (`godwit flyway … > file`)"),
    "outputLogsInJson" => Refused("use `-outputType=json` (or `--json`) for a JSON result"),
    "outputProgress" => Inherent("godwit prints each migration as it runs (-q to quiet it)"),
    "loggers" => Refused("godwit logs to stderr: -X (or -v) for more, RUST_LOG to choose"),
    "reportEnabled" => Only(&["false"], TEAMS),
    "reportFilename" => Refused(TEAMS),
    // Flyway Teams and Enterprise.
    "batch" => Only(&["false"], TEAMS),
    "dryRunOutput" => Refused("use `godwit migrate --dry-run` (free in godwit): it prints the SQL on stdout"),
    "errorOverrides" => Refused(TEAMS),
    "stream" => Only(&["false"], TEAMS),
    "licenseKey" => Refused("godwit needs no licence key; remove the setting"),
    "kerberosConfigFile" => Refused(TEAMS),
    "email" => Refused("godwit needs no Redgate account; remove the setting"),
    "token" => Refused("godwit needs no Redgate account; remove the setting"),
    "oracle." => Refused("godwit migrates PostgreSQL, MySQL, MariaDB and SQLite; remove the setting"),
    "sqlserver." => Refused("godwit migrates PostgreSQL, MySQL, MariaDB and SQLite; remove the setting"),
    "plugins." => Refused("godwit has no plugins; remove the setting"),
}

/// Finds the setting named `name` (Flyway's spelling, without `flyway.`): an exact name, or a
/// family's prefix (`placeholders.x`).
pub(super) fn find(name: &str) -> Option<&'static FlywaySetting> {
    SETTINGS
        .iter()
        .find(|s| s.name == name && !name.ends_with('.'))
        .or_else(|| {
            SETTINGS.iter().find(|s| {
                s.name.ends_with('.') && name.starts_with(s.name) && name.len() > s.name.len()
            })
        })
}

/// The closest setting name, for a hint (case and spelling slips: `baselineonmigrate`).
pub(super) fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    SETTINGS
        .iter()
        .filter(|s| !s.name.ends_with('.'))
        .map(|s| {
            (
                strsim::damerau_levenshtein(&lower, &s.name.to_ascii_lowercase()),
                s.name,
            )
        })
        .min()
        .filter(|(d, _)| *d <= 2)
        .map(|(_, n)| n)
}

/// The environment variable Flyway reads for a setting: `FLYWAY_` and the name in upper snake
/// case (`baselineOnMigrate`: `FLYWAY_BASELINE_ON_MIGRATE`).
pub(super) fn env_name(name: &str) -> String {
    if name == "dryRunOutput" {
        return "FLYWAY_DRYRUN_OUTPUT".to_owned();
    }
    let mut out = String::from("FLYWAY_");
    let chars: Vec<char> = name.trim_end_matches('.').chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        if c == '.' {
            out.push('_');
            continue;
        }
        if c.is_ascii_uppercase() {
            // A word starts: after a lower-case letter or digit, or at the last capital of an
            // acronym (`DBSupport`: `DB_SUPPORT`).
            let starts = match previous {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if starts {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The setting a `FLYWAY_*` variable sets, as a name [`find`] knows (`FLYWAY_PLACEHOLDERS_OWNER`:
/// `placeholders.owner`); `None` for a variable that is no setting (`FLYWAY_HOME`), which Flyway
/// ignores too.
pub(super) fn setting_of_env(var: &str) -> Option<String> {
    if let Some(name) = var.strip_prefix("FLYWAY_PLACEHOLDERS_") {
        return (!name.is_empty()).then(|| format!("placeholders.{}", name.to_ascii_lowercase()));
    }
    if let Some(name) = var.strip_prefix("FLYWAY_JDBC_PROPERTIES_") {
        return (!name.is_empty()).then(|| format!("jdbcProperties.{}", name.to_ascii_lowercase()));
    }
    if var == "FLYWAY_COMMUNITY_DB_SUPPORT_DISABLED" {
        // Flyway reads this one as `communityDBSupportEnabled`.
        return Some("communityDBSupportEnabled".to_owned());
    }
    SETTINGS
        .iter()
        .filter(|s| !s.name.ends_with('.'))
        .find(|s| env_name(s.name) == var)
        .map(|s| s.name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variable_names_are_flyways() {
        for (name, var) in [
            ("url", "FLYWAY_URL"),
            ("baselineOnMigrate", "FLYWAY_BASELINE_ON_MIGRATE"),
            ("connectRetriesInterval", "FLYWAY_CONNECT_RETRIES_INTERVAL"),
            ("sqlMigrationSuffixes", "FLYWAY_SQL_MIGRATION_SUFFIXES"),
            (
                "communityDBSupportEnabled",
                "FLYWAY_COMMUNITY_DB_SUPPORT_ENABLED",
            ),
            ("configFiles", "FLYWAY_CONFIG_FILES"),
            ("dryRunOutput", "FLYWAY_DRYRUN_OUTPUT"),
        ] {
            assert_eq!(env_name(name), var);
        }
        assert_eq!(setting_of_env("FLYWAY_URL").as_deref(), Some("url"));
        assert_eq!(
            setting_of_env("FLYWAY_PLACEHOLDERS_OWNER").as_deref(),
            Some("placeholders.owner")
        );
        assert_eq!(setting_of_env("FLYWAY_HOME"), None);
        assert_eq!(
            setting_of_env("FLYWAY_LOCK_RETRY_COUNT").as_deref(),
            Some("lockRetryCount")
        );
    }

    #[test]
    fn names_are_found_and_suggested() {
        assert!(matches!(find("url").unwrap().mapping, Mapping::Url));
        assert!(matches!(
            find("placeholders.x").unwrap().mapping,
            Mapping::Placeholder
        ));
        assert!(find("placeholders.").is_none());
        assert!(find("bogus").is_none());
        assert_eq!(suggest("baselineonmigrate"), Some("baselineOnMigrate"));
        assert_eq!(suggest("locatons"), Some("locations"));
    }

    /// Every godwit key a Flyway setting maps onto exists.
    #[test]
    fn every_mapped_key_exists() {
        for setting in SETTINGS {
            if let Mapping::Key(name) = setting.mapping {
                assert!(
                    super::super::super::keys::key(name).is_some(),
                    "`{}` maps onto `{name}`, which is no key",
                    setting.name
                );
            }
        }
    }

    /// docs/flyway.md names every setting of the table (the lead reconciles its status column).
    #[test]
    fn every_setting_is_documented() {
        let docs = include_str!("../../../../../docs/flyway.md");
        for setting in SETTINGS {
            assert!(
                docs.contains(&format!("`{}", setting.name)),
                "docs/flyway.md does not mention `{}`",
                setting.name
            );
        }
    }
}

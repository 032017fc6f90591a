//! Flyway's configuration, read through every layer (`layers::load`) as godwit runs it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::args::ConfigArgs;
use super::super::env::Env;
use super::super::layers::load;
use super::super::{ConfigError, Settings};
use super::FlywayCommandLine;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cwd(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn load_with(
        &self,
        vars: &[(&str, &str)],
        command_line: Option<&[(&str, &str)]>,
    ) -> Result<Settings, ConfigError> {
        std::fs::create_dir_all(self.cwd()).unwrap();
        std::fs::create_dir_all(self.home()).unwrap();
        let home = self.home().to_string_lossy().into_owned();
        let mut pairs: Vec<(String, String)> = vec![("HOME".into(), home)];
        pairs.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let args = ConfigArgs {
            flyway: command_line.map(|settings| FlywayCommandLine {
                settings: settings
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            }),
            ..ConfigArgs::default()
        };
        load(&args, &Env::from_pairs(pairs), &self.cwd(), None, None)
    }

    fn load(&self) -> Settings {
        self.load_with(&[], None).unwrap()
    }
}

fn message(err: ConfigError) -> String {
    err.to_string()
}

#[test]
fn no_flyway_source_keeps_godwits_defaults() {
    let settings = Fixture::new().load();
    assert_eq!(settings, Settings::default());
}

#[test]
fn flyway_conf_is_read_with_flyways_defaults() {
    let fixture = Fixture::new();
    fixture.write(
        "project/flyway.conf",
        "# deploy\nflyway.url=jdbc:postgresql://db:5432/app?currentSchema=app\nflyway.user=deploy\n\
         flyway.password=s3cret\nflyway.schemas=app,audit\nflyway.placeholders.Owner=app_owner\n\
         flyway.baselineOnMigrate=true\nflyway.baselineVersion=3\nflyway.lockRetryCount=30\n\
         flyway.connectRetries=5\nflyway.connectRetriesInterval=10\nflyway.outOfOrder=true\n\
         flyway.installedBy=ci\nflyway.driver=org.postgresql.Driver\nflyway.encoding=UTF-8\n",
    );
    let s = fixture.load();
    assert_eq!(
        s.cli.url.as_deref(),
        Some("postgres://db:5432/app?options%5Bsearch_path%5D=app")
    );
    assert_eq!(s.cli.user.as_deref(), Some("deploy"));
    assert_eq!(s.cli.password.as_deref(), Some("s3cret"));
    assert_eq!(s.config.table, "flyway_schema_history");
    assert_eq!(s.cli.locations, [PathBuf::from("sql")]);
    assert_eq!(s.config.schemas, ["app", "audit"]);
    assert_eq!(s.config.placeholders["owner"], "app_owner");
    assert!(s.config.baseline_on_migrate);
    assert_eq!(s.config.baseline_version.to_string(), "3");
    assert_eq!(s.config.lock_timeout, Duration::from_secs(30));
    assert_eq!(s.cli.connect_retries, 5);
    assert_eq!(s.cli.connect_retries_interval, Duration::from_secs(10));
    assert!(s.config.out_of_order);
    assert_eq!(s.config.installed_by.as_deref(), Some("ci"));
}

#[test]
fn home_conf_is_below_the_working_directorys() {
    let fixture = Fixture::new();
    fixture
        .write(
            "home/flyway.conf",
            "flyway.table=from_home\nflyway.installedBy=home\n",
        )
        .write("project/flyway.conf", "flyway.table=from_project\n");
    let s = fixture.load();
    assert_eq!(s.config.table, "from_project");
    assert_eq!(s.config.installed_by.as_deref(), Some("home"));
}

#[test]
fn flyway_toml_environments_and_env_references() {
    let fixture = Fixture::new();
    fixture.write(
        "project/flyway.toml",
        "id = \"x\"\ndatabaseType = \"PostgreSql\"\n\n[environments.default]\nurl = \"jdbc:sqlite:default.db\"\n\n\
         [environments.ci]\nurl = \"jdbc:postgresql://ci/app\"\nuser = \"${env.CI_USER}\"\n\
         password = \"${env.CI_PASSWORD}\"\nschemas = [\"app\"]\n\n[environments.ci.flyway]\n\
         locations = [\"filesystem:ci-sql\"]\n\n[flyway]\nenvironment = \"ci\"\n\
         locations = [\"filesystem:sql\", \"filesystem:more\"]\ncleanDisabled = false\n\n\
         [flyway.placeholders]\nowner = \"app\"\n",
    );
    let s = fixture
        .load_with(&[("CI_USER", "runner"), ("CI_PASSWORD", "pw")], None)
        .unwrap();
    assert_eq!(s.cli.url.as_deref(), Some("postgres://ci/app"));
    assert_eq!(s.cli.user.as_deref(), Some("runner"));
    assert_eq!(s.cli.password.as_deref(), Some("pw"));
    assert_eq!(s.config.schemas, ["app"]);
    assert_eq!(s.cli.locations, [PathBuf::from("ci-sql")]);
    assert!(!s.cli.clean_disabled);
    assert_eq!(s.config.placeholders["owner"], "app");

    // The environment chosen on the command line, or by FLYWAY_ENVIRONMENT.
    let s = fixture
        .load_with(&[("FLYWAY_ENVIRONMENT", "default")], None)
        .unwrap();
    assert_eq!(s.cli.url.as_deref(), Some("sqlite:default.db"));
    assert_eq!(
        s.cli.locations,
        [PathBuf::from("sql"), PathBuf::from("more")]
    );
    let err = fixture
        .load_with(&[], Some(&[("environment", "prod")]))
        .unwrap_err();
    assert!(message(err).contains("\"prod\", which no flyway.toml defines"));
    let err = fixture
        .load_with(&[("CI_USER", "runner")], None)
        .unwrap_err();
    let text = message(err);
    assert!(text.starts_with("flyway.toml:10: "), "{text}");
    assert!(text.contains("CI_PASSWORD"), "{text}");
}

#[test]
fn toml_wins_over_conf_and_config_files_replace_the_defaults() {
    let fixture = Fixture::new();
    fixture
        .write("project/flyway.conf", "flyway.table=conf\n")
        .write("project/flyway.toml", "[flyway]\ntable = \"toml\"\n")
        .write("project/other.conf", "flyway.table=other\n");
    assert_eq!(fixture.load().config.table, "toml");
    let s = fixture
        .load_with(&[("FLYWAY_CONFIG_FILES", "other.conf")], None)
        .unwrap();
    assert_eq!(s.config.table, "other");
    let err = fixture
        .load_with(&[], Some(&[("configFiles", "missing.conf")]))
        .unwrap_err();
    assert!(message(err).contains("missing.conf does not exist"));
}

#[test]
fn precedence_flyway_files_env_godwit_files_command_line() {
    let fixture = Fixture::new();
    fixture.write(
        "project/flyway.conf",
        "flyway.table=conf\nflyway.installedBy=conf\nflyway.target=5\nflyway.schemas=conf\n",
    );
    fixture.write("project/godwit.toml", "installed_by = \"godwit\"\n");
    let s = fixture
        .load_with(
            &[
                ("FLYWAY_TABLE", "env"),
                ("FLYWAY_INSTALLED_BY", "env"),
                ("FLYWAY_TARGET", "6"),
                ("GODWIT_TARGET", "7"),
            ],
            Some(&[("target", "8"), ("schemas", "cli")]),
        )
        .unwrap();
    assert_eq!(s.config.table, "env");
    assert_eq!(s.config.installed_by.as_deref(), Some("godwit"));
    assert_eq!(s.config.target.to_string(), "8");
    assert_eq!(s.config.schemas, ["cli"]);
}

#[test]
fn flyway_variables_alone_configure_the_project() {
    let fixture = Fixture::new();
    let s = fixture
        .load_with(
            &[
                ("FLYWAY_URL", "jdbc:mysql://db:3306/app?useSSL=false"),
                ("FLYWAY_USER", "root"),
                ("FLYWAY_PLACEHOLDERS_OWNER", "x"),
                ("FLYWAY_HOME", "/opt/flyway"),
            ],
            None,
        )
        .unwrap();
    assert_eq!(
        s.cli.url.as_deref(),
        Some("mysql://db:3306/app?ssl-mode=DISABLED")
    );
    assert_eq!(s.cli.user.as_deref(), Some("root"));
    assert_eq!(s.config.placeholders["owner"], "x");
    assert_eq!(s.config.table, "flyway_schema_history");
}

#[test]
fn unsupported_settings_are_refused_by_name_from_every_source() {
    let fixture = Fixture::new();
    fixture.write(
        "project/flyway.conf",
        "flyway.url=jdbc:sqlite:a.db\n\nflyway.tablespace=fast\n",
    );
    let text = message(fixture.load_with(&[], None).unwrap_err());
    assert!(
        text.starts_with(
            "flyway.conf:3: `flyway.tablespace` is a Flyway setting godwit does not support; "
        ),
        "{text}"
    );
    let fixture = Fixture::new();
    for (vars, says) in [
        (
            [("FLYWAY_CALLBACKS", "com.example.Cb")],
            "environment variable FLYWAY_CALLBACKS is a Flyway setting godwit does not support",
        ),
        (
            [("FLYWAY_ENCODING", "ISO-8859-1")],
            "FLYWAY_ENCODING is set to \"ISO-8859-1\", which godwit does not support",
        ),
        (
            [("FLYWAY_URL", "jdbc:postgresql://h/db?prepareThreshold=0")],
            "`prepareThreshold`",
        ),
        (
            [("FLYWAY_CONFIG_FILE_ENCODING", "UTF-16")],
            "godwit reads configuration files as UTF-8",
        ),
        ([("FLYWAY_OUTPUT_TYPE", "json")], "pass --json"),
    ] {
        let text = message(fixture.load_with(&vars, None).unwrap_err());
        assert!(text.contains(says), "{text}");
    }
    let text = message(
        fixture
            .load_with(&[], Some(&[("baselineOnMigrat", "true")]))
            .unwrap_err(),
    );
    assert!(
        text.contains("-baselineOnMigrat is not a Flyway setting godwit knows; did you mean `baselineOnMigrate`?"),
        "{text}"
    );
    let text = message(
        fixture
            .load_with(&[], Some(&[("jdbcProperties.password", "s3cret-value")]))
            .unwrap_err(),
    );
    assert!(!text.contains("s3cret-value"), "{text}");
}

#[test]
fn conf_variables_are_expanded_or_refused() {
    let fixture = Fixture::new();
    fixture.write(
        "project/flyway.conf",
        "flyway.url=jdbc:postgresql://${DB_HOST}/app\n",
    );
    let s = fixture.load_with(&[("DB_HOST", "db1")], None).unwrap();
    assert_eq!(s.cli.url.as_deref(), Some("postgres://db1/app"));
    let text = message(fixture.load_with(&[], None).unwrap_err());
    assert!(text.starts_with("flyway.conf:1: "), "{text}");
    assert!(text.contains("DB_HOST"), "{text}");
}

#[test]
fn an_empty_user_or_password_sets_none() {
    let fixture = Fixture::new();
    fixture.write(
        "project/flyway.conf",
        "flyway.url=jdbc:sqlite:a.db\nflyway.user=\nflyway.password=\n",
    );
    let s = fixture.load();
    assert_eq!(s.cli.user, None);
    assert_eq!(s.cli.password, None);
}

#[test]
fn a_key_without_the_flyway_prefix_is_refused() {
    let fixture = Fixture::new();
    fixture.write("project/flyway.conf", "url=jdbc:sqlite:a.db\n");
    let text = message(fixture.load_with(&[], None).unwrap_err());
    assert!(text.contains("write it as flyway.url"), "{text}");
}

#[test]
fn command_line_environments_are_read() {
    let fixture = Fixture::new();
    let s = fixture
        .load_with(
            &[],
            Some(&[
                ("environments.dev.url", "jdbc:sqlite:dev.db"),
                ("environments.prod.url", "jdbc:sqlite:prod.db"),
                ("environment", "dev"),
            ]),
        )
        .unwrap();
    assert_eq!(s.cli.url.as_deref(), Some("sqlite:dev.db"));
    let _ = Path::new("");
}

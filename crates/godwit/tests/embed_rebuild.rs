//! `embed_migrations!` follows its directory: a crate that embeds migrations is rebuilt when a
//! migration file is added, edited or removed, given the documented `build.rs` line.
//!
//! The test writes a tiny crate (a path dependency on godwit, with that `build.rs`) into a
//! temporary directory, then builds and runs it with cargo after each change; it prints the
//! migrations it embedded. It shares the workspace's target directory, and declares the same
//! dependencies, features and profile as the whole workspace, so that cargo resolves the same
//! artifacts `cargo test --workspace` built and compiles nothing but the probe. The probe has a
//! package name of its own per run, and its artifacts are removed at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The probe's manifest; the dependencies and profiles are appended.
const MANIFEST: &str = r#"[package]
name = "PROBE_NAME"
version = "0.0.0"
edition = "2021"
publish = false

# A workspace of its own, whatever directory it is written in.
[workspace]
"#;

/// The line docs/library.md tells users to put in `build.rs`.
const BUILD_RS: &str = r#"fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
"#;

const MAIN_RS: &str = r#"static MIGRATIONS: godwit::EmbeddedMigrations = godwit::embed_migrations!("migrations");

fn main() {
    match MIGRATIONS.to_set() {
        Ok(set) => {
            for m in set.iter() {
                println!("{} {} {}", m.label(), m.script, m.checksum);
            }
        }
        Err(e) => println!("error: {e}"),
    }
}
"#;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/godwit is two levels below the workspace root")
        .to_path_buf()
}

/// A cargo command without the variables cargo sets for this test (CARGO_MANIFEST_DIR, …).
/// Passed on, they would reach build scripts that watch them (ring's does) and make the next
/// build of the workspace rebuild half of the dependencies. The user's own settings (RUSTFLAGS,
/// CARGO_PROFILE_*, …) stay, since the workspace was built with them.
fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    const SET_BY_CARGO: [&str; 9] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "__CARGO",
        "OUT_DIR",
    ];
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key == "CARGO" || SET_BY_CARGO.iter().any(|prefix| key.starts_with(prefix)) {
            command.env_remove(&*key);
        }
    }
    command
}

/// Every dependency of every workspace member (normal and dev, merged), as manifest tables: with
/// them, feature unification gives the probe the artifacts `cargo test --workspace` built. Also
/// the names of the path dependencies (workspace members).
fn workspace_dependencies() -> (String, BTreeSet<String>) {
    let output = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(workspace_root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // (table, key) -> (spec without features, default features, features)
    let mut deps: BTreeMap<(String, String), (String, bool, BTreeSet<String>)> = BTreeMap::new();
    let mut members = BTreeSet::new();
    for package in metadata["packages"].as_array().unwrap() {
        for dep in package["dependencies"].as_array().unwrap() {
            if dep["optional"].as_bool() == Some(true) {
                continue;
            }
            let name = dep["name"].as_str().unwrap();
            let key = dep["rename"].as_str().unwrap_or(name).to_string();
            let kind = if dep["kind"].as_str() == Some("build") {
                "build-dependencies"
            } else {
                "dependencies"
            };
            let table = match dep["target"].as_str() {
                Some(cfg) => format!("target.'{cfg}'.{kind}"),
                None => kind.to_string(),
            };
            let spec = match dep["path"].as_str() {
                Some(path) => {
                    members.insert(name.to_string());
                    format!("package = {name:?}, path = {path:?}")
                }
                None => format!(
                    "package = {name:?}, version = {:?}",
                    dep["req"].as_str().unwrap()
                ),
            };
            let entry = deps
                .entry((table, key))
                .or_insert_with(|| (spec, false, BTreeSet::new()));
            entry.1 |= dep["uses_default_features"].as_bool().unwrap_or(true);
            for feature in dep["features"].as_array().unwrap() {
                entry.2.insert(feature.as_str().unwrap().to_string());
            }
        }
    }
    let mut text = String::new();
    let mut current = String::new();
    for ((table, key), (spec, default_features, features)) in &deps {
        if *table != current {
            text.push_str(&format!("\n[{table}]\n"));
            current = table.clone();
        }
        let features: Vec<String> = features.iter().map(|f| format!("{f:?}")).collect();
        text.push_str(&format!(
            "{key} = {{ {spec}, default-features = {default_features}, features = [{}] }}\n",
            features.join(", ")
        ));
    }
    (text, members)
}

/// The workspace's `[profile.*]` tables, plus what makes them apply to the workspace's own
/// crates (`members`) as they do there: in the probe those are path dependencies, which
/// `package."*"` would otherwise reach.
fn workspace_profiles(members: &BTreeSet<String>) -> String {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let mut text = String::new();
    let mut in_profile = false;
    let mut dev_opt_level = "0".to_string();
    let mut section = String::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
            in_profile = trimmed.starts_with("[profile.");
        }
        if in_profile {
            text.push_str(line);
            text.push('\n');
            if section == "[profile.dev]" {
                if let Some(value) = trimmed.strip_prefix("opt-level") {
                    dev_opt_level = value.trim_start_matches([' ', '=']).trim().to_string();
                }
            }
        }
    }
    for member in members {
        text.push_str(&format!(
            "\n[profile.dev.package.{member}]\nopt-level = {dev_opt_level}\n"
        ));
    }
    text
}

/// The target directory this test was built in: `<target>/debug/deps/embed_rebuild-…`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

struct Probe {
    /// The package name, unique to this run.
    name: String,
    dir: tempfile::TempDir,
    target: PathBuf,
}

impl Probe {
    fn new() -> Probe {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let probe = Probe {
            name: format!("godwit-embed-probe-{}-{nanos}", std::process::id()),
            dir: tempfile::tempdir().expect("a temporary directory"),
            target: target_dir(),
        };
        let (dependencies, members) = workspace_dependencies();
        let manifest = MANIFEST.replace("PROBE_NAME", &probe.name)
            + &dependencies
            + "\n"
            + &workspace_profiles(&members);
        probe.write("Cargo.toml", &manifest);
        // The workspace's lock file, so that the dependency versions already built are used.
        std::fs::copy(
            workspace_root().join("Cargo.lock"),
            probe.dir.path().join("Cargo.lock"),
        )
        .expect("copy Cargo.lock");
        probe.write("build.rs", BUILD_RS);
        probe.write("src/main.rs", MAIN_RS);
        probe
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn remove(&self, relative: &str) {
        std::fs::remove_file(self.dir.path().join(relative)).unwrap();
    }

    fn cargo_run(&self) -> std::process::Output {
        cargo()
            .args(["run", "--offline", "--quiet", "--manifest-path"])
            .arg(self.dir.path().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target)
            .output()
            .expect("cargo runs")
    }

    /// Builds the probe expecting a failure or a warning, and returns what cargo said.
    fn build_messages(&self) -> String {
        String::from_utf8_lossy(&self.cargo_run().stderr).into_owned()
    }

    /// Builds and runs the probe, returning what it printed.
    fn run(&self) -> String {
        let started = Instant::now();
        let output = self.cargo_run();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "building the probe failed:\n{stderr}"
        );
        assert!(
            !stderr.contains("warning"),
            "the probe built with warnings:\n{stderr}"
        );
        eprintln!("probe built and ran in {:?}", started.elapsed());
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Probe {
    /// Removes the probe's own artifacts (not its dependencies') from the target directory.
    fn drop(&mut self) {
        let stem = self.name.replace('-', "_");
        let profile = self.target.join("debug");
        for dir in ["", "deps", ".fingerprint", "build", "incremental"] {
            let Ok(entries) = std::fs::read_dir(profile.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&self.name) || name.starts_with(&stem) {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
    }
}

fn line(label: &str, script: &str, text: &str) -> String {
    format!("{label} {script} {}\n", godwit::checksum_str(text))
}

#[test]
fn adding_editing_and_removing_a_migration_rebuilds_the_embedding_crate() {
    let probe = Probe::new();

    let v1 = "CREATE TABLE notes (id INT);\n";
    let v2 = "ALTER TABLE notes ADD COLUMN title TEXT;\n";
    probe.write("migrations/V1__create_notes.sql", v1);
    probe.write("migrations/more/V2__add_title.sql", v2);
    probe.write("migrations/README.md", "not a migration\n");
    assert_eq!(
        probe.run(),
        line("V1", "V1__create_notes.sql", v1) + &line("V2", "more/V2__add_title.sql", v2)
    );

    // A new file: only the build script's `rerun-if-changed` can tell cargo about it.
    let v3 = "CREATE INDEX notes_title ON notes (title);\n";
    probe.write("migrations/more/deeper/V3__index_title.sql", v3);
    assert_eq!(
        probe.run(),
        line("V1", "V1__create_notes.sql", v1)
            + &line("V2", "more/V2__add_title.sql", v2)
            + &line("V3", "more/deeper/V3__index_title.sql", v3)
    );

    // An edited file: a new checksum.
    let v1_edited = "CREATE TABLE notes (id BIGINT);\n";
    probe.write("migrations/V1__create_notes.sql", v1_edited);
    assert_eq!(
        probe.run(),
        line("V1", "V1__create_notes.sql", v1_edited)
            + &line("V2", "more/V2__add_title.sql", v2)
            + &line("V3", "more/deeper/V3__index_title.sql", v3)
    );

    // A removed file.
    probe.remove("migrations/more/V2__add_title.sql");
    assert_eq!(
        probe.run(),
        line("V1", "V1__create_notes.sql", v1_edited)
            + &line("V3", "more/deeper/V3__index_title.sql", v3)
    );

    // A bad name is reported when the migrations are read, as for files on disk.
    probe.write("migrations/V4_no_separator.sql", "SELECT 1;\n");
    let out = probe.run();
    assert!(
        out.starts_with("error: migrations/V4_no_separator.sql: not a valid migration name"),
        "{out}"
    );
    probe.remove("migrations/V4_no_separator.sql");

    // A file that is not UTF-8 is a compile error naming the file and line.
    let latin1 = probe.dir.path().join("migrations/V5__latin1.sql");
    std::fs::write(&latin1, b"-- fine\nSELECT 'caf\xe9';\n").unwrap();
    let messages = probe.build_messages();
    assert!(
        messages.contains("V5__latin1.sql:2: this line is not valid UTF-8"),
        "{messages}"
    );
    std::fs::remove_file(&latin1).unwrap();

    // Without a build script, the macro warns that added files would go unnoticed.
    probe.remove("build.rs");
    let messages = probe.build_messages();
    assert!(
        messages.contains("add a build.rs that prints `cargo:rerun-if-changed=migrations`"),
        "{messages}"
    );
}

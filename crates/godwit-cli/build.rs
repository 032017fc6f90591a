//! What `godwit --version` says the binary was built from: the git commit when the source is a
//! git checkout with `git` installed (none otherwise: a crates.io download, a tarball), the
//! target and the profile. Nothing else is run, so the build stays cheap.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Runs the build script again when `file` changes (a missing file would make cargo run it on
/// every build).
fn watch(file: &str) {
    if std::path::Path::new(file).exists() {
        println!("cargo:rerun-if-changed={file}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GODWIT_BUILD_COMMIT");
    // A packager building from a tarball may say which commit it is.
    let commit = std::env::var("GODWIT_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
            // Build again when HEAD moves: the files git keeps it in (a worktree has its own HEAD).
            for path in ["HEAD", "packed-refs"] {
                if let Some(file) = git(&["rev-parse", "--git-path", path]) {
                    watch(&file);
                }
            }
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                if let Some(file) = git(&["rev-parse", "--git-path", &branch]) {
                    watch(&file);
                }
            }
            Some(commit)
        })
        .unwrap_or_else(|| "unknown (not built from a git checkout)".to_owned());
    println!("cargo:rustc-env=GODWIT_BUILD_COMMIT={commit}");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=GODWIT_BUILD_TARGET={target}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=GODWIT_BUILD_PROFILE={profile}");
}

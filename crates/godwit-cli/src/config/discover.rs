//! Which configuration files are read, and reading one.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::errors::ConfigError;

/// The name of the configuration file that godwit looks for in each implicit location.
pub(super) const CONFIG_FILE_NAME: &str = "godwit.toml";

/// The files read whether or not they are named, lowest precedence first: beside the binary
/// (`exe_dir`), in the user's config directory (`user_config_dir/godwit/`), and in the working
/// directory (the relative `godwit.toml`). Each is skipped when absent.
pub(super) fn implicit_files(
    exe_dir: Option<&Path>,
    user_config_dir: Option<&Path>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(dir) = exe_dir {
        files.push(dir.join(CONFIG_FILE_NAME));
    }
    if let Some(dir) = user_config_dir {
        files.push(dir.join("godwit").join(CONFIG_FILE_NAME));
    }
    files.push(PathBuf::from(CONFIG_FILE_NAME));
    files
}

/// Finds the user's config directory: `$XDG_CONFIG_HOME` when it is an absolute path, else
/// `$HOME/.config`, else (on Windows) `%APPDATA%`.
pub(super) fn user_config_base(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| {
        var(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = non_empty("XDG_CONFIG_HOME").filter(|dir| dir.is_absolute()) {
        return Some(xdg);
    }
    if let Some(home) = non_empty("HOME") {
        return Some(home.join(".config"));
    }
    if cfg!(windows) {
        return non_empty("APPDATA");
    }
    None
}

/// Reads `path` (relative to `cwd`); `Ok(None)` when an optional file is absent.
pub(super) fn read_config(
    cwd: &Path,
    path: &Path,
    required: bool,
) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(cwd.join(path)) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if required {
                Err(ConfigError::MissingFile {
                    path: path.to_owned(),
                })
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_config_dir_lookup() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            user_config_base(vars(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(
            user_config_base(vars(&[("XDG_CONFIG_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config"))
        );
        assert_eq!(
            user_config_base(vars(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config"))
        );
        if !cfg!(windows) {
            assert_eq!(user_config_base(vars(&[])), None);
        }
    }
}

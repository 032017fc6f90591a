//! The `-- godwit:` comment lines the lint reads: `lint-allow <rule> <reason>` and `contract`
//! (full-line comments anywhere in the file), and the run directives on the first lines that
//! change what the rules see (`no-transaction`, `statement-lock-timeout=`).

use std::collections::BTreeMap;

use crate::{File, FileError, Rule};

pub(crate) struct Directives {
    /// Rules accepted in this file, with the reason given.
    pub(crate) allow: BTreeMap<Rule, String>,
    /// `-- godwit:contract`: the file is a contract step, run once no node of the previous
    /// release is left, so breaking that release is its purpose.
    pub(crate) contract: bool,
    pub(crate) no_transaction: bool,
    pub(crate) lock_timeout: bool,
}

pub(crate) const ALLOW: &str = "lint-allow";
pub(crate) const CONTRACT: &str = "contract";

pub(crate) fn read(file: &File) -> Result<Directives, Vec<FileError>> {
    let mut d = Directives {
        allow: BTreeMap::new(),
        contract: false,
        no_transaction: false,
        lock_timeout: false,
    };
    for lead in godwit_sql::leading_directives(&file.text) {
        if lead.name.eq_ignore_ascii_case("no-transaction") && lead.value.is_none() {
            d.no_transaction = true;
        } else if lead.name.eq_ignore_ascii_case("statement-lock-timeout") && lead.value.is_some() {
            d.lock_timeout = true;
        }
    }
    let mut errors = Vec::new();
    let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
    for (index, line) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let Some(body) = line
            .trim()
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|r| {
                r.get(..7)
                    .filter(|p| p.eq_ignore_ascii_case("godwit:"))
                    .map(|_| &r[7..])
            })
        else {
            continue;
        };
        let mut words = body.split_whitespace();
        let name = words.next().unwrap_or("");
        if name.eq_ignore_ascii_case(CONTRACT) {
            d.contract = true;
        } else if name.eq_ignore_ascii_case(ALLOW) {
            let error = |message: String, hint: &str| FileError {
                path: file.path.clone(),
                line: Some(line_no),
                message,
                hint: hint.to_owned(),
            };
            let Some(id) = words.next() else {
                errors.push(error(
                    "`-- godwit:lint-allow` names no rule".into(),
                    "write `-- godwit:lint-allow <rule> <reason>`, e.g. `-- godwit:lint-allow drop-column the column is unused since release 4.2`",
                ));
                continue;
            };
            let rule = match id.parse::<Rule>() {
                Ok(rule) => rule,
                Err(why) => {
                    errors.push(error(
                        why,
                        "use a rule id that `godwit lint` prints (docs/lint.md lists them all)",
                    ));
                    continue;
                }
            };
            let reason = words.collect::<Vec<_>>().join(" ");
            if reason.is_empty() {
                errors.push(error(
                    format!("`-- godwit:lint-allow {id}` gives no reason"),
                    "say why the finding is safe here, after the rule id: the reason is what a reviewer reads",
                ));
                continue;
            }
            d.allow.insert(rule, reason);
        }
    }
    if errors.is_empty() {
        Ok(d)
    } else {
        Err(errors)
    }
}

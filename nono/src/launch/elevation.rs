//! Who approves capability elevation requests: a decisions file
//! (`--elevation-decisions`, for automation) or the user at `/dev/tty`.
//! Whether elevation is on and the broker's scope: `policy/elevation.rs`.

use std::io::IsTerminal;
use std::os::fd::BorrowedFd;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::ui;

/// One line of a decisions file.
#[derive(Debug, Clone)]
pub struct Rule {
    approve: bool,
    glob: String,
}

/// Who answers elevation requests.
#[derive(Debug, Clone)]
pub enum Decider {
    File(Vec<Rule>),
    Terminal,
}

fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) if rest.first() == Some(&b'*') => {
            (0..=s.len()).any(|i| glob_match(&rest[1..], &s[i..]))
        }
        Some((b'*', rest)) => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob_match(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob_match(rest, &s[1..]),
    }
}

impl Decider {
    /// `approve GLOB` / `deny GLOB` lines (`*` within a component, `**`
    /// across); first match wins; no match denies.
    pub fn from_file(path: &Path) -> Result<Decider> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--elevation-decisions {}: cannot read it", path.display()))?;
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (verb, glob) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let approve = match verb {
                "approve" => true,
                "deny" => false,
                _ => bail!(
                    "{}:{}: expected 'approve GLOB' or 'deny GLOB'",
                    path.display(),
                    n + 1
                ),
            };
            if !glob.trim().starts_with('/') {
                bail!(
                    "{}:{}: the pattern must be an absolute path",
                    path.display(),
                    n + 1
                );
            }
            rules.push(Rule {
                approve,
                glob: glob.trim().to_string(),
            });
        }
        Ok(Decider::File(rules))
    }

    /// Approve or not; `session` as in [`prompt`].
    pub fn decide(&self, path: &str, access: &str, session: Option<BorrowedFd<'_>>) -> bool {
        match self {
            Decider::File(rules) => rules
                .iter()
                .find(|r| glob_match(r.glob.as_bytes(), path.as_bytes()))
                .is_some_and(|r| r.approve),
            Decider::Terminal => prompt(path, access, session),
        }
    }
}

/// `session`: readable once the session has news (the broker's channel):
/// the command ended or stopped, and the question is dropped (denied).
fn prompt(path: &str, access: &str, session: Option<BorrowedFd<'_>>) -> bool {
    if ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        return false;
    }
    let question = format!(
        "\nnono: the command asks to open {} for {access}. Allow? [y/N] ",
        ui::shown(path)
    );
    // No answer in time is a "no": the agent's call is waiting.
    let wait = Some((PROMPT_TIMEOUT_MS, "(no answer: denied)"));
    let cancel = session.map(|fd| (fd, "(the command ended or was stopped: denied)"));
    crate::prompt::ask_unless(&question, wait, cancel).is_ok_and(|r| r.is_yes())
}

/// How long a prompt waits for an answer.
const PROMPT_TIMEOUT_MS: u32 = 60_000;

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"/data/*.txt", b"/data/a.txt"));
        assert!(!glob_match(b"/data/*.txt", b"/data/x/a.txt"));
        assert!(glob_match(b"/data/**", b"/data/x/a.txt"));
        assert!(glob_match(b"/**", b"/anything/at/all"));
        assert!(!glob_match(b"/data/a.txt", b"/data/a.txtx"));
    }
}

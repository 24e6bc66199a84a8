//! Capability elevation (`--capability-elevation`, NONO_CAPABILITY_ELEVATION,
//! profile `security.capability_elevation`): what the broker may open on
//! approval, which paths it never may, and who approves — a decisions file
//! (`--elevation-decisions`, for automation) or the user at `/dev/tty`.

use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipc::broker::WireElevation;
use sandbox::{AccessMode, GrantKind};

use crate::cli::LaterArgs;
use crate::grants::{Grant, Source};
use crate::policy::protect::{self, Denied};
use crate::policy::resolve::Policy;
use crate::ui;

/// Whether elevation is on: the flag or NONO_CAPABILITY_ELEVATION, else
/// the profile.
pub fn enabled(l: &LaterArgs, profile_setting: Option<bool>) -> Result<bool> {
    if l.capability_elevation {
        return Ok(true);
    }
    Ok(
        match crate::envconfig::boolean("NONO_CAPABILITY_ELEVATION")? {
            Some(v) => v,
            None => profile_setting == Some(true),
        },
    )
}

/// The broker's wider grants ("/" expanded around every active protected
/// path) and the protected paths themselves.
pub fn wire(policy: &Policy) -> Result<WireElevation> {
    let active = policy.active_protections();
    let root = Grant {
        path: PathBuf::from("/"),
        mode: AccessMode::ReadWrite,
        kind: GrantKind::Tree,
        source: Source::Flag("capability-elevation"),
    };
    let (rules, _) = protect::apply(&[root], &active, &policy.bypass)?;
    let broker_grants = rules.iter().map(super::plan::wire_grant).collect();
    let protected = active
        .iter()
        .map(|p| {
            (
                p.path.as_os_str().as_bytes().to_vec(),
                p.denied == Denied::Write,
            )
        })
        .collect();
    Ok(WireElevation {
        broker_grants,
        protected,
    })
}

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
            .with_context(|| format!("--elevation-decisions {}", path.display()))?;
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

    pub fn decide(&self, path: &str, access: &str) -> bool {
        match self {
            Decider::File(rules) => rules
                .iter()
                .find(|r| glob_match(r.glob.as_bytes(), path.as_bytes()))
                .is_some_and(|r| r.approve),
            Decider::Terminal => prompt(path, access),
        }
    }
}

fn prompt(path: &str, access: &str) -> bool {
    if ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        return false;
    }
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return false;
    };
    let mut w = &tty;
    if write!(
        w,
        "\nnono: the command asks to open {path} for {access}. Allow? [y/N] "
    )
    .is_err()
    {
        return false;
    }
    // No answer in time is a "no": the agent's call is waiting.
    let mut fds = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&tty),
        nix::poll::PollFlags::POLLIN,
    )];
    let timeout =
        nix::poll::PollTimeout::try_from(PROMPT_TIMEOUT_MS).unwrap_or(nix::poll::PollTimeout::ZERO);
    if nix::poll::poll(&mut fds, timeout).unwrap_or(0) == 0 {
        let _ = writeln!(w, "(no answer: denied)");
        return false;
    }
    let mut answer = String::new();
    let _ = std::io::BufReader::new(&tty).read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
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

//! Supervised sessions: every `nono run`/`nono shell` has an id and a
//! name and is listed while it runs (`registry.rs`); `nono ps`, `stop`,
//! `inspect`, `logs` and `attach` act on them (`commands.rs`).

pub mod attach;
pub mod commands;
pub mod output;
pub mod point;
pub mod proxy_summary;
pub mod registry;
pub mod wire;

pub use proxy_summary::ProxySummary;

use std::ffi::CString;
use std::path::PathBuf;

use anyhow::{bail, Result};

use registry::Record;

/// What the supervisor knows when it registers its session.
pub struct Start<'a> {
    pub name: Option<&'a str>,
    pub argv: &'a [CString],
    pub workdir: String,
    pub profile: Option<String>,
    pub detached: bool,
    pub terminal: bool,
    pub policy_file: Option<String>,
}

/// The session while it runs; its directory goes when this is dropped.
#[derive(Debug)]
pub struct Live {
    pub dir: PathBuf,
    pub record: Record,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !n.starts_with(['.', '-'])
}

/// `<program>-<n>`, the smallest n no live session uses.
fn generated_name(program: &str, taken: &[Record]) -> String {
    let base: String = program
        .rsplit('/')
        .next()
        .unwrap_or("session")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    let base = if base.is_empty() {
        "session".into()
    } else {
        base
    };
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken.iter().any(|r| &r.name == c))
        .unwrap_or(base)
}

/// Register this process's session.
pub fn start(s: Start<'_>) -> Result<Live> {
    let live = registry::list()?;
    let words: Vec<String> = s
        .argv
        .iter()
        .map(|a| String::from_utf8_lossy(a.as_bytes()).into_owned())
        .collect();
    let name = match s.name {
        Some(n) if !valid_name(n) => {
            bail!("--name '{n}': use 1-64 letters, digits, '.', '_' or '-' (not first)")
        }
        Some(n) if live.iter().any(|r| r.name == n) => {
            bail!("--name '{n}': a live session already has that name (nono ps)")
        }
        Some(n) => n.to_string(),
        None => generated_name(words.first().map_or("session", String::as_str), &live),
    };
    let pid = std::process::id() as i32;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let record = Record {
        // The audit record of the same session has the same id.
        id: audit::session::new_id(started, pid as u32),
        name,
        pid,
        start_ticks: registry::start_ticks(pid).unwrap_or(0),
        started,
        // Redacted as the audit record is (the user's [redaction] policy).
        command: crate::record::state::redaction()?.args(&words),
        workdir: s.workdir,
        profile: s.profile,
        detached: s.detached,
        terminal: s.terminal,
        policy_file: s.policy_file,
    };
    let dir = registry::create(&record)?;
    Ok(Live { dir, record })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        assert!(valid_name("gold-core") && !valid_name("-x") && !valid_name("a b"));
        assert_eq!(generated_name("/usr/bin/claude", &[]), "claude-1");
    }
}

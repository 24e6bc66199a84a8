//! Live sessions on disk: one private directory per supervised session
//! under `${XDG_STATE_HOME:-~/.local/state}/nono/sessions/<id>/` holding
//! `session.json` (this record), the agent's terminal output (`output.log`,
//! bounded) and, for terminal sessions, the attach socket. The directory is
//! in the protected nono-state group: the agent can neither read nor alter
//! it. A session is live while its supervisor (the `nono` process named in
//! the record, with the same start time) runs; `list` removes the others,
//! so a crashed front end leaves no stale live session.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// What `ps`, `inspect`, `stop`, `logs` and `attach` know of a session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub name: String,
    /// The supervising `nono` process and its start time (clock ticks
    /// since boot), so a reused pid is not mistaken for the session.
    pub pid: i32,
    pub start_ticks: u64,
    /// Seconds since the epoch.
    pub started: u64,
    /// The command, secret-looking values masked.
    pub command: Vec<String>,
    pub workdir: String,
    pub profile: Option<String>,
    /// Started with `--detached`.
    pub detached: bool,
    /// The agent has a terminal of its own (output captured, attachable).
    pub terminal: bool,
    /// The policy the session applies (the file the agent's `why --self`
    /// reads), while it runs.
    pub policy_file: Option<String>,
}

/// `${XDG_STATE_HOME:-~/.local/state}/nono/sessions`.
pub fn root() -> Result<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute() && h != Path::new("/"))
                .map(|h| h.join(".local/state"))
        })
        .context("no HOME or XDG_STATE_HOME: nowhere to keep session records")?;
    Ok(state.join("nono").join("sessions"))
}

/// The start time of a running (not zombie) `pid` in clock ticks since
/// boot (field 22 of stat).
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X")) {
        return None; // ended; its parent has not reaped it yet
    }
    fields.nth(18)?.parse().ok()
}

impl Record {
    pub fn dir(&self) -> Result<PathBuf> {
        Ok(root()?.join(&self.id))
    }

    /// Whether its supervisor still runs.
    pub fn live(&self) -> bool {
        start_ticks(self.pid) == Some(self.start_ticks)
    }
}

fn read(dir: &Path) -> Option<Record> {
    let text = fs::read_to_string(dir.join("session.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Live sessions, oldest first; records of dead supervisors are removed.
pub fn list() -> Result<Vec<Record>> {
    let root = root()?;
    let Ok(entries) = fs::read_dir(&root) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let dir = e.path();
        match read(&dir) {
            Some(r) if r.live() => out.push(r),
            // Not live (or unreadable and older than a minute: a record
            // being written is never that old).
            Some(_) => {
                let _ = fs::remove_dir_all(&dir);
            }
            None if stale(&dir) => {
                let _ = fs::remove_dir_all(&dir);
            }
            None => {}
        }
    }
    out.sort_by(|a, b| (a.started, &a.id).cmp(&(b.started, &b.id)));
    Ok(out)
}

fn stale(dir: &Path) -> bool {
    fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 60)
}

/// The live session with this id or name.
pub fn find(key: &str) -> Result<Record> {
    let all = list()?;
    if let Some(r) = all.iter().find(|r| r.id == key || r.name == key) {
        return Ok(r.clone());
    }
    let prefixed: Vec<&Record> = all.iter().filter(|r| r.id.starts_with(key)).collect();
    match prefixed.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no live session '{key}' (nono ps lists them)"),
        _ => bail!("'{key}' matches several sessions; give more of the id or the name"),
    }
}

/// Create the session's directory and write its record (atomically).
pub fn create(record: &Record) -> Result<PathBuf> {
    let root = root()?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root)
        .with_context(|| format!("cannot create {}", root.display()))?;
    let dir = root.join(&record.id);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    write(&dir, record)?;
    Ok(dir)
}

pub fn write(dir: &Path, record: &Record) -> Result<()> {
    let tmp = dir.join(".session.json.tmp");
    fs::write(&tmp, serde_json::to_vec_pretty(record)?)
        .and_then(|()| fs::rename(&tmp, dir.join("session.json")))
        .with_context(|| format!("cannot write the session record in {}", dir.display()))
}

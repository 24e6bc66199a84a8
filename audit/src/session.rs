//! `session.json`: one session's record, written when the session starts
//! and rewritten (atomically: temporary file, then rename) when it ends.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AuditError, Result};
use crate::log::Integrity;
use crate::redact::Policy;

pub const SESSION_FILE: &str = "session.json";
pub const ATTESTATION_FILE: &str = "audit-attestation.bundle";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub version: u32,
    pub id: String,
    pub name: String,
    /// The command and its arguments, redacted.
    pub command: Vec<String>,
    pub workdir: String,
    pub profile: Option<String>,
    pub started: String,
    pub ended: Option<String>,
    /// The command's exit status as nono reported it (128+N: signal N).
    pub exit_status: Option<i32>,
    /// Each helper's outcome (`broker`, `proxy`, `keyholder`).
    #[serde(default)]
    pub helpers: BTreeMap<String, String>,
    /// Set at the end when the integrity layer is on.
    #[serde(default)]
    pub integrity: Option<Integrity>,
    /// How the redaction policy differs from the default (empty: default).
    #[serde(default)]
    pub redaction_diff: Vec<String>,
    /// The signed attestation's summary, when one was made.
    #[serde(default)]
    pub attestation: Option<AttestationSummary>,
    /// Rollback and filesystem-state commitments, when taken.
    #[serde(default)]
    pub snapshots: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttestationSummary {
    pub file: String,
    pub key_id: String,
    pub key_fingerprint: String,
    pub signed_root: String,
}

/// `YYYYMMDD-HHMMSS-PID` (UTC) for a start time and the front end's pid.
pub fn new_id(unix_secs: u64, pid: u32) -> String {
    let t = trust::time::rfc3339(unix_secs); // YYYY-MM-DDTHH:MM:SSZ
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    format!("{}-{}-{pid}", &digits[..8], &digits[8..14])
}

/// Whether `id` has the shape of a session id (so it is a safe path part).
pub fn valid_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    matches!(parts.as_slice(), [d, t, p]
        if d.len() == 8 && t.len() == 6 && !p.is_empty() && p.len() <= 10
        && [d, t, p].iter().all(|s| s.bytes().all(|b| b.is_ascii_digit())))
}

/// Create a private directory (0700) and its missing parents.
pub fn private_dir(path: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| AuditError::CreateDir {
            path: path.to_path_buf(),
            source,
        })
}

/// Write `bytes` to `path` atomically (0600 temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let err = |source| AuditError::Write {
        path: path.to_path_buf(),
        source,
    };
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

impl Session {
    /// Save under `dir`, every string passed through `policy` first.
    pub fn save(&self, dir: &Path, policy: &Policy) -> Result<()> {
        let path = dir.join(SESSION_FILE);
        let bad = |e: serde_json::Error| AuditError::Malformed {
            path: path.clone(),
            why: e.to_string(),
        };
        let mut v = serde_json::to_value(self).map_err(bad)?;
        policy.value(&mut v);
        let text = serde_json::to_string_pretty(&v).map_err(bad)?;
        write_atomic(&path, text.as_bytes())
    }

    pub fn load(dir: &Path) -> Result<Session> {
        let path = dir.join(SESSION_FILE);
        let text = std::fs::read(&path).map_err(|source| AuditError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|e| AuditError::Malformed {
            path,
            why: e.to_string(),
        })
    }
}

/// Every session directory under `root` with a readable record, oldest
/// first; records that do not parse are returned as errors alongside.
pub fn list(root: &Path) -> (Vec<(PathBuf, Session)>, Vec<AuditError>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return (ok, bad);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !valid_id(&name) {
            continue;
        }
        match Session::load(&e.path()) {
            Ok(s) => ok.push((e.path(), s)),
            Err(err) => bad.push(err),
        }
    }
    ok.sort_by(|a, b| (&a.1.started, &a.1.id).cmp(&(&b.1.started, &b.1.id)));
    (ok, bad)
}

/// The directory of session `id` under the first root that has it.
pub fn find(roots: &[PathBuf], id: &str) -> Result<PathBuf> {
    if !valid_id(id) {
        return Err(AuditError::BadId(id.to_string()));
    }
    roots
        .iter()
        .map(|r| r.join(id))
        .find(|d| d.join(SESSION_FILE).exists())
        .ok_or_else(|| AuditError::NoSession(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = new_id(1_771_270_391, 20751);
        assert_eq!(id, "20260216-193311-20751");
        assert!(valid_id(&id));
        assert!(!valid_id("../x"));
        assert!(!valid_id("20260216-193311-"));
    }
}

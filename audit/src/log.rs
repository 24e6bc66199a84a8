//! The append-only event log, `audit-events.ndjson`: one JSON object per
//! line, in session order. Every event is redacted before it is hashed
//! or written; with integrity on, each line carries its field digests,
//! its leaf and the chain head after it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AuditError, Result};
use crate::hash::{self, Hash};
use crate::redact::Policy;

pub const EVENTS_FILE: &str = "audit-events.ndjson";

/// One line of the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Line {
    pub seq: u64,
    pub time: String,
    pub kind: String,
    pub data: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<LineIntegrity>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LineIntegrity {
    pub fields: BTreeMap<String, String>,
    pub leaf: String,
    pub chain: String,
}

/// What `session.json` records of the integrity layer at the end.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Integrity {
    pub event_count: u64,
    pub chain_head: String,
    pub merkle_root: String,
}

/// The writer of one session's log.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    file: File,
    policy: Policy,
    integrity: bool,
    seq: u64,
    chain: Hash,
    leaves: Vec<Hash>,
}

impl Recorder {
    /// Create the log (it must not exist: a log is never reopened).
    pub fn create(
        dir: &Path,
        session_id: &str,
        policy: Policy,
        integrity: bool,
    ) -> Result<Recorder> {
        let path = dir.join(EVENTS_FILE);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|source| AuditError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Recorder {
            path,
            file,
            policy,
            integrity,
            seq: 0,
            chain: hash::genesis(session_id),
            leaves: Vec::new(),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Redact, hash and append one event (one `write` of one line).
    pub fn append(&mut self, kind: &str, mut data: serde_json::Value) -> Result<()> {
        self.policy.value(&mut data);
        let time = trust::time::now_rfc3339();
        let integrity = self.integrity.then(|| {
            let fields = hash::fields(&time, kind, &data);
            let leaf = hash::leaf(self.seq, &fields);
            self.chain = hash::chain(&self.chain, &leaf);
            self.leaves.push(leaf);
            LineIntegrity {
                fields,
                leaf: hash::hex(&leaf),
                chain: hash::hex(&self.chain),
            }
        });
        let line = Line {
            seq: self.seq,
            time,
            kind: kind.to_string(),
            data,
            integrity,
        };
        let mut text = serde_json::to_string(&line).map_err(|e| AuditError::Malformed {
            path: self.path.clone(),
            why: e.to_string(),
        })?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(|source| AuditError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.seq += 1;
        Ok(())
    }

    /// The chain head and Merkle root so far (None without integrity).
    pub fn summary(&self) -> Option<Integrity> {
        self.integrity.then(|| Integrity {
            event_count: self.seq,
            chain_head: hash::hex(&self.chain),
            merkle_root: hash::hex(&hash::merkle_root(&self.leaves)),
        })
    }

    /// Flush the log to stable storage.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_all().map_err(|source| AuditError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// Read every line of a log (a line that does not parse is an error
/// naming its line number).
pub fn read(dir: &Path) -> Result<Vec<Line>> {
    let path = dir.join(EVENTS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| AuditError::Read {
        path: path.clone(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| AuditError::Malformed {
                path: path.clone(),
                why: format!("line {}: {e}", n + 1),
            })
        })
        .collect()
}

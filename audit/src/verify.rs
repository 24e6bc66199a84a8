//! Verification of a recorded session: recompute every field digest, leaf,
//! chain link and the Merkle root from the events as they are on disk, and
//! say precisely what differs (which event, which field; deleted,
//! duplicated or reordered events; a truncated or extended log).

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use crate::error::Result;
use crate::hash::{self, Hash};
use crate::log::{self, Line};
use crate::session::Session;

/// One finding. `event` is the event's sequence number when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub event: Option<u64>,
    pub field: Option<String>,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.event, &self.field) {
            (Some(e), Some(field)) => write!(f, "event {e}, field {field}: {}", self.what),
            (Some(e), None) => write!(f, "event {e}: {}", self.what),
            (None, _) => write!(f, "{}", self.what),
        }
    }
}

fn problem(event: Option<u64>, field: Option<&str>, what: impl Into<String>) -> Problem {
    Problem {
        event,
        field: field.map(str::to_string),
        what: what.into(),
    }
}

/// What verification found.
#[derive(Debug, Clone)]
pub struct Report {
    pub session: Session,
    pub events: usize,
    /// The Merkle root recomputed from the events (integrity layer only).
    pub recomputed_root: Option<String>,
    pub problems: Vec<Problem>,
    /// The session never ended and has no final root (its supervisor was
    /// killed, or it is still running): only the chain up to the last
    /// event could be checked; events cut off the end cannot be detected.
    pub incomplete: bool,
}

/// Verify the session stored in `dir`.
pub fn verify(dir: &Path) -> Result<Report> {
    let session = Session::load(dir)?;
    let lines = log::read(dir)?;
    let mut problems = order(&lines, session.integrity.as_ref().map(|i| i.event_count));
    let mut recomputed_root = None;
    let incomplete = session.integrity.is_none() && session.ended.is_none();
    let chained = lines.iter().any(|l| l.integrity.is_some());
    match &session.integrity {
        None if incomplete && !chained => {}
        None if incomplete => {
            let (_, mut found) = lines_check(&session.id, &lines);
            problems.append(&mut found);
        }
        Some(rec) => {
            let (leaves, mut found) = lines_check(&session.id, &lines);
            problems.append(&mut found);
            let root = hash::hex(&hash::merkle_root(&leaves));
            if root != rec.merkle_root {
                problems.push(problem(
                    None,
                    None,
                    format!(
                        "Merkle root: session.json records {}, the events give {root}",
                        rec.merkle_root
                    ),
                ));
            }
            let head = lines.last().and_then(|l| l.integrity.as_ref()).map(|i| i.chain.clone());
            if !lines.is_empty() && head.as_deref() != Some(rec.chain_head.as_str()) {
                problems.push(problem(None, None, "chain head: the last event's chain differs from session.json"));
            }
            recomputed_root = Some(root);
        }
        None if lines.iter().any(|l| l.integrity.is_some()) => problems.push(problem(
            None,
            None,
            "session.json has no integrity record, but the events carry digests (removed from session.json?)",
        )),
        None => {}
    }
    Ok(Report {
        session,
        events: lines.len(),
        recomputed_root,
        problems,
        incomplete,
    })
}

/// Sequence numbers: deleted, duplicated and reordered events.
fn order(lines: &[Line], recorded: Option<u64>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for l in lines {
        if !seen.insert(l.seq) {
            out.push(problem(Some(l.seq), None, "appears more than once"));
        }
    }
    let max_seen = seen.iter().next_back().map_or(0, |m| m + 1);
    let expected = recorded.unwrap_or(0).max(max_seen);
    for s in (0..expected).filter(|s| !seen.contains(s)) {
        out.push(problem(Some(s), None, "is missing (deleted from the log)"));
    }
    if let Some(n) = recorded.filter(|n| *n < max_seen) {
        out.push(problem(
            None,
            None,
            format!("the log has events past the {n} recorded at the end (added)"),
        ));
    }
    let mut in_order: Vec<u64> = lines.iter().map(|l| l.seq).collect();
    in_order.dedup();
    let mut sorted = in_order.clone();
    sorted.sort_unstable();
    if in_order != sorted {
        for (pos, l) in lines.iter().enumerate() {
            let before = lines[..pos].iter().any(|p| p.seq > l.seq);
            if before {
                out.push(problem(
                    Some(l.seq),
                    None,
                    format!("is out of order (found at position {pos})"),
                ));
            }
        }
    }
    out
}

/// Field digests, leaves and chain links of every line; the leaves as
/// recomputed from the values.
fn lines_check(session_id: &str, lines: &[Line]) -> (Vec<Hash>, Vec<Problem>) {
    let mut out = Vec::new();
    let mut leaves = Vec::new();
    let mut prev = hash::genesis(session_id);
    for l in lines {
        let fields = hash::fields(&l.time, &l.kind, &l.data);
        leaves.push(hash::leaf(l.seq, &fields));
        let Some(integ) = &l.integrity else {
            out.push(problem(Some(l.seq), None, "has no integrity digests"));
            continue;
        };
        for name in fields
            .keys()
            .chain(integ.fields.keys())
            .collect::<BTreeSet<_>>()
        {
            let what = match (fields.get(name), integ.fields.get(name)) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => "was edited",
                (Some(_), None) => "was added",
                (None, _) => "was removed",
            };
            out.push(problem(Some(l.seq), Some(name), what));
        }
        let stored_leaf = hash::hex(&hash::leaf(l.seq, &integ.fields));
        if stored_leaf != integ.leaf {
            out.push(problem(
                Some(l.seq),
                None,
                "its leaf or field digests were edited",
            ));
        }
        let link = hash::hex(&hash::chain(&prev, &parse_hex(&integ.leaf)));
        if link != integ.chain {
            out.push(problem(
                Some(l.seq),
                None,
                "the chain breaks here (an event before it was removed, reordered or edited)",
            ));
        }
        prev = parse_hex(&integ.chain);
    }
    (leaves, out)
}

fn parse_hex(s: &str) -> Hash {
    let mut out = [0u8; 32];
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return out;
    }
    for (i, o) in out.iter_mut().enumerate() {
        let h = std::str::from_utf8(&bytes[2 * i..2 * i + 2]).unwrap_or("zz");
        *o = u8::from_str_radix(h, 16).unwrap_or(0);
    }
    out
}

//! Expanded directories made usable by the broker (`nono run` only): a
//! granted directory that contains a protected path has no Landlock rule
//! of its own; the broker lists it and creates new entries directly in it
//! (`nono-broker/src/brokered/parent.rs`). This decides what it is told:
//! each expanded directory with the access of the grants that reach it,
//! and the protected paths (canonical), which it never creates or opens.

use std::os::unix::ffi::OsStrExt;

use ipc::broker::{WireAccess, WireParents};
use sandbox::GrantKind;

use crate::policy::decide::ViewParent as Parent;
use crate::policy::protect::{under, Denied};
use crate::policy::resolve::Policy;

/// Each expanded directory with the union of the tree grants reaching it,
/// less what a protection around it denies (a write-only protection keeps
/// reading; a full one leaves nothing to serve).
pub fn dirs(policy: &Policy) -> Vec<Parent> {
    let active = policy.active_protections();
    let mut out: Vec<Parent> = Vec::new();
    for dir in &policy.expanded {
        if out.iter().any(|p| &p.path == dir) {
            continue;
        }
        let (mut reads, mut writes) = (false, false);
        for g in &policy.grants {
            if g.kind == GrantKind::Tree && under(dir, &g.path) {
                reads |= g.mode.reads();
                writes |= g.mode.writes();
            }
        }
        for q in active.iter().filter(|q| under(dir, &q.path)) {
            match q.denied {
                Denied::All => (reads, writes) = (false, false),
                Denied::Write => writes = false,
            }
        }
        if reads || writes {
            out.push(Parent {
                path: dir.clone(),
                reads,
                writes,
            });
        }
    }
    out
}

/// What the broker is told about `served` (from [`dirs`]); None when
/// there is no expanded directory (the agent's opens are then not
/// notified at all).
pub fn wire(policy: &Policy, served: &[Parent]) -> Option<WireParents> {
    let dirs: Vec<(Vec<u8>, WireAccess)> = served
        .iter()
        .map(|p| {
            let access = match (p.reads, p.writes) {
                (true, true) => WireAccess::ReadWrite,
                (false, true) => WireAccess::Write,
                _ => WireAccess::Read,
            };
            (p.path.as_os_str().as_bytes().to_vec(), access)
        })
        .collect();
    if dirs.is_empty() {
        return None;
    }
    let protected = policy
        .active_protections()
        .into_iter()
        .map(|p| {
            (
                p.path.as_os_str().as_bytes().to_vec(),
                p.denied == Denied::Write,
            )
        })
        .collect();
    Some(WireParents { dirs, protected })
}

//! `nono rollback list | show | verify | restore`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rollback::manifest::diff;
use rollback::session::{Meta, AFTER, BEFORE};
use rollback::Manifest;

use super::args::RollbackCommand;
use super::state;
use crate::{out, ui};

pub fn run(cmd: RollbackCommand) -> Result<i32> {
    match cmd {
        RollbackCommand::List { json } => list(json),
        RollbackCommand::Show { id, json } => show(&id, json),
        RollbackCommand::Verify { id } => verify(&id),
        RollbackCommand::Restore { id, paths, dry_run } => restore(id, paths, dry_run),
    }
}

fn list(json: bool) -> Result<i32> {
    let all = rollback::session::list(&state::rollback_root()?);
    if json {
        let v: Vec<&Meta> = all.iter().map(|(_, m)| m).collect();
        out::write(format_args!("{}\n", serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    if all.is_empty() {
        out::write(format_args!("no rollback sessions\n"));
    }
    for (_, m) in &all {
        let state = if m.taken.len() == 2 {
            "complete"
        } else {
            "incomplete"
        };
        out::write(format_args!(
            "{}  {}  {:<10} workdir {}\n",
            m.id, m.started, state, m.workdir
        ));
    }
    Ok(0)
}

fn session(id: &str) -> Result<(PathBuf, Meta)> {
    if !audit::session::valid_id(id) {
        bail!("invalid session id '{id}' (expected YYYYMMDD-HHMMSS-PID; see nono rollback list)");
    }
    let dir = state::rollback_root()?.join(id);
    let meta = Meta::load(&dir)
        .map_err(|_| anyhow::anyhow!("no rollback session '{id}' (see nono rollback list)"))?;
    Ok((dir, meta))
}

fn show(id: &str, json: bool) -> Result<i32> {
    let (dir, meta) = session(id)?;
    let before = Manifest::load(&dir.join(BEFORE))?;
    let after = Manifest::load(&dir.join(AFTER)).ok();
    let mut rows = Vec::new();
    for b in &before.roots {
        let a = after
            .as_ref()
            .and_then(|m| m.root(&b.root))
            .map(|r| r.entries.as_slice())
            .unwrap_or_default();
        for (p, c) in diff(&b.entries, a) {
            rows.push(serde_json::json!({"root": b.root, "path": p, "change": c}));
        }
    }
    if json {
        let v = serde_json::json!({"session": meta, "changes": rows});
        out::write(format_args!("{}\n", serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    out::write(format_args!(
        "session {}  workdir {}  store {}\n",
        meta.id, meta.workdir, meta.store
    ));
    for r in &before.roots {
        out::write(format_args!(
            "  tracked {} ({} entries, {} excluded)\n",
            r.root,
            r.entries.len(),
            r.excluded.len()
        ));
    }
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        // The path is the command's: a line break in it stays on its line.
        out::write(format_args!(
            "  {:<9} {}/{}\n",
            s("change"),
            s("root"),
            crate::ui::shown(&s("path"))
        ));
    }
    Ok(0)
}

fn verify(id: &str) -> Result<i32> {
    let (dir, meta) = session(id)?;
    let store = meta.store()?;
    let mut problems = Vec::new();
    for name in [BEFORE, AFTER] {
        match Manifest::load(&dir.join(name)) {
            Ok(m) => problems.extend(
                rollback::session::verify(&store, &m)
                    .into_iter()
                    .map(|p| format!("{name}: {p}")),
            ),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    for p in &problems {
        out::write(format_args!("FAILED: {p}\n"));
    }
    if problems.is_empty() {
        out::write(format_args!(
            "OK: session {id}: snapshots match their Merkle commitments and every blob\n"
        ));
        return Ok(0);
    }
    Ok(1)
}

fn restore(id: Option<String>, mut paths: Vec<PathBuf>, dry_run: bool) -> Result<i32> {
    let id = match id {
        Some(i) if audit::session::valid_id(&i) => i,
        other => {
            paths.splice(0..0, other.map(PathBuf::from));
            let all = rollback::session::list(&state::rollback_root()?);
            let Some((_, m)) = all.last() else {
                bail!("no rollback sessions to restore");
            };
            m.id.clone()
        }
    };
    let (dir, meta) = session(&id)?;
    let before = Manifest::load(&dir.join(BEFORE)).context("the session's first snapshot")?;
    let store = meta.store()?;
    let cwd = std::env::current_dir()?;
    let abs: Vec<PathBuf> = paths.iter().map(|p| cwd.join(p)).collect();
    let mut failed = 0;
    for b in &before.roots {
        let mut only: Vec<String> = abs
            .iter()
            .filter_map(|p| rel(Path::new(&b.root), p))
            .collect();
        if !abs.is_empty() && only.is_empty() {
            continue;
        }
        if only.iter().any(String::is_empty) {
            only.clear(); // the whole root was named
        }
        if dry_run {
            let (_, changes) =
                rollback::restore::pending(b, &meta.filter, &only, &mut store.load_cache())?;
            for (p, c) in changes {
                out::write(format_args!(
                    "would undo: {:<13} {}/{p}\n",
                    c.label(),
                    b.root
                ));
            }
            continue;
        }
        let out = rollback::restore::restore_root(&store, b, &meta.filter, &only)?;
        failed += out.failed.len();
        report(&out);
    }
    Ok(i32::from(failed > 0))
}

/// `p` relative to `root` ("" for the root itself: everything).
fn rel(root: &Path, p: &Path) -> Option<String> {
    let r = p.strip_prefix(root).ok()?;
    Some(r.display().to_string())
}

pub fn report(o: &rollback::restore::Outcome) {
    ui::note(format!(
        "nono: restored {} path(s), removed {} created path(s)",
        o.restored.len(),
        o.removed.len()
    ));
    for (p, why) in &o.failed {
        ui::error(format!("rollback: {p}: {why}"));
    }
}

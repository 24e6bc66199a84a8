//! Snapshots around a session: rollback (contents kept, restorable) or,
//! with `--audit-integrity` alone, hashes of the tracked writable state.
//! Tracked: the writable directory grants the user asked for (flags, the
//! working directory, profile grants), not group grants (caches, tool
//! state) nor the private temporary directory.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rollback::session::{save_manifest, Meta, AFTER, BEFORE};
use rollback::snapshot::{take_with, Keep};
use rollback::{Filter, Manifest, Store};
use sandbox::GrantKind;

use crate::cli::RunArgs;
use crate::grants::Source;
use crate::policy::plan::Plan;
use crate::ui;

#[derive(Debug)]
enum Keeping {
    Nothing,
    Hashes(Store),
    Rollback {
        dir: PathBuf,
        store: Store,
        meta: Box<Meta>,
    },
}

#[derive(Debug)]
pub struct Snapshots {
    roots: Vec<PathBuf>,
    filter: Filter,
    keeping: Keeping,
    prompt: bool,
    before: Option<Manifest>,
    after: Option<Manifest>,
    /// The store's metadata cache, loaded once for both snapshots.
    cache: Option<rollback::Cache>,
}

/// The writable directory grants the user asked for, outermost only.
pub fn tracked_roots(plan: &Plan) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = plan
        .policy
        .grants
        .iter()
        .filter(|g| g.mode.writes() && g.kind == GrantKind::Tree)
        .filter(|g| {
            matches!(
                g.source,
                Source::Flag(_) | Source::Workdir | Source::Profile(_)
            )
        })
        .map(|g| g.path.clone())
        .collect();
    roots.sort();
    roots.dedup();
    let all = roots.clone();
    roots.retain(|r| !all.iter().any(|o| o != r && r.starts_with(o)));
    roots
}

fn filter(args: &RunArgs) -> Filter {
    let r = &args.record;
    Filter {
        all: r.rollback_all,
        include: r.rollback_include.clone(),
        exclude: r.rollback_exclude.clone(),
        skip: args.skip_dir.clone(),
    }
}

/// `--rollback-dest`: created if missing, outside every grant.
fn dest_store(dest: &Path, plan: &Plan) -> Result<Store> {
    std::fs::create_dir_all(dest)
        .with_context(|| format!("--rollback-dest {}: cannot be created", dest.display()))?;
    let dest = std::fs::canonicalize(dest)
        .with_context(|| format!("--rollback-dest {}", dest.display()))?;
    if let Some(g) = plan
        .policy
        .rules
        .iter()
        .find(|g| dest.starts_with(&g.path) || g.path.starts_with(&dest))
    {
        bail!(
            "--rollback-dest {}: overlaps the grant {} ({}); the store must be out of the command's reach",
            dest.display(),
            g.path.display(),
            g.source.describe()
        );
    }
    Store::open(&dest)
        .with_context(|| format!("--rollback-dest {}: cannot be written", dest.display()))
}

impl Snapshots {
    /// Take the first snapshot (before the command starts).
    pub fn before(id: &str, args: &RunArgs, plan: &Plan) -> Result<Snapshots> {
        let r = &args.record;
        let roots = tracked_roots(plan);
        let rb_root = super::state::rollback_root()?;
        let keeping = if r.rollback && !roots.is_empty() {
            audit::session::private_dir(&rb_root)?;
            let store = match &r.rollback_dest {
                Some(d) => dest_store(d, plan)?,
                None => Store::open(&rb_root)?,
            };
            let meta = Meta {
                version: 1,
                id: id.to_string(),
                workdir: crate::grants::workdir(&args.policy.fs)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                roots: roots.iter().map(|p| p.display().to_string()).collect(),
                filter: filter(args),
                store: store.dir().display().to_string(),
                started: trust::time::now_rfc3339(),
                taken: Vec::new(),
                restored: None,
            };
            Keeping::Rollback {
                dir: rb_root.join(id),
                store,
                meta: Box::new(meta),
            }
        } else if r.audit_integrity && !roots.is_empty() {
            audit::session::private_dir(&rb_root)?;
            Keeping::Hashes(Store::open(&rb_root)?)
        } else {
            if r.rollback {
                ui::warn(
                    "--rollback: the command has no writable directory grant; nothing to snapshot",
                );
            }
            Keeping::Nothing
        };
        let mut s = Snapshots {
            roots,
            filter: filter(args),
            keeping,
            prompt: !r.no_rollback_prompt,
            before: None,
            after: None,
            cache: None,
        };
        s.before = s.take(BEFORE)?;
        Ok(s)
    }

    /// The last snapshot (the command and everything it started are gone).
    pub fn after(&mut self) {
        match self.take(AFTER) {
            Ok(m) => self.after = m,
            Err(e) => ui::warn(format!("rollback: the final snapshot failed: {e:#}")),
        }
    }

    fn take(&mut self, phase: &str) -> Result<Option<Manifest>> {
        let roots: Vec<&Path> = self.roots.iter().map(PathBuf::as_path).collect();
        let started = Instant::now();
        let bar = Bar::new(started);
        let progress = |p: rollback::snapshot::Progress| bar.show(p);
        let (m, kind) = match &mut self.keeping {
            Keeping::Nothing => return Ok(None),
            Keeping::Hashes(store) => {
                let _lock = store.lock_shared()?; // the cache is rewritten below
                let cache = self.cache.get_or_insert_with(|| store.load_cache());
                store.refresh(cache);
                let m = take_with(&roots, &self.filter, Keep::HashOnly, cache, &progress)?;
                if cache.changed() {
                    store.save_cache(cache)?;
                }
                (m, "fs_state")
            }
            Keeping::Rollback { dir, store, meta } => {
                // Held until the manifest naming the blobs is written: no
                // collection removes one the cache vouches for meanwhile.
                let _lock = store.lock_shared()?;
                let cache = self.cache.get_or_insert_with(|| store.load_cache());
                store.refresh(cache);
                let written = store.written();
                let m = take_with(&roots, &self.filter, Keep::Blobs(store), cache, &progress)?;
                if store.written() > written {
                    store.sync()?;
                }
                if cache.changed() {
                    store.save_cache(cache)?;
                }
                if meta.taken.is_empty() {
                    meta.save(dir)?; // the session's directory, before any manifest
                    store.add_ref(&meta.id, dir)?; // what the store's collection marks from
                }
                save_manifest(dir, phase, &m)?;
                meta.taken.push(phase.trim_end_matches(".json").to_string());
                meta.save(dir)?;
                (m, "rollback_snapshot")
            }
        };
        bar.clear();
        let took = started.elapsed();
        if took.as_secs_f64() > 1.0 {
            ui::note(format!(
                "nono: snapshot of {} files ({} MB) took {:.1} s",
                m.files(),
                m.bytes() / 1_000_000,
                took.as_secs_f64()
            ));
        }
        super::event(kind, commitment(phase, &m));
        Ok(Some(m))
    }

    /// What goes into `session.json`.
    pub fn summary(&self) -> Option<serde_json::Value> {
        let before = self.before.as_ref()?;
        let roots = |m: &Manifest| -> serde_json::Value {
            m.roots
                .iter()
                .map(|r| serde_json::json!({"root": r.root, "merkle_root": r.merkle_root}))
                .collect()
        };
        let kind = match &self.keeping {
            Keeping::Rollback { meta, .. } => {
                serde_json::json!({"rollback": meta.id, "store": meta.store})
            }
            _ => serde_json::json!({"fs_state": true}),
        };
        Some(serde_json::json!({
            "kind": kind,
            "before": roots(before),
            "after": self.after.as_ref().map(roots),
        }))
    }

    /// After the command: the changes as a tree (diffs of text files) and
    /// the choice to restore all, some or none of them.
    pub fn review(&self) {
        let (Keeping::Rollback { store, meta, .. }, Some(before), Some(after)) =
            (&self.keeping, &self.before, &self.after)
        else {
            return;
        };
        let changes = super::review::Changes::between(before, after);
        if changes.is_empty() {
            ui::info("rollback: nothing changed in the tracked directories");
            return;
        }
        let later = format!(
            "review with: nono rollback show {id}; undo with: nono rollback restore {id}",
            id = meta.id
        );
        let interactive = self.prompt && std::io::stdin().is_terminal() && !ui::verbosity_silent();
        if !interactive {
            ui::note(format!(
                "nono: {} change(s) in the tracked directories; {later}",
                changes.len()
            ));
            return;
        }
        let Some(chosen) = changes.ask(store) else {
            ui::note(format!("nono: nothing restored; {later}"));
            return;
        };
        for b in &before.roots {
            let Some(only) = chosen.get(&b.root) else {
                continue;
            };
            match rollback::restore::restore_root(store, b, &self.filter, only) {
                Ok(out) => super::rollback_cmd::report(&out),
                Err(e) => ui::error(format!("rollback: {e}")),
            }
        }
        if chosen.values().any(|o| !o.is_empty()) {
            ui::note(format!("nono: what was not restored can still be: {later}"));
        }
    }

    /// Apply the retention limits to the default store (this session kept).
    pub fn prune(&self, limits: &super::state::Retention) {
        let Keeping::Rollback {
            dir,
            meta,
            store: used,
        } = &self.keeping
        else {
            return;
        };
        let Some(root) = dir.parent() else { return };
        let store = match Store::open(root) {
            Ok(s) => s,
            Err(e) => return ui::warn(format!("rollback retention: {e}")),
        };
        let done = rollback::retention::prune(
            root,
            &store,
            &limits.limits(super::now_secs()),
            &[meta.id.as_str()],
            used.dir() == store.dir() && used.written() > 0,
        );
        for f in &done.failed {
            ui::warn(format!("rollback retention: cannot remove {f}"));
        }
        if !done.sessions.is_empty() || done.blobs > 0 {
            ui::info(format!(
                "rollback: retention removed {} old session(s) and {} unreferenced blob(s) ({} MB)",
                done.sessions.len(),
                done.blobs,
                done.bytes / 1_000_000
            ));
        }
    }
}

fn commitment(phase: &str, m: &Manifest) -> serde_json::Value {
    serde_json::json!({
        "phase": phase.trim_end_matches(".json"),
        "files": m.files(),
        "bytes": m.bytes(),
        "roots": m.roots.iter().map(|r| serde_json::json!({
            "root": r.root, "merkle_root": r.merkle_root, "entries": r.entries.len(),
            "excluded": r.excluded.len(),
        })).collect::<Vec<_>>(),
    })
}

/// A progress line on stderr for a snapshot that takes more than a
/// second, when stderr is a terminal; redrawn at most ten times a second.
struct Bar {
    started: Instant,
    tty: bool,
    last: std::sync::Mutex<Option<Instant>>,
}

impl Bar {
    fn new(started: Instant) -> Bar {
        Bar {
            started,
            tty: std::io::stderr().is_terminal() && !ui::verbosity_silent(),
            last: std::sync::Mutex::new(None),
        }
    }

    fn show(&self, p: rollback::snapshot::Progress) {
        if !self.tty || self.started.elapsed().as_secs_f64() < 1.0 {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed().as_millis() < 100) && p.files < p.total_files {
            return;
        }
        *last = Some(Instant::now());
        let pct = (p.bytes * 100).checked_div(p.total_bytes).unwrap_or(100);
        let filled = usize::try_from(pct / 5).unwrap_or(20).min(20);
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[Knono: snapshot [{}{}] {pct:>3}%  {}/{} files, {}/{} MB",
            "#".repeat(filled),
            " ".repeat(20 - filled),
            p.files,
            p.total_files,
            p.bytes / 1_000_000,
            p.total_bytes / 1_000_000
        );
    }

    /// Remove the line, if one was drawn.
    fn clear(&self) {
        if self
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

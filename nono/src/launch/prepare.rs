//! What a launch makes for the session before the plan is final: the
//! session directory (private `$TMPDIR`, policy snapshot, CA files), the
//! agent's pseudo-terminal, Codex's home, profile mirrors, and later the
//! read-only mounts of the plan's pins. The plan gets them as grants and
//! variables (`AtLaunch`); the supervisor keeps the resources.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sandbox::{AccessMode, GrantKind};

use super::session::SessionDir;
use super::Mode;
use crate::cli::RunArgs;
use crate::grants::{self, Grant, Source};
use crate::policy::plan::{AtLaunch, Plan, Resolved, POLICY_ENV};
use crate::ui;

/// The session's resources, held while it runs.
pub struct Session {
    /// Removed when dropped. None in dry runs: nothing is created.
    pub dir: Option<SessionDir>,
    /// The agent's own pseudo-terminal (`run` with a terminal).
    pub pty: Option<super::pty::Pty>,
    /// A detached session (no user terminal; attach clients only).
    pub headless: bool,
    /// Codex's per-session `CODEX_HOME` (profile `[codex]`, `run` only).
    pub codex: Option<super::codex::Overlay>,
    /// Profile `mirror_files`, copied back after a `run` session.
    pub mirrors: Vec<super::mirror::Mirror>,
    /// The agent's trust bundle and the session CA alone (proxy mode).
    pub ca_files: Option<(PathBuf, PathBuf)>,
    /// The read-only mounts of the plan's pins, prepared (None: no pins,
    /// or a dry run).
    pub pinning: Option<crate::sys::Pinning>,
    /// The detached start's readiness pipe (the background copy only).
    pub ready: Option<OwnedFd>,
    /// `--startup-timeout` (`run` only).
    pub startup_timeout: Option<Duration>,
    /// Who approves elevation requests (`run` with elevation only).
    pub decider: Option<super::elevation::Decider>,
}

/// Make what the session needs for the resolved policy; returns it with
/// the grants and variables it adds to the plan.
pub fn session(args: &RunArgs, mode: Mode, resolved: &Resolved) -> Result<(Session, AtLaunch)> {
    let mut at = AtLaunch::default();
    let dir = match (args.dry_run, mode) {
        (true, _) => None,
        (false, Mode::Run) => Some(SessionDir::for_run()?),
        (false, Mode::Wrap) => Some(SessionDir::for_wrap()?),
    };
    // With a pseudo-terminal of its own the agent gets that, and none
    // of the user's terminals.
    let headless = mode == Mode::Run && super::detach::is_child();
    let pty = if mode == Mode::Run && !args.dry_run && (headless || super::pty::wanted()) {
        Some(super::pty::open()?)
    } else {
        None
    };
    at.grants = match &pty {
        Some(p) => vec![Grant {
            path: p.slave_path.clone(),
            mode: AccessMode::ReadWrite,
            kind: GrantKind::File,
            source: Source::Terminal,
        }],
        None => grants::own_terminals(),
    };
    if let Some(s) = &dir {
        s.create_policy_file()?;
        at.grants.push(Grant {
            path: s.tmp.clone(),
            mode: AccessMode::ReadWrite,
            kind: GrantKind::Tree,
            source: Source::PrivateTmp,
        });
        at.grants.extend(grants::existing(
            &s.policy_file,
            AccessMode::Read,
            Source::PrivateTmp,
        ));
        for var in ["TMPDIR", "TMP", "TEMP"] {
            at.env.push((var, s.tmp.as_os_str().to_owned()));
        }
        at.env
            .push((POLICY_ENV, s.policy_file.as_os_str().to_owned()));
    }
    let profile = &resolved.policy.profile.profile;
    let mirrors = if args.dry_run {
        Vec::new()
    } else {
        mirrors(profile, resolved.vars())?
    };
    let codex = codex(mode, profile, dir.as_ref(), resolved.vars(), &mut at)?;
    let mut ca_files = None;
    if let (Some(s), Some(_)) = (&dir, &resolved.network().proxy) {
        let files = s.create_ca_files()?;
        for f in [&files.0, &files.1] {
            at.ca_grants
                .extend(grants::existing(f, AccessMode::Read, Source::PrivateTmp));
        }
        ca_files = Some(files);
    }
    let session = Session {
        dir,
        pty,
        headless,
        codex,
        mirrors,
        ca_files,
        pinning: None,
        ready: None,
        startup_timeout: None,
        decider: None,
    };
    Ok((session, at))
}

impl Session {
    /// Once the plan is final: the snapshot `why --self` reads, the pins'
    /// read-only mounts made ready, who approves elevation requests.
    pub fn settle(&mut self, plan: &Plan) -> Result<()> {
        if let Some(s) = &self.dir {
            s.write_policy(&plan.view())?;
        }
        if plan.dry_run {
            // The file a run would read is read (and checked) here too
            // (the plan has it only with --capability-elevation).
            if let Some(f) = &plan.elevation_decisions {
                super::elevation::Decider::from_file(f)?;
            }
            return Ok(());
        }
        self.pinning = pinning(&plan.policy.pins)?;
        if plan.elevation.is_some() {
            self.decider = Some(match &plan.elevation_decisions {
                Some(f) => super::elevation::Decider::from_file(f)?,
                None => super::elevation::Decider::Terminal,
            });
        }
        Ok(())
    }
}

/// Codex's per-session home (profile `[codex]`, `run` only).
fn codex(
    mode: Mode,
    profile: &crate::policy::profile::Profile,
    dir: Option<&SessionDir>,
    vars: &crate::policy::vars::Vars,
    at: &mut AtLaunch,
) -> Result<Option<super::codex::Overlay>> {
    if profile.codex.is_some() && mode == Mode::Wrap {
        ui::info(
            "nono wrap leaves Codex's configuration as it is: its own sandbox cannot start \
             inside nono, so run it with --dangerously-bypass-approvals-and-sandbox (or use nono run)",
        );
    }
    let (Some(c), Some(s), Mode::Run) = (&profile.codex, dir, mode) else {
        return Ok(None);
    };
    let Some(home) = vars.expand(&c.home)? else {
        return Ok(None);
    };
    let root = s.policy_file.parent().context("session directory")?;
    let o = super::codex::prepare(root, home)?;
    at.grants.extend(grants::existing(
        &o.dir,
        AccessMode::ReadWrite,
        Source::PrivateTmp,
    ));
    Ok(Some(o))
}

/// The pins made ready to mount (the plan created missing hooks/config):
/// no symbolic link (a mount would follow it, and the link itself could be
/// swapped).
fn pinning(pins: &[crate::policy::persist::Pin]) -> Result<Option<crate::sys::Pinning>> {
    if pins.is_empty() {
        return Ok(None);
    }
    for p in pins {
        let link = std::fs::symlink_metadata(&p.path).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            bail!(
                "{} is a symbolic link, so it cannot be kept read-only ({}); {} runs without this protection",
                p.path.display(),
                p.category,
                p.lift
            );
        }
    }
    let list: Vec<(PathBuf, bool)> = pins.iter().map(|p| (p.path.clone(), p.read_only)).collect();
    crate::sys::prepare_pinning(&list)
        .map(Some)
        .context("cannot prepare the read-only mounts of git hooks and configuration")
}

/// Profile `mirror_files`: bring each copy up to date. A mirror that
/// cannot be made safely is skipped with a warning (the agent then starts
/// without the user's state; nothing is widened).
fn mirrors(
    profile: &crate::policy::profile::Profile,
    vars: &crate::policy::vars::Vars,
) -> Result<Vec<super::mirror::Mirror>> {
    let mut out = Vec::new();
    for (inside, outside) in &profile.mirror_files {
        let (Some(i), Some(o)) = (vars.expand(inside)?, vars.expand(outside)?) else {
            continue;
        };
        let keys = profile
            .mirror_user_keys
            .get(inside)
            .cloned()
            .unwrap_or_default();
        match super::mirror::prepare(i, o, keys) {
            Ok(m) => out.push(m),
            Err(e) => ui::warn(format!(
                "profile mirror_files {inside}: {e:#}; not mirrored"
            )),
        }
    }
    Ok(out)
}

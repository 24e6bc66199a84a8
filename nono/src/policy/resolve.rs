//! From what the user asked (flags, profile) to the policy the kernel will
//! enforce: grants, protections, bypasses, network, and effective rules.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sandbox::{AccessMode, GrantKind, NetworkPolicy};

use super::glob;
use super::groups::{self, Group};
use super::load::{self, Loaded};
use super::persist::{self, Pin};
use super::profile::{Profile, WorkdirAccess};
use super::protect::{self, canonical_lenient, Denied, Protection};
use super::vars::Vars;
use crate::cli::PolicyArgs;
use crate::grants::{self, Grant, Source};

/// Everything decided about a session's policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub profile: Loaded,
    /// Groups in force (required ones first).
    pub groups: Vec<String>,
    /// Grants as asked, before expansion around protected paths.
    pub grants: Vec<Grant>,
    /// Every protection, including bypassed ones.
    pub protections: Vec<Protection>,
    pub bypass: Vec<PathBuf>,
    /// What Landlock gets.
    pub rules: Vec<Grant>,
    /// Granted directories expanded around protected paths: no rule of
    /// their own, so nothing new can be created directly in them.
    pub expanded: Vec<PathBuf>,
    /// Paths inside writable grants kept read-only by a mount (git hooks
    /// and config; a profile's `policy.keep_read_only`).
    pub pins: Vec<Pin>,
    pub network: NetworkPolicy,
    /// Profile paths left out, and why (missing, or an unset variable):
    /// shown with `-v` and by `--dry-run`.
    pub skipped: Vec<String>,
}

impl Policy {
    /// Protections still in force.
    pub fn active_protections(&self) -> Vec<Protection> {
        protect::active(&self.protections, &self.bypass)
    }

    /// Add grants made at launch (temp dir, terminals) and re-check them.
    pub fn add_rules(&mut self, extra: Vec<Grant>) -> Result<()> {
        self.rules.extend(extra);
        protect::verify(&self.rules, &self.active_protections(), &self.bypass)
    }
}

/// Whether the working directory may be shared at the profile's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkdirConsent {
    Given,
    Refused,
}

fn mode_of(access: WorkdirAccess) -> Option<AccessMode> {
    match access {
        WorkdirAccess::None => None,
        WorkdirAccess::Read => Some(AccessMode::Read),
        WorkdirAccess::Write => Some(AccessMode::Write),
        WorkdirAccess::Readwrite => Some(AccessMode::ReadWrite),
    }
}

/// Load the profile named by the flags (or `default`).
pub fn load_profile(args: &PolicyArgs) -> Result<Loaded> {
    load::load(args.profile.as_deref().unwrap_or("default"))
}

/// Whether resolving may create the profile's missing state directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialize {
    /// Launching: create missing `filesystem.allow` directories under $HOME.
    StateDirs,
    /// `why`, `--dry-run`: change nothing on disk.
    Nothing,
}

/// Resolve everything. `consent` covers sharing the working directory at
/// the profile's level; `--allow-cwd` alone shares it read-only.
pub fn resolve(
    args: &PolicyArgs,
    profile: Loaded,
    consent: WorkdirConsent,
    materialize: Materialize,
) -> Result<Policy> {
    let workdir = grants::workdir(&args.fs)?;
    let vars = Vars::from_env(workdir.clone());
    let p = &profile.profile;
    let mut group_names: Vec<String> = groups::required()?.into_iter().map(String::from).collect();
    let gpu = gpu_wanted(args, &profile)?.then(|| GPU_GROUP.to_string());
    for g in p.group_names().into_iter().chain(gpu) {
        groups::get(&g).with_context(|| format!("in profile {}", profile.name))?;
        if !group_names.contains(&g) {
            group_names.push(g);
        }
    }
    let mut all = Vec::new();
    let mut protections = Vec::new();
    for name in &group_names {
        let g = groups::get(name)?;
        all.extend(group_grants(name, g, &vars)?);
        protections.extend(group_protections(name, g, &vars)?);
    }
    if group_names.iter().any(|g| g == GPU_GROUP) {
        warn_without_gpu(&all)?;
    }
    protections.extend(profile_protections(&profile.name, p, &vars)?);
    if materialize == Materialize::StateDirs {
        create_state_dirs(&profile.name, p, &vars, &protections)?;
    }
    let mut skipped = Vec::new();
    all.extend(profile_grants(&profile.name, p, &vars, &mut skipped)?);
    for s in &skipped {
        crate::ui::info(format!("skipped {s}"));
    }
    let workdir_access = p.workdir.as_ref().map(|w| w.access).unwrap_or_default();
    if let Some(g) = workdir_grant(args, &workdir, workdir_access, consent) {
        all.push(g);
    }
    all.extend(grants::user_grants(&args.fs)?);
    let kept = kept_read_only(&profile.name, p, &vars)?;
    let bypass = bypasses(args, &protections, &kept, &all)?;
    let active = protect::active(&protections, &bypass);
    let (rules, expanded) = protect::apply(&all, &active, &bypass)?;
    if materialize == Materialize::StateDirs {
        for made in grants::create_missing_files(&all)? {
            crate::ui::note(format!(
                "created {} (empty, 0600) for its grant",
                made.display()
            ));
        }
    }
    let git_allowed =
        args.allow_git_config_writes || p.security.allow_git_config_writes == Some(true);
    let pins = pins(
        &all,
        &rules,
        kept,
        &bypass,
        git_allowed,
        (vars.home.as_deref(), &workdir),
    );
    let block = args.block_net || (!args.allow_net && p.network.block == Some(true));
    Ok(Policy {
        groups: group_names,
        grants: all,
        protections,
        bypass,
        rules,
        expanded,
        pins,
        skipped,
        network: if block {
            NetworkPolicy::Blocked
        } else {
            NetworkPolicy::Allowed
        },
        profile,
    })
}

/// The group `--allow-gpu` adds.
pub const GPU_GROUP: &str = "gpu_linux";

/// `--allow-gpu`: enough on its own without `--profile`; with a profile,
/// only if the profile opts in (`security.allow_gpu = true`), else nono
/// refuses rather than widen a profile that did not ask for it.
fn gpu_wanted(args: &PolicyArgs, profile: &Loaded) -> Result<bool> {
    if !args.allow_gpu {
        return Ok(false);
    }
    let named = args.profile.is_some();
    if named && profile.profile.security.allow_gpu != Some(true) {
        bail!(
            "--allow-gpu: profile {} does not opt into GPU access; add \
             security.allow_gpu = true to the profile (or run without --profile)",
            profile.name
        );
    }
    Ok(true)
}

/// `--allow-gpu` on a machine without a GPU device node: a warning, not an
/// error (a profile asking for a GPU stays usable without one).
fn warn_without_gpu(all: &[Grant]) -> Result<()> {
    let ours = |g: &&Grant| matches!(&g.source, Source::Group(n) if n == GPU_GROUP);
    if all.iter().filter(ours).any(|g| g.path.starts_with("/dev")) {
        return Ok(());
    }
    let group = groups::get(GPU_GROUP)?;
    let devices: Vec<&str> = group
        .readwrite
        .iter()
        .map(String::as_str)
        .filter(|p| p.starts_with("/dev/"))
        .collect();
    crate::ui::warn(format!(
        "--allow-gpu: no GPU device found (looked for {}); no GPU device was granted",
        devices.join(", ")
    ));
    Ok(())
}

fn workdir_grant(
    args: &PolicyArgs,
    workdir: &Path,
    access: WorkdirAccess,
    consent: WorkdirConsent,
) -> Option<Grant> {
    let mode = match (mode_of(access), consent, args.fs.allow_cwd) {
        (Some(m), WorkdirConsent::Given, _) => m,
        (None, _, true) => AccessMode::Read,
        _ => return None,
    };
    Some(Grant {
        path: workdir.to_path_buf(),
        mode,
        kind: GrantKind::Tree,
        source: Source::Workdir,
    })
}

fn group_grants(name: &str, g: &Group, vars: &Vars) -> Result<Vec<Grant>> {
    let mut out = Vec::new();
    for (list, mode) in [
        (&g.read, AccessMode::Read),
        (&g.readwrite, AccessMode::ReadWrite),
        (&g.write, AccessMode::Write),
    ] {
        for raw in list {
            let Some(path) = vars.expand(raw).with_context(|| format!("group {name}"))? else {
                continue;
            };
            let paths = if glob::is_pattern(raw) {
                glob::expand(&path)
            } else {
                vec![path]
            };
            for path in paths {
                out.extend(grants::existing(
                    &path,
                    mode,
                    Source::Group(name.to_string()),
                ));
            }
        }
    }
    Ok(out)
}

fn group_protections(name: &str, g: &Group, vars: &Vars) -> Result<Vec<Protection>> {
    let mut out = Vec::new();
    for (list, denied) in [(&g.deny, Denied::All), (&g.deny_write, Denied::Write)] {
        for d in list {
            let Some(path) = vars
                .expand(&d.path)
                .with_context(|| format!("group {name}"))?
            else {
                continue;
            };
            out.push(Protection {
                path: canonical_lenient(&path),
                denied,
                category: d.category.clone(),
                origin: format!("group {name}"),
            });
        }
    }
    Ok(out)
}

fn profile_grants(
    name: &str,
    p: &Profile,
    vars: &Vars,
    skipped: &mut Vec<String>,
) -> Result<Vec<Grant>> {
    let f = &p.filesystem;
    let lists = [
        ("allow", &f.allow, AccessMode::ReadWrite, GrantKind::Tree),
        ("read", &f.read, AccessMode::Read, GrantKind::Tree),
        ("write", &f.write, AccessMode::Write, GrantKind::Tree),
        (
            "allow_file",
            &f.allow_file,
            AccessMode::ReadWrite,
            GrantKind::File,
        ),
        ("read_file", &f.read_file, AccessMode::Read, GrantKind::File),
        (
            "write_file",
            &f.write_file,
            AccessMode::Write,
            GrantKind::File,
        ),
    ];
    let mut out = Vec::new();
    for (field, list, mode, kind) in lists {
        for raw in list {
            let what = format!("{name} filesystem.{field}");
            let Some(path) = vars
                .expand(raw)
                .with_context(|| format!("profile {what}"))?
            else {
                skipped.push(format!(
                    "profile {what}: {raw} (a variable in it is not set)"
                ));
                continue;
            };
            let Some(g) = grants::existing(&path, mode, Source::Profile(what.clone())) else {
                skipped.push(format!(
                    "profile {what}: {} (does not exist)",
                    path.display()
                ));
                continue;
            };
            if g.kind != kind {
                bail!(
                    "profile {what}: {} is {}",
                    path.display(),
                    if g.kind == GrantKind::Tree {
                        "a directory; use the directory fields"
                    } else {
                        "a file; use the *_file fields"
                    }
                );
            }
            out.push(g);
        }
    }
    Ok(out)
}

/// Create the profile's missing read-write directories under $HOME (0700),
/// so an agent's first run finds its state directories granted. Never
/// inside or above a protected path.
fn create_state_dirs(
    name: &str,
    p: &Profile,
    vars: &Vars,
    protections: &[Protection],
) -> Result<()> {
    let Some(home) = &vars.home else {
        return Ok(());
    };
    for raw in &p.filesystem.allow {
        let Some(path) = vars.expand(raw)? else {
            continue;
        };
        let path = canonical_lenient(&path);
        let touches_protected = protections
            .iter()
            .any(|pr| path.starts_with(&pr.path) || pr.path.starts_with(&path));
        if path.exists() || !path.starts_with(home) || &path == home || touches_protected {
            continue;
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .with_context(|| {
                format!(
                    "profile {name} filesystem.allow: cannot create {}",
                    path.display()
                )
            })?;
        // A directory made on the host is said, not done silently.
        crate::ui::note(format!(
            "created {} (0700) for profile {name} filesystem.allow",
            path.display()
        ));
    }
    Ok(())
}

fn profile_protections(name: &str, p: &Profile, vars: &Vars) -> Result<Vec<Protection>> {
    let mut out = Vec::new();
    for (field, list, denied) in [
        ("add_deny_access", &p.policy.add_deny_access, Denied::All),
        ("add_deny_write", &p.policy.add_deny_write, Denied::Write),
    ] {
        for raw in list {
            let Some(path) = vars
                .expand(raw)
                .with_context(|| format!("profile {name} policy.{field}"))?
            else {
                continue;
            };
            out.push(Protection {
                path: canonical_lenient(&path),
                denied,
                category: "Denied by profile".to_string(),
                origin: format!("profile {name} policy.{field}"),
            });
        }
    }
    Ok(out)
}

/// A profile's `policy.keep_read_only` paths that exist here.
fn kept_read_only(name: &str, p: &Profile, vars: &Vars) -> Result<Vec<Pin>> {
    let mut out = Vec::new();
    for raw in &p.policy.keep_read_only {
        let Some(path) = vars
            .expand(raw)
            .with_context(|| format!("profile {name} policy.keep_read_only"))?
        else {
            continue;
        };
        let Ok(path) = std::fs::canonicalize(&path) else {
            continue;
        };
        out.push(Pin {
            path: path.clone(),
            read_only: true,
            category: "Kept read-only by the profile".to_string(),
            origin: format!("profile {name} policy.keep_read_only"),
            lift: format!("--bypass-protection {}", path.display()),
        });
    }
    Ok(out)
}

/// Every pin in force: the profile's (unless bypassed) and git's (unless
/// allowed), each only where a writable rule reaches it.
fn pins(
    grants: &[Grant],
    rules: &[Grant],
    kept: Vec<Pin>,
    bypass: &[PathBuf],
    git_allowed: bool,
    (home, workdir): (Option<&Path>, &Path),
) -> Vec<Pin> {
    let writable = |p: &Path| {
        rules.iter().any(|r| {
            r.mode.writes()
                && (r.path == p || (r.kind == GrantKind::Tree && protect::under(p, &r.path)))
        })
    };
    let mut out: Vec<Pin> = kept
        .into_iter()
        .filter(|k| !bypass.iter().any(|b| protect::under(&k.path, b)))
        .filter(|k| writable(&k.path))
        .collect();
    if !git_allowed {
        out.extend(persist::git(grants, rules, home, workdir));
    }
    persist::dedup(out)
}

/// Validate `--bypass-protection`: each must match a protected path (or a
/// path the profile keeps read-only) and be granted; each prints a warning.
fn bypasses(
    args: &PolicyArgs,
    protections: &[Protection],
    kept: &[Pin],
    grants: &[Grant],
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for raw in &args.bypass_protection {
        let b = canonical_lenient(&std::path::absolute(raw).unwrap_or_else(|_| raw.clone()));
        let matched: Vec<&Protection> = protections
            .iter()
            .filter(|p| p.path.starts_with(&b) || b.starts_with(&p.path))
            .collect();
        let lifted: Vec<&Pin> = kept.iter().filter(|k| k.path.starts_with(&b)).collect();
        for k in &lifted {
            crate::ui::warn(format!(
                "letting the command write {} ({})",
                k.path.display(),
                k.origin
            ));
        }
        if matched.is_empty() && !lifted.is_empty() {
            out.push(b);
            continue;
        }
        if matched.is_empty() {
            bail!(
                "--bypass-protection {}: not a protected path ('nono profile groups' lists them)",
                raw.display()
            );
        }
        let granted = grants.iter().any(|g| {
            g.is_user() && (g.path == b || (g.kind == GrantKind::Tree && b.starts_with(&g.path)))
        });
        if !granted {
            bail!(
                "--bypass-protection {0} needs a matching grant: add --allow, --read or --write {0} (or the file form)",
                raw.display()
            );
        }
        for p in matched {
            crate::ui::warn(format!(
                "bypassing protection of {} ({}, {})",
                p.path.display(),
                p.category,
                p.origin
            ));
        }
        out.push(b);
    }
    Ok(out)
}

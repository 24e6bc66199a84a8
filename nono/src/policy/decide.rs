//! The decisions `nono why` explains, computed from the same rules the
//! kernel gets (so the two cannot drift apart), and the snapshot a sandbox
//! carries so `why --self` can answer from inside.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use sandbox::{AccessMode, GrantKind, NetworkPolicy};
use serde::{Deserialize, Serialize};

use super::protect::{canonical_lenient, Denied};
use super::resolve::Policy;
use crate::network::ProxyPlan;

/// One rule as `why` sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewRule {
    pub path: PathBuf,
    pub reads: bool,
    pub writes: bool,
    pub tree: bool,
    pub source: String,
}

/// One protection in force.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewProtection {
    pub path: PathBuf,
    pub write_only: bool,
    pub category: String,
    pub origin: String,
    /// Bypasses that lift it beneath themselves.
    pub bypass: Vec<PathBuf>,
    /// Kept read-only by a mount (git hooks and config, a profile's
    /// `keep_read_only`): the grant around it is whole. The flag that
    /// lifts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
}

/// `nono run`: an expanded directory the broker lists and creates new
/// entries in (`nono-broker/src/brokered/parent.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewParent {
    pub path: PathBuf,
    pub reads: bool,
    pub writes: bool,
}

/// What a sandbox enforces, in a form that can be written to a file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct View {
    pub profile: String,
    pub rules: Vec<ViewRule>,
    pub protections: Vec<ViewProtection>,
    pub network_blocked: bool,
    /// Proxy mode: only the nono proxy is reachable.
    #[serde(default)]
    pub network_proxied: bool,
    /// Directories without a rule of their own (they contain protected paths).
    #[serde(default)]
    pub expanded: Vec<PathBuf>,
    /// Proxy mode: the rules the session's proxy enforces.
    #[serde(default)]
    pub proxy: Option<ProxyView>,
    /// `--allow-gpu` was given (the GPU group is in force).
    #[serde(default)]
    pub gpu: bool,
    /// `nono run`: expanded directories served by the broker.
    #[serde(default)]
    pub brokered: Vec<ViewParent>,
    /// Pathname unix sockets the broker lets the command reach.
    #[serde(default)]
    pub unix: Vec<ViewUnix>,
}

impl View {
    pub fn of(policy: &Policy) -> View {
        let rules = policy
            .rules
            .iter()
            .map(|g| ViewRule {
                path: g.path.clone(),
                reads: g.mode.reads(),
                writes: g.mode.writes(),
                tree: g.kind == GrantKind::Tree,
                source: g.source.describe(),
            })
            .collect();
        let protections = policy
            .active_protections()
            .into_iter()
            .map(|p| ViewProtection {
                bypass: policy
                    .bypass
                    .iter()
                    .filter(|b| b.starts_with(&p.path))
                    .cloned()
                    .collect(),
                path: p.path,
                write_only: p.denied == Denied::Write,
                category: p.category,
                origin: p.origin,
                pinned: None,
            })
            .chain(
                policy
                    .pins
                    .iter()
                    .filter(|p| p.read_only)
                    .map(|p| ViewProtection {
                        path: p.path.clone(),
                        write_only: true,
                        category: p.category.clone(),
                        origin: p.origin.clone(),
                        bypass: Vec::new(),
                        pinned: Some(p.lift.clone()),
                    }),
            )
            .collect();
        View {
            profile: policy.profile.name.clone(),
            rules,
            protections,
            network_blocked: policy.network == NetworkPolicy::Blocked,
            network_proxied: policy.network == NetworkPolicy::TcpPorts,
            expanded: policy.expanded.clone(),
            proxy: None,
            gpu: policy.groups.iter().any(|g| g == super::resolve::GPU_GROUP),
            brokered: Vec::new(),
            unix: Vec::new(),
        }
    }

    /// With the expanded directories the broker serves (`nono run`).
    pub fn with_parents(mut self, brokered: Vec<ViewParent>) -> View {
        self.brokered = brokered;
        self
    }

    /// With the session's unix-socket grants.
    pub fn with_unix(mut self, unix: Vec<ViewUnix>) -> View {
        self.unix = unix;
        self
    }

    /// With the session's proxy (proxy mode reaches the network only
    /// through it, whatever the profile's network setting).
    pub fn with_proxy(mut self, px: Option<&ProxyPlan>) -> View {
        if let Some(px) = px {
            self.network_blocked = false;
            self.network_proxied = true;
            self.proxy = Some(ProxyView::of(px));
        }
        self
    }
}

/// A credential route as `why` sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteView {
    pub name: String,
    pub upstream: String,
    pub base_url_var: String,
}

/// What the session's proxy enforces.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ProxyView {
    /// Allowlist entries, exactly as the proxy receives them.
    pub hosts: Vec<String>,
    pub routes: Vec<RouteView>,
    /// An upstream proxy resolves the names (except bypassed hosts).
    pub upstream_proxy: bool,
    pub upstream_bypass: Vec<String>,
}

impl ProxyView {
    pub fn of(px: &ProxyPlan) -> ProxyView {
        ProxyView {
            hosts: px.hosts.clone(),
            routes: px
                .routes
                .iter()
                .map(|r| RouteView {
                    name: r.route.name.clone(),
                    upstream: r.route.upstream.clone(),
                    base_url_var: r.base_url_var.clone(),
                })
                .collect(),
            upstream_proxy: px.upstream_proxy.is_some(),
            upstream_bypass: px.bypass.clone(),
        }
    }
}

/// Which sockets a grant covers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnixScope {
    /// The socket at this path.
    Socket,
    /// Sockets directly in this directory.
    Dir,
    /// Sockets anywhere under this directory.
    Subtree,
}

/// One unix-socket grant as `why` sees it (canonical path).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ViewUnix {
    pub path: PathBuf,
    pub scope: UnixScope,
    /// Bind as well as connect.
    pub bind: bool,
    /// The flag or profile field that granted it.
    pub source: String,
}

/// The operation asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    ReadWrite,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op> {
        Ok(match s {
            "read" => Op::Read,
            "write" => Op::Write,
            "readwrite" => Op::ReadWrite,
            other => bail!("--op {other}: expected read, write, readwrite, connect or bind"),
        })
    }

    fn mode(self) -> AccessMode {
        match self {
            Op::Read => AccessMode::Read,
            Op::Write => AccessMode::Write,
            Op::ReadWrite => AccessMode::ReadWrite,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::ReadWrite => "readwrite",
        }
    }
}

/// An answer, printed as text or JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Answer {
    pub status: &'static str,
    pub reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granted_by: Option<String>,
    pub details: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// The single flag to add (`--read /x`); null when allowed, protected
    /// or when no flag grants it.
    pub suggested_flag: Option<String>,
    /// Who decided: `user`, `profile`, `group:<name>` or `default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Answer {
    pub fn allowed(&self) -> bool {
        self.status == "allowed"
    }
}

fn protection_hit<'a>(view: &'a View, p: &Path, op: Op) -> Option<&'a ViewProtection> {
    view.protections.iter().find(|pr| {
        p.starts_with(&pr.path)
            && (!pr.write_only || op != Op::Read)
            && !pr.bypass.iter().any(|b| p.starts_with(b))
    })
}

/// A write to a pinned path: read-only by a mount, whatever the grants.
fn pinned_answer(pr: &ViewProtection, lift: &str, base: Answer) -> Answer {
    Answer {
        reason: "sensitive_path",
        category: Some(pr.category.clone()),
        details: format!(
            "{} is kept read-only inside the sandbox ({}): code planted there would run later, \
             outside the sandbox. Reading stays as granted.",
            pr.path.display(),
            pr.origin
        ),
        suggestion: Some(lift.to_string()),
        ..base
    }
}

fn grant_flag(op: Op, dir: bool) -> &'static str {
    match (op, dir) {
        (Op::Read, true) => "--read",
        (Op::Write, true) => "--write",
        (Op::ReadWrite, true) => "--allow",
        (Op::Read, false) => "--read-file",
        (Op::Write, false) => "--write-file",
        (Op::ReadWrite, false) => "--allow-file",
    }
}

/// Why `op` on `raw` is allowed or denied, with the flag to add and who
/// decided.
pub fn path(view: &View, raw: &Path, op: Op) -> Answer {
    let mut a = path_answer(view, raw, op);
    a.suggested_flag = a.suggestion.clone().filter(|s| {
        let mut w = s.split(' ');
        w.next()
            .is_some_and(|f| f.starts_with("--") && f != "--bypass-protection")
            && w.next().is_some()
            && !s.contains(" together ")
            || s == "--allow-gpu"
    });
    let p = a.path.clone().unwrap_or_default();
    a.source = Some(if a.reason == "other_process" {
        "default".into() // the kernel's own rule, whatever the grants
    } else if a.reason == "sensitive_path" {
        protection_hit(view, &p, op)
            .map(|pr| source_kind(&pr.origin))
            .unwrap_or_else(|| "default".into())
    } else {
        let need = op.mode();
        covering(view, &p)
            .into_iter()
            .find(|r| !a.allowed() || (need.reads() && r.reads) || (need.writes() && r.writes))
            .map(|r| source_kind(&r.source))
            .unwrap_or_else(|| "default".into())
    });
    a
}

/// `group x` → `group:x`; profile fields → `profile`; flags → `user`;
/// nono's own session grants → `default`.
pub(super) fn source_kind(s: &str) -> String {
    if let Some(g) = s.strip_prefix("group ") {
        format!("group:{g}")
    } else if s.starts_with("profile ") {
        "profile".into()
    } else if s.starts_with("--") {
        "user".into()
    } else {
        "default".into()
    }
}

fn covering<'a>(view: &'a View, p: &Path) -> Vec<&'a ViewRule> {
    view.rules
        .iter()
        .filter(|r| {
            if r.tree {
                p.starts_with(&r.path)
            } else {
                p == r.path
            }
        })
        .collect()
}

/// The GPU group's pattern `p` falls under, when `--allow-gpu` is not in
/// force (then `--allow-gpu` is the grant to suggest).
fn gpu_pattern(view: &View, p: &Path, op: Op) -> Option<String> {
    if view.gpu {
        return None;
    }
    let g = super::groups::get(super::resolve::GPU_GROUP).ok()?;
    let read_only: &[String] = if op == Op::Read { &g.read } else { &[] };
    g.readwrite
        .iter()
        .chain(read_only)
        .filter(|pat| !pat.contains('$'))
        .find(|pat| {
            super::glob::matches_path(pat, p)
                || (!super::glob::is_pattern(pat) && p.starts_with(pat))
        })
        .cloned()
}

/// A ptrace-guarded `/proc` entry of another process: denied from inside
/// any sandbox, and no grant changes it.
fn other_process(abs: PathBuf, op: Op, pid: &str, entry: &str) -> Answer {
    Answer {
        status: "denied",
        reason: "other_process",
        path: Some(abs),
        op: Some(op.name()),
        category: None,
        granted_by: None,
        details: format!(
            "/proc/{pid}/{entry} needs ptrace access to process {pid}, which the kernel \
             (Landlock) refuses a sandboxed process for every process outside its sandbox. \
             No flag grants it; a process reads its own entries through /proc/self."
        ),
        suggestion: None,
        suggested_flag: None,
        source: None,
    }
}

/// A protected path strictly inside `dir` that a grant of `dir` for `op`
/// would be expanded around: such a grant gives `dir` no rule of its own.
fn expanding<'a>(view: &'a View, dir: &Path, op: Op) -> Option<&'a ViewProtection> {
    view.protections.iter().find(|pr| {
        pr.pinned.is_none()
            && pr.path != dir
            && pr.path.starts_with(dir)
            && (!pr.write_only || op.mode().writes())
    })
}

fn path_answer(view: &View, raw: &Path, op: Op) -> Answer {
    let abs = std::path::absolute(raw).unwrap_or_else(|_| raw.to_path_buf());
    if let Some((pid, entry)) = super::procfs::guarded_entry(&abs) {
        return other_process(abs, op, &pid, &entry);
    }
    let q = Query::new(view, canonical_lenient(&abs), op);
    protected_answer(view, &q)
        .or_else(|| granted_answer(&q))
        .or_else(|| brokered_answer(view, &q.path, op, &q.base))
        .or_else(|| proc_answer(&q))
        .or_else(|| gpu_answer(view, &q))
        .or_else(|| expanded_answer(view, &q))
        .unwrap_or_else(|| ungranted_answer(&q))
}

/// One path question, with what the rules that cover the path grant.
struct Query<'v> {
    path: PathBuf,
    op: Op,
    covering: Vec<&'v ViewRule>,
    reads: bool,
    writes: bool,
    /// The path, or its parent when it does not exist: what a grant names.
    target: PathBuf,
    base: Answer,
}

impl<'v> Query<'v> {
    fn new(view: &'v View, p: PathBuf, op: Op) -> Query<'v> {
        let covering: Vec<&ViewRule> = view
            .rules
            .iter()
            .filter(|r| {
                if r.tree {
                    p.starts_with(&r.path)
                } else {
                    p == r.path
                }
            })
            .collect();
        let (reads, writes) = covering
            .iter()
            .fold((false, false), |(r, w), x| (r || x.reads, w || x.writes));
        let target = if p.exists() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let base = Answer {
            status: "denied",
            reason: "",
            path: Some(p.clone()),
            op: Some(op.name()),
            category: None,
            granted_by: None,
            details: String::new(),
            suggestion: None,
            suggested_flag: None,
            source: None,
        };
        Query {
            path: p,
            op,
            covering,
            reads,
            writes,
            target,
            base,
        }
    }

    /// `path_not_granted` when nothing covers the path, else
    /// `insufficient_access`.
    fn missing_reason(&self) -> &'static str {
        if self.covering.is_empty() {
            "path_not_granted"
        } else {
            "insufficient_access"
        }
    }
}

/// A protected path (or a pinned one, read-only in place).
fn protected_answer(view: &View, q: &Query) -> Option<Answer> {
    let pr = protection_hit(view, &q.path, q.op)?;
    if let Some(lift) = &pr.pinned {
        return Some(pinned_answer(pr, lift, q.base.clone()));
    }
    Some(Answer {
        reason: "sensitive_path",
        category: Some(pr.category.clone()),
        details: format!(
            "Path matches sensitive pattern '{}' ({}). Access blocked by security policy.",
            pr.category, pr.origin
        ),
        suggestion: Some(format!(
            "--bypass-protection {0} together with a grant such as {1} {0}",
            pr.path.display(),
            grant_flag(q.op, pr.path.is_dir() || pr.path != q.path)
        )),
        ..q.base.clone()
    })
}

/// The rules covering the path grant what was asked.
fn granted_answer(q: &Query) -> Option<Answer> {
    let need = q.op.mode();
    if (need.reads() && !q.reads) || (need.writes() && !q.writes) {
        return None;
    }
    let by = q
        .covering
        .iter()
        .find(|r| (need.reads() && r.reads) || (need.writes() && r.writes))
        .map(|r| format!("{} ({})", r.path.display(), r.source));
    Some(Answer {
        status: "allowed",
        reason: "granted_path",
        details: format!("{} access is granted.", q.op.name()),
        granted_by: by,
        ..q.base.clone()
    })
}

/// Inside /proc: no flag is suggested (a grant there names one process).
fn proc_answer(q: &Query) -> Option<Answer> {
    if !q.target.starts_with("/proc") || q.target == Path::new("/proc") {
        return None;
    }
    Some(Answer {
        reason: q.missing_reason(),
        details: format!(
            "/proc is granted {} by nono's defaults. A grant inside it would name one \
             process's entries (nono's or this command's, not the agent's), so no flag is \
             suggested; only a grant of /proc itself would change this, and it would apply \
             to every process's entries.",
            if q.reads { "read-only" } else { "no access" }
        ),
        ..q.base.clone()
    })
}

/// A GPU device or file: only `--allow-gpu` grants it.
fn gpu_answer(view: &View, q: &Query) -> Option<Answer> {
    let pattern = gpu_pattern(view, &q.path, q.op)?;
    Some(Answer {
        reason: "path_not_granted",
        details: format!(
            "{} is a GPU path ({pattern}, group {}): granted only with --allow-gpu \
             (with --profile, the profile must set security.allow_gpu = true).",
            q.path.display(),
            super::resolve::GPU_GROUP
        ),
        suggestion: Some("--allow-gpu".into()),
        ..q.base.clone()
    })
}

/// A directory any grant of which would be expanded around protected
/// paths, or a new entry directly in such an expanded directory.
fn expanded_answer(view: &View, q: &Query) -> Option<Answer> {
    if let Some(pr) = expanding(view, &q.target, q.op).filter(|_| q.target.is_dir()) {
        // A grant of the directory would be expanded around the protected
        // path: the directory itself would still get no rule.
        let details = format!(
            "{} contains protected paths ({}: {}; {} in all), so any grant of it is expanded \
             into its entries: the directory itself is not listable and nothing new can be \
             created directly in it. No grant changes that; only --bypass-protection of the \
             protected paths inside it would.",
            q.target.display(),
            pr.path.display(),
            pr.category,
            view.protections
                .iter()
                .filter(|x| x.path != q.target && x.path.starts_with(&q.target))
                .count()
        );
        return Some(Answer {
            reason: "path_not_granted",
            details,
            ..q.base.clone()
        });
    }
    let parent = q.path.parent().map(Path::to_path_buf).unwrap_or_default();
    let creating = q.op.mode().writes() && !q.path.exists();
    if !(q.covering.is_empty() && creating && view.expanded.contains(&parent)) {
        return None;
    }
    Some(Answer {
        reason: "path_not_granted",
        details: format!(
            "{} contains protected paths, so its grant was expanded into its existing entries; \
             new entries cannot be created directly in it. Create it in a subdirectory, or use \
             --bypass-protection for the protected path.",
            parent.display()
        ),
        ..q.base.clone()
    })
}

/// No grant covers the path, or not with the access asked: the flag that
/// grants it.
fn ungranted_answer(q: &Query) -> Answer {
    let flag = grant_flag(q.op, q.target.is_dir());
    let suggestion = Some(format!("{flag} {}", q.target.display()));
    if q.covering.is_empty() {
        return Answer {
            reason: "path_not_granted",
            details: "No grant covers this path.".into(),
            suggestion,
            ..q.base.clone()
        };
    }
    let have = match (q.reads, q.writes) {
        (true, false) => "read-only",
        (false, true) => "write-only",
        _ => "some",
    };
    Answer {
        reason: "insufficient_access",
        details: format!(
            "The path is granted {have} access; {} was asked.",
            q.op.name()
        ),
        granted_by: q
            .covering
            .first()
            .map(|r| format!("{} ({})", r.path.display(), r.source)),
        suggestion,
        ..q.base.clone()
    }
}

/// An expanded directory itself, or a new entry directly in it, in
/// `nono run`: the broker lists it and creates there (never a protected
/// name: those were answered before).
fn brokered_answer(view: &View, p: &Path, op: Op, base: &Answer) -> Option<Answer> {
    let (dir, what) = match view.brokered.iter().find(|d| d.path == p) {
        Some(d) => (
            d,
            "listed (a read-only open of the directory) and new entries created in it",
        ),
        None if !p.exists() => (
            view.brokered
                .iter()
                .find(|d| Some(d.path.as_path()) == p.parent())?,
            "a new entry directly in it created",
        ),
        None => return None,
    };
    let need = op.mode();
    if (need.reads() && !dir.reads) || (need.writes() && !dir.writes) {
        return None;
    }
    Some(Answer {
        status: "allowed",
        reason: "brokered_parent",
        details: format!(
            "{} contains protected paths, so its grant was expanded into its entries and it has \
             no Landlock rule of its own; in nono run the broker serves it: {what} (protected \
             names stay denied). In nono wrap, which has no broker, this is denied.",
            dir.path.display()
        ),
        granted_by: Some(format!("{} (through the broker)", dir.path.display())),
        ..base.clone()
    })
}

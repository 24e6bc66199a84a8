//! Translating a [`CapabilitySet`] into a Landlock ruleset.
//!
//! The translation is a pure function ([`plan_rules`]) so it can be tested as
//! data; [`build`] turns the plan into a kernel ruleset.

use std::path::PathBuf;

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope, ABI,
};

use crate::capability::{AccessMode, CapabilitySet, GrantKind};
use crate::{Result, SandboxError};

/// A Landlock feature a capability set may need, with the ABI that introduced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// Filesystem access control (ABI 1).
    Filesystem,
    /// Renames and links across directories (`refer`, ABI 2).
    Refer,
    /// Truncation control (ABI 3).
    Truncate,
    /// TCP bind/connect rules (ABI 4).
    TcpRules,
    /// ioctl on device files (ABI 5).
    IoctlDev,
    /// Signal scope (ABI 6).
    SignalScope,
    /// Abstract unix socket scope (ABI 6).
    AbstractUnixScope,
}

impl Feature {
    /// The Landlock ABI version that introduced the feature.
    pub fn min_abi(self) -> u32 {
        match self {
            Feature::Filesystem => 1,
            Feature::Refer => 2,
            Feature::Truncate => 3,
            Feature::TcpRules => 4,
            Feature::IoctlDev => 5,
            Feature::SignalScope | Feature::AbstractUnixScope => 6,
        }
    }

    /// A human name for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::Filesystem => "filesystem access control",
            Feature::Refer => "cross-directory rename/link control (refer)",
            Feature::Truncate => "truncate control",
            Feature::TcpRules => "TCP bind/connect rules",
            Feature::IoctlDev => "device ioctl control",
            Feature::SignalScope => "signal isolation scope",
            Feature::AbstractUnixScope => "abstract unix socket isolation scope",
        }
    }
}

/// The Landlock features a capability set needs the kernel to enforce.
pub fn required_features(caps: &CapabilitySet) -> Vec<Feature> {
    let mut f = vec![
        Feature::Filesystem,
        Feature::Refer,
        Feature::Truncate,
        Feature::IoctlDev,
    ];
    if caps.restricts_tcp() {
        f.push(Feature::TcpRules);
    }
    if caps.isolates_signals() {
        f.push(Feature::SignalScope);
    }
    if caps.isolates_abstract_unix() {
        f.push(Feature::AbstractUnixScope);
    }
    f
}

/// Fail closed when the kernel's ABI lacks a feature the set needs.
pub(crate) fn check_supported(caps: &CapabilitySet, kernel_abi: u32) -> Result<()> {
    match required_features(caps)
        .into_iter()
        .find(|f| f.min_abi() > kernel_abi)
    {
        Some(f) => Err(SandboxError::Unsupported {
            feature: f.describe(),
            required: f.min_abi(),
            available: kernel_abi,
        }),
        None => Ok(()),
    }
}

/// The ABI enum for a kernel ABI number, capped at what this build knows.
pub(crate) fn abi_from_version(v: u32) -> ABI {
    match v {
        0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        6 => ABI::V6,
        7 => ABI::V7,
        8 => ABI::V8,
        _ => ABI::V9,
    }
}

/// Filesystem rights a mode maps to. Read includes execute. Write includes
/// refer (rename/link, checked on both ends by the kernel), truncate and device
/// ioctl, but never creating device nodes. Pathname unix socket resolution
/// (ABI 9) is not granted by any mode: sockets are brokered.
pub fn access_for(mode: AccessMode, kind: GrantKind, abi: ABI) -> BitFlags<AccessFs> {
    let mut access = BitFlags::EMPTY;
    if mode.reads() {
        access |= AccessFs::from_read(abi);
    }
    if mode.writes() {
        access |= AccessFs::from_write(abi)
            & !(AccessFs::MakeChar | AccessFs::MakeBlock | AccessFs::ResolveUnix);
    }
    match kind {
        GrantKind::Tree => access,
        GrantKind::File => access & AccessFs::from_file(abi),
    }
}

/// Everything Landlock handles (denies unless granted) at `abi`.
pub fn handled_fs(abi: ABI) -> BitFlags<AccessFs> {
    // ResolveUnix (ABI 9) would deny pathname unix connects beneath granted
    // trees; pathname sockets are governed by the seccomp socket policy here.
    AccessFs::from_all(abi) & !AccessFs::ResolveUnix
}

/// One planned `PathBeneath` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRule {
    /// Canonical path.
    pub path: PathBuf,
    /// Rights granted beneath it.
    pub access: BitFlags<AccessFs>,
}

/// The path rules a capability set becomes at `abi`.
pub fn plan_rules(caps: &CapabilitySet, abi: ABI) -> Vec<PlannedRule> {
    caps.grants()
        .into_iter()
        .map(|g| PlannedRule {
            access: access_for(g.mode, g.kind, abi),
            path: g.path,
        })
        .filter(|r| !r.access.is_empty())
        .collect()
}

/// [`plan_rules`] without the rules their ancestors already imply. Within
/// one domain Landlock grants a right when any rule on the way from the
/// object up to `/` grants it, so a rule whose rights the union of its
/// ancestors' rules includes adds one kernel rule (an open, an `fstat` and
/// a `landlock_add_rule`) and nothing to what is allowed, nor to the
/// rights `refer` compares for renames and links. The broker's own domain
/// holds a rule on each expanded directory beside the agent's thousands
/// for its entries; only those go. Listings keep every rule.
fn kernel_rules(caps: &CapabilitySet, abi: ABI) -> Vec<PlannedRule> {
    use std::collections::HashMap;
    use std::ffi::OsStr;
    let rules = plan_rules(caps, abi);
    let mut by_path: HashMap<&OsStr, BitFlags<AccessFs>> = HashMap::with_capacity(rules.len());
    for r in &rules {
        *by_path.entry(r.path.as_os_str()).or_insert(BitFlags::EMPTY) |= r.access;
    }
    let implied = |r: &PlannedRule| {
        let above = r
            .path
            .ancestors()
            .skip(1)
            .filter_map(|a| by_path.get(a.as_os_str()))
            .fold(BitFlags::<AccessFs>::EMPTY, |acc, &x| acc | x);
        above.contains(r.access)
    };
    let keep: Vec<bool> = rules.iter().map(|r| !implied(r)).collect();
    drop(by_path);
    rules
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

/// The path rules a capability set becomes at kernel ABI `kernel_abi`,
/// each with the names of its rights (`read_file`, `make_reg`, ...), for
/// listings such as `nono run --dry-run`.
pub fn rule_listing(caps: &CapabilitySet, kernel_abi: u32) -> Vec<(PathBuf, Vec<String>)> {
    plan_rules(caps, abi_from_version(kernel_abi))
        .into_iter()
        .map(|r| (r.path, r.access.iter().map(right_name).collect()))
        .collect()
}

/// `MakeReg` as `make_reg`.
fn right_name(a: AccessFs) -> String {
    let mut out = String::new();
    for (i, c) in format!("{a:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn ll_err(stage: &'static str) -> impl Fn(landlock::RulesetError) -> SandboxError {
    move |e| SandboxError::Landlock {
        stage,
        message: e.to_string(),
    }
}

/// Build (but do not enforce) the ruleset. Opens every granted path now, so
/// call it while the process can still open them.
pub(crate) fn build(caps: &CapabilitySet, abi: ABI) -> Result<RulesetCreated> {
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(handled_fs(abi))
        .map_err(ll_err("handle filesystem access"))?;
    if caps.restricts_tcp() {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(ll_err("handle TCP access"))?;
    }
    let mut scopes = BitFlags::<Scope>::EMPTY;
    if caps.isolates_signals() {
        scopes |= Scope::Signal;
    }
    if caps.isolates_abstract_unix() {
        scopes |= Scope::AbstractUnixSocket;
    }
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes).map_err(ll_err("scope"))?;
    }
    let mut created = ruleset.create().map_err(ll_err("create ruleset"))?;
    for rule in kernel_rules(caps, abi) {
        let fd = match PathFd::new(&rule.path) {
            Ok(fd) => fd,
            Err(_) if caps.skips_vanished() && std::fs::symlink_metadata(&rule.path).is_err() => {
                continue;
            }
            Err(e) => {
                return Err(SandboxError::Landlock {
                    stage: "open granted path",
                    message: format!("{}: {e}", rule.path.display()),
                })
            }
        };
        created = created
            .add_rule(PathBeneath::new(fd, rule.access))
            .map_err(ll_err("add path rule"))?;
    }
    for &port in caps.tcp_connect_ports() {
        created = created
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(ll_err("add TCP connect rule"))?;
    }
    for &port in caps.tcp_bind_ports() {
        created = created
            .add_rule(NetPort::new(port, AccessNet::BindTcp))
            .map_err(ll_err("add TCP bind rule"))?;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_their_ancestors_imply_are_not_given_to_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let (a, ab, abc, f) = (
            root.join("a"),
            root.join("a/b"),
            root.join("a/b/c"),
            root.join("a/b/f"),
        );
        std::fs::create_dir_all(&abc).unwrap();
        std::fs::write(&f, "").unwrap();
        let other = root.join("o");
        std::fs::create_dir(&other).unwrap();
        let mut caps = CapabilitySet::new();
        caps.allow_tree(&a, AccessMode::Read).unwrap();
        caps.allow_tree(&ab, AccessMode::Write).unwrap();
        // Read on a, write on a/b: together they imply both below a/b.
        caps.allow_tree(&abc, AccessMode::ReadWrite).unwrap();
        caps.allow_file(&f, AccessMode::Read).unwrap();
        // Not beneath anything: kept.
        caps.allow_tree(&other, AccessMode::Read).unwrap();
        let kept: Vec<_> = kernel_rules(&caps, ABI::V7)
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(kept, vec![a.clone(), ab.clone(), other.clone()]);
        // Wider than the ancestors: kept.
        let mut caps = CapabilitySet::new();
        caps.allow_tree(&a, AccessMode::Read).unwrap();
        caps.allow_tree(&abc, AccessMode::ReadWrite).unwrap();
        let kept: Vec<_> = kernel_rules(&caps, ABI::V7)
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(kept, vec![a, abc]);
        // Listings keep every rule.
        assert_eq!(plan_rules(&caps, ABI::V7).len(), 2);
    }

    #[test]
    fn a_vanished_grant_fails_the_build_unless_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        let mut caps = CapabilitySet::new();
        caps.allow_tree(dir.path(), AccessMode::Read).unwrap();
        caps.allow_tree(&gone, AccessMode::Write).unwrap();
        std::fs::remove_dir(&gone).unwrap();
        // Building only creates a ruleset; nothing is enforced here.
        let Err(err) = build(&caps, ABI::V1) else {
            panic!("a vanished path must fail the build")
        };
        assert!(err.to_string().contains("gone"), "{err}");
        caps.set_skip_vanished(true);
        assert!(build(&caps, ABI::V1).is_ok());
    }

    #[test]
    fn read_is_read_and_execute_only() {
        let a = access_for(AccessMode::Read, GrantKind::Tree, ABI::V7);
        assert_eq!(
            a,
            AccessFs::Execute | AccessFs::ReadFile | AccessFs::ReadDir
        );
    }

    #[test]
    fn write_includes_refer_truncate_ioctl_but_no_device_creation() {
        let a = access_for(AccessMode::Write, GrantKind::Tree, ABI::V7);
        assert!(a.contains(AccessFs::Refer | AccessFs::Truncate | AccessFs::IoctlDev));
        assert!(a.contains(AccessFs::MakeReg | AccessFs::RemoveFile | AccessFs::MakeSym));
        assert!(!a.intersects(AccessFs::MakeChar | AccessFs::MakeBlock));
        assert!(!a.intersects(AccessFs::ReadFile | AccessFs::Execute));
    }

    #[test]
    fn file_grants_carry_only_file_rights() {
        let a = access_for(AccessMode::ReadWrite, GrantKind::File, ABI::V7);
        assert!(!a.intersects(AccessFs::ReadDir | AccessFs::MakeReg | AccessFs::RemoveFile));
        assert!(a.contains(AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate));
    }

    #[test]
    fn lower_abi_drops_newer_rights() {
        let a = access_for(AccessMode::Write, GrantKind::Tree, ABI::V2);
        assert!(a.contains(AccessFs::Refer));
        assert!(!a.intersects(AccessFs::Truncate | AccessFs::IoctlDev));
    }

    #[test]
    fn requirements_follow_the_capability_set() {
        let mut caps = CapabilitySet::new();
        assert!(check_supported(&caps, 5).is_err(), "scopes need ABI 6");
        assert!(check_supported(&caps, 6).is_ok());
        caps.set_signal_isolation(false)
            .set_abstract_unix_isolation(false);
        assert!(check_supported(&caps, 5).is_ok());
        let err = check_supported(&caps, 4).unwrap_err().to_string();
        assert!(err.contains("ioctl"), "{err}");
        assert!(!required_features(&caps).contains(&Feature::TcpRules));
        caps.set_network(crate::NetworkPolicy::Blocked);
        assert!(required_features(&caps).contains(&Feature::TcpRules));
    }

    #[test]
    fn handled_set_never_includes_resolve_unix() {
        assert!(!handled_fs(ABI::V9).contains(AccessFs::ResolveUnix));
        assert!(handled_fs(ABI::V7).contains(AccessFs::IoctlDev | AccessFs::Refer));
    }

    #[test]
    fn plan_is_one_rule_per_merged_grant() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"").unwrap();
        let mut caps = CapabilitySet::new();
        caps.allow_read(dir.path()).unwrap();
        caps.allow_file(&f, AccessMode::Write).unwrap();
        let plan = plan_rules(&caps, ABI::V7);
        assert_eq!(plan.len(), 2);
        let file_rule = plan.iter().find(|r| r.path.ends_with("f")).unwrap();
        assert!(file_rule.access.contains(AccessFs::WriteFile));
        assert!(!file_rule.access.contains(AccessFs::ReadFile));
    }
}

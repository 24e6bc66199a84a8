//! `--dry-run`: what would be granted, without creating or executing
//! anything; derived from the plan alone.

use std::os::unix::ffi::OsStrExt;

use sandbox::NetworkPolicy;

use sandbox::CapabilitySet;

use crate::grants::Source;
use crate::out::outln;
use crate::policy::plan::Plan;
use crate::ui;

/// Everything derived from the plan, as the launch would apply it; the
/// capability set is built first, so a grant it refuses fails the dry run
/// as it would fail the launch.
pub fn print(plan: &Plan) -> anyhow::Result<()> {
    let caps = plan.capability_set()?;
    let p = &plan.policy;
    print_grants(p, !plan.parent_view.is_empty());
    print_network(plan);
    print_environment(plan);
    let cmd: Vec<String> = plan
        .argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    print_brokered(plan, &caps);
    let found =
        std::path::Path::new(std::ffi::OsStr::from_bytes(plan.program.as_bytes())).is_file();
    outln!(
        "Would execute: {}{}",
        cmd.join(" "),
        if found {
            ""
        } else {
            "  (not found: nothing is executed in a dry run)"
        }
    );
    print_rules(plan, &caps);
    if ui::verbosity() >= 1 {
        outln!("Protected paths:");
        for pr in &p.active_protections() {
            outln!("  {}  ({}, {})", pr.path.display(), pr.category, pr.origin);
        }
        print_enforcement(&caps);
        for h in plan.needs.describe() {
            outln!("Needs: {h}");
        }
    }
    Ok(())
}

/// The grants as asked, groups, protections, bypasses and pins.
fn print_grants(p: &crate::policy::resolve::Policy, brokered: bool) {
    outln!("Capabilities that would be granted:");
    outln!(
        "  profile: {} ({})",
        p.profile.name,
        p.profile.origin.describe()
    );
    for g in p
        .grants
        .iter()
        .filter(|g| !matches!(g.source, Source::Group(_)))
    {
        outln!(
            "  [{}] {}  ({}){}",
            g.mode.short(),
            g.path.display(),
            g.source.describe(),
            expanded_note(p, &g.path, brokered)
        );
    }
    for s in &p.skipped {
        outln!("  [skipped] {s}");
    }
    outln!("  [rw] $TMPDIR (private to the session)");
    let from_groups = p
        .grants
        .iter()
        .filter(|g| matches!(g.source, Source::Group(_)))
        .count();
    outln!(
        "  [..] {from_groups} paths from groups: {}",
        p.groups.join(", ")
    );
    gpu_lines(p);
    outln!(
        "  [protected] {} paths stay denied even inside grants",
        p.active_protections().len()
    );
    if p.rules.len() != p.grants.len() {
        outln!(
            "  (grants containing protected paths are expanded around them: {} rules)",
            p.rules.len()
        );
    }
    for b in &p.bypass {
        outln!("  [bypass] {}", b.display());
    }
    for pin in p.pins.iter().filter(|x| x.read_only) {
        outln!(
            "  [read-only] {}  ({}; {}; {} lifts it)",
            pin.path.display(),
            pin.category,
            pin.origin,
            pin.lift
        );
    }
}

/// The network policy, and in proxy mode what the proxy enforces.
fn print_network(plan: &Plan) {
    let p = &plan.policy;
    match p.network {
        NetworkPolicy::Allowed => outln!("  [net] allowed"),
        NetworkPolicy::Blocked | NetworkPolicy::UnixOnly => outln!("  [net] blocked"),
        NetworkPolicy::TcpPorts => {
            match &plan.network.proxy {
                Some(px) => {
                    outln!("  [net] through the nono proxy only");
                    outln!(
                        "  [proxy] {} host rule(s); containment: {}",
                        px.hosts.len(),
                        match &px.containment {
                            crate::network::Containment::Namespace =>
                                "network namespace".to_string(),
                            crate::network::Containment::Landlock(why) =>
                                format!("Landlock + seccomp ({why})"),
                        }
                    );
                    // The proxy's own parser and matcher (`ipc::hostrules`).
                    if let Ok(rules) = ipc::hostrules::Allowlist::parse(&px.hosts) {
                        for d in rules.describe() {
                            outln!("  [host] {d}");
                        }
                    }
                    outln!(
                    "  [host] always denied: cloud metadata and link-local addresses; loopback and \
                     private addresses only at an address:port allowed literally"
                );
                    for r in &px.routes {
                        outln!(
                        "  [credential] {} -> {} (key from {}; the agent gets {} and a phantom {})",
                        r.route.name, r.route.upstream, r.item.reference, r.base_url_var, r.env_var
                    );
                    }
                }
                None => outln!("  [net] TCP only, on ports {:?}", plan.network.open_ports),
            }
        }
    }
}

/// SysV IPC, the profile's variables and mirrors, credentials.
fn print_environment(plan: &Plan) {
    outln!(
        "  [ipc] SysV IPC: {}",
        crate::policy::sysv::describe(plan.sysv)
    );
    let profile = &plan.policy.profile.profile;
    for (k, v) in &profile.env_paths {
        outln!("  [env] {k}={v} (profile env_paths)");
    }
    for (inside, outside) in &profile.mirror_files {
        outln!("  [fs] {inside} mirrors {outside} (copied in before, changes copied back after; profile mirror_files)");
    }
    if let Some(c) = &profile.codex {
        outln!(
            "  [env] CODEX_HOME=<per-session copy of {}/config.toml with Codex's own sandbox off{}, other entries linked>",
            c.home,
            if plan.network.proxy.iter().flat_map(|p| &p.routes).any(|r| r.route.name == "openai") {
                " and the openai route as model provider"
            } else {
                ""
            }
        );
    }
    if !plan.credentials.is_empty() {
        outln!(
            "  Would inject {} secret(s) as environment variables",
            plan.credentials.len()
        );
    }
}

/// A granted directory that contains protected paths has no rule of its
/// own: what that means for it.
fn expanded_note(
    p: &crate::policy::resolve::Policy,
    path: &std::path::Path,
    brokered: bool,
) -> &'static str {
    if std::fs::symlink_metadata(path).is_err() {
        " — does not exist yet: created empty (0600) at launch, then granted"
    } else if brokered && p.expanded.iter().any(|e| e == path) {
        " — contains protected paths: its entries are granted one by one; the broker lists \
         it and creates new entries directly in it (protected children stay denied)"
    } else if p.expanded.iter().any(|e| e == path) {
        " — contains protected paths: its entries are granted one by one, the directory \
         itself is not listable and nothing new can be created directly in it"
    } else {
        ""
    }
}

/// Every rule Landlock gets, with its exact rights, and the expanded
/// directories (no rule of their own).
fn print_rules(plan: &Plan, caps: &CapabilitySet) {
    let p = &plan.policy;
    let abi = sandbox::SupportInfo::detect().landlock.kernel_abi;
    let listing = sandbox::rule_listing(caps, abi);
    outln!(
        "Rules given to Landlock (kernel ABI {abi}; {} rules):",
        listing.len()
    );
    for (path, rights) in &listing {
        let source = p
            .rules
            .iter()
            .find(|g| &g.path == path)
            .map(|g| g.source.describe())
            .unwrap_or_default();
        outln!("  {}  {}  ({source})", path.display(), rights.join(","));
    }
    for e in &p.expanded {
        if !plan.parent_view.is_empty() {
            outln!(
                "  {}: no rule (contains protected paths): its entries are granted one by one; \
                 listable and new entries creatable via the broker; protected children stay \
                 denied (never created, opened or replaced)",
                e.display()
            );
        } else {
            outln!(
                "  {}: no rule (contains protected paths): its entries are granted one by one; \
                 the directory itself is not listable, nothing new can be created in it",
                e.display()
            );
        }
    }
}

/// What the broker grants beyond Landlock (`run` only).
fn print_brokered(plan: &Plan, caps: &CapabilitySet) {
    use ipc::broker::WireUnixScope;
    for g in &plan.unix_grants {
        let path = String::from_utf8_lossy(&g.path);
        let scope = match g.scope {
            WireUnixScope::Socket => "socket",
            WireUnixScope::Dir => "sockets directly in",
            WireUnixScope::Subtree => "sockets beneath",
        };
        outln!(
            "  [unix] {} {scope} {path} (brokered)",
            if g.bind { "connect+bind" } else { "connect" }
        );
    }
    if plan.elevation.is_some() {
        outln!("  [elevation] opens beyond the grants are asked for (brokered)");
    }
    if !caps.tcp_connect_ports().is_empty() || !caps.tcp_bind_ports().is_empty() {
        outln!(
            "  [tcp] connect ports {:?}, bind ports {:?} (Landlock)",
            caps.tcp_connect_ports(),
            caps.tcp_bind_ports()
        );
    }
}

fn print_enforcement(caps: &CapabilitySet) {
    let support = sandbox::SupportInfo::detect();
    let abi = support.landlock.kernel_abi;
    outln!("Landlock: kernel ABI {abi}");
    for f in [
        sandbox::Feature::Filesystem,
        sandbox::Feature::Refer,
        sandbox::Feature::Truncate,
        sandbox::Feature::IoctlDev,
        sandbox::Feature::TcpRules,
        sandbox::Feature::SignalScope,
        sandbox::Feature::AbstractUnixScope,
    ] {
        let requested = sandbox::required_features(caps).contains(&f);
        let state = match (requested, support.landlock.supports(f)) {
            (true, true) => "requested, enforced",
            (true, false) => "requested, NOT enforceable (nono would refuse to run)",
            (false, true) => "not requested",
            (false, false) => "not requested, not supported",
        };
        outln!("  {:<48} {state}", f.describe());
    }
    outln!(
        "seccomp: {}",
        if support.seccomp_filter {
            "filter enforced"
        } else {
            "NOT available (nono would refuse to run)"
        }
    );
}

/// `--allow-gpu`: each pattern of the GPU group and what it matches here.
fn gpu_lines(p: &crate::policy::resolve::Policy) {
    use crate::policy::resolve::GPU_GROUP;
    if !p.groups.iter().any(|g| g == GPU_GROUP) {
        return;
    }
    let Ok(group) = crate::policy::groups::get(GPU_GROUP) else {
        return;
    };
    let ours = |g: &&crate::grants::Grant| matches!(&g.source, Source::Group(n) if n == GPU_GROUP);
    let granted: Vec<_> = p.grants.iter().filter(ours).collect();
    for (list, mode) in [(&group.readwrite, "rw"), (&group.read, "r-")] {
        for pattern in list {
            outln!("  [gpu] [{mode}] {pattern}");
        }
    }
    outln!(
        "  [gpu] {} path(s) present and granted (--allow-gpu, group {GPU_GROUP})",
        granted.len()
    );
    for g in granted {
        outln!("  [gpu]   [{}] {}", g.mode.short(), g.path.display());
    }
}

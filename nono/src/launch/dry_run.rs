//! `--dry-run`: what would be granted, without creating or executing anything.

use sandbox::NetworkPolicy;

use super::plan::Plan;
use crate::grants::Source;
use crate::out::outln;
use crate::ui;

pub fn print(plan: &Plan) {
    let p = &plan.policy;
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
            "  [{}] {}  ({})",
            g.mode.short(),
            g.path.display(),
            g.source.describe()
        );
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
    let active = p.active_protections();
    outln!(
        "  [protected] {} paths stay denied even inside grants",
        active.len()
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
    outln!("  [ipc] SysV IPC: {}", super::sysv::describe(plan.sysv));
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
    let cmd: Vec<String> = plan
        .argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    outln!("Would execute: {}", cmd.join(" "));
    if ui::verbosity() >= 1 {
        outln!("Rules given to Landlock:");
        for g in &p.rules {
            outln!(
                "  [{}] {}  ({})",
                g.mode.short(),
                g.path.display(),
                g.source.describe()
            );
        }
        outln!("Protected paths:");
        for pr in &active {
            outln!("  {}  ({}, {})", pr.path.display(), pr.category, pr.origin);
        }
        print_enforcement(plan);
    }
}

fn print_enforcement(plan: &Plan) {
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
        let requested = sandbox::required_features(&plan.caps).contains(&f);
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

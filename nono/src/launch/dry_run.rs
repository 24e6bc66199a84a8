//! `--dry-run`: what would be granted, without creating or executing anything.

use sandbox::NetworkPolicy;

use super::plan::Plan;
use crate::grants::Source;
use crate::ui;

pub fn print(plan: &Plan) {
    println!("Capabilities that would be granted:");
    for g in plan.grants.iter().filter(|g| g.is_user()) {
        println!("  [{}] {}", g.mode.short(), g.path.display());
    }
    println!("  [rw] $TMPDIR (private to the session)");
    let defaults: Vec<_> = plan
        .grants
        .iter()
        .filter(|g| matches!(g.source, Source::Group(_)))
        .collect();
    if ui::verbosity() >= 1 {
        for g in &defaults {
            if let Source::Group(name) = &g.source {
                println!("  [{}] {} ({name})", g.mode.short(), g.path.display());
            }
        }
        for g in plan.grants.iter().filter(|g| g.source == Source::Terminal) {
            println!(
                "  [{}] {} (this session's terminal)",
                g.mode.short(),
                g.path.display()
            );
        }
    } else {
        println!(
            "  [..] {} built-in system paths (-v lists them)",
            defaults.len()
        );
    }
    match plan.network {
        NetworkPolicy::Allowed => println!("  [net] allowed"),
        NetworkPolicy::Blocked => println!("  [net] blocked"),
    }
    let cmd: Vec<String> = plan
        .argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("Would execute: {}", cmd.join(" "));
    if ui::verbosity() >= 1 {
        print_enforcement(plan);
    }
}

fn print_enforcement(plan: &Plan) {
    let support = sandbox::SupportInfo::detect();
    let abi = support.landlock.kernel_abi;
    println!("Landlock: kernel ABI {abi}");
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
        println!("  {:<48} {state}", f.describe());
    }
    println!(
        "seccomp: {}",
        if support.seccomp_filter {
            "filter enforced"
        } else {
            "NOT available (nono would refuse to run)"
        }
    );
}

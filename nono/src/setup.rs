//! `nono setup`: report the platform and what this kernel can enforce.
//!
//! Exit status is 0 only when the default seal can be enforced here.

use anyhow::Result;
use sandbox::{Feature, SupportInfo};

use crate::cli::SetupArgs;
use crate::commands::EXIT_NONO_ERROR;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub fn run(args: &SetupArgs) -> Result<i32> {
    let s = SupportInfo::detect();
    let abi = s.landlock.kernel_abi;
    println!("nono {}", env!("CARGO_PKG_VERSION"));
    println!("Platform:  linux ({})", s.arch);
    println!("Kernel:    {}", s.kernel_release);
    if abi == 0 {
        println!("Landlock:  not available (not built in, or not in the lsm= boot list)");
    } else {
        println!("Landlock:  ABI {abi}");
    }
    let features = [
        Feature::Filesystem,
        Feature::Refer,
        Feature::Truncate,
        Feature::IoctlDev,
        Feature::TcpRules,
        Feature::SignalScope,
        Feature::AbstractUnixScope,
    ];
    for f in features {
        println!(
            "  {:<48} {} (ABI {})",
            f.describe(),
            yes(s.landlock.supports(f)),
            f.min_abi()
        );
    }
    println!("seccomp:");
    println!(
        "  {:<48} {}",
        "filters (syscall denials, socket families)",
        yes(s.seccomp_filter)
    );
    println!(
        "  {:<48} {}",
        "user notification (brokered operations)",
        yes(s.seccomp_user_notif)
    );
    println!(
        "  {:<48} {}",
        "unprivileged user namespaces (network isolation)",
        yes(s.user_namespaces)
    );
    let default_seal = features
        .iter()
        .filter(|f| **f != Feature::TcpRules)
        .all(|f| s.landlock.supports(*f))
        && s.seccomp_filter;
    let block_net = default_seal && s.landlock.supports(Feature::TcpRules);
    println!("Protections enforceable here:");
    println!(
        "  {:<48} {}",
        "default seal (nono run / nono wrap)",
        yes(default_seal)
    );
    println!("  {:<48} {}", "--block-net", yes(block_net));
    let contained = if s.user_namespaces || nix::unistd::geteuid().is_root() {
        "network namespace (loopback only)"
    } else {
        "Landlock + seccomp only (no user namespaces; warned at run)"
    };
    println!(
        "  {:<48} {}",
        "proxy mode containment",
        if block_net { contained } else { "no" }
    );
    println!(
        "  {:<48} {}",
        "SysV IPC isolation",
        crate::launch::sysv::for_setup(nix::unistd::geteuid().is_root(), s.user_namespaces)
    );
    println!(
        "  {:<48} subreaper: every descendant killed when the session ends (nono wrap: none)",
        "session owns its processes (nono run)"
    );
    if !args.check_only {
        println!("(no files created; profile generation arrives with user profiles)");
    }
    if default_seal {
        println!("Status: ready");
        Ok(0)
    } else {
        println!(
            "Status: this kernel cannot enforce nono's default seal; nono run will refuse to start"
        );
        Ok(EXIT_NONO_ERROR)
    }
}

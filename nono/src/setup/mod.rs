//! `nono setup`: report the platform, what this kernel can enforce and
//! whether the helpers are installed; `--profiles` writes example user
//! profiles, `--shell-integration` prints shell aliases.
//!
//! Exit status is 0 only when the default seal can be enforced here and
//! every helper is in place.

mod install;

use anyhow::Result;
use sandbox::{Feature, SupportInfo};

use crate::cli::SetupArgs;
use crate::out::outln;
use crate::out::EXIT_NONO_ERROR;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub fn run(args: &SetupArgs) -> Result<i32> {
    if args.shell_integration {
        install::shell_integration();
        return Ok(0);
    }
    let s = SupportInfo::detect();
    let abi = s.landlock.kernel_abi;
    outln!("nono {}", env!("CARGO_PKG_VERSION"));
    outln!("Platform:  linux ({})", s.arch);
    outln!("Kernel:    {}", s.kernel_release);
    if abi == 0 {
        outln!("Landlock:  not available (not built in, or not in the lsm= boot list)");
    } else {
        outln!("Landlock:  ABI {abi}");
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
        outln!(
            "  {:<48} {} (ABI {})",
            f.describe(),
            yes(s.landlock.supports(f)),
            f.min_abi()
        );
    }
    outln!("seccomp:");
    outln!(
        "  {:<48} {}",
        "filters (syscall denials, socket families)",
        yes(s.seccomp_filter)
    );
    outln!(
        "  {:<48} {}",
        "user notification (brokered operations)",
        yes(s.seccomp_user_notif)
    );
    outln!(
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
    outln!("Protections enforceable here:");
    outln!(
        "  {:<48} {}",
        "default seal (nono run / nono wrap)",
        yes(default_seal)
    );
    outln!("  {:<48} {}", "--block-net", yes(block_net));
    let contained = if s.user_namespaces || nix::unistd::geteuid().is_root() {
        "network namespace (loopback only)"
    } else {
        "Landlock + seccomp only (no user namespaces; warned at run)"
    };
    outln!(
        "  {:<48} {}",
        "proxy mode containment",
        if block_net { contained } else { "no" }
    );
    outln!(
        "  {:<48} {}",
        "SysV IPC isolation",
        crate::policy::sysv::for_setup(nix::unistd::geteuid().is_root(), s.user_namespaces)
    );
    outln!(
        "  {:<48} {}",
        "session owns its processes (nono run)",
        match sandbox::pidns::available() {
            Ok(()) => "PID namespace: the kernel ends every process with the session, \
                       which sees only its own processes in /proc (nono wrap: none)"
                .to_string(),
            Err(why) => format!(
                "subreaper: every descendant killed when the session ends; no PID namespace \
                 ({why}) (nono wrap: none)"
            ),
        }
    );
    let missing = install::helpers();
    if args.profiles && !args.check_only {
        install::profiles()?;
    }
    if !default_seal {
        outln!(
            "Status: this kernel cannot enforce nono's default seal; nono run will refuse to start"
        );
        Ok(EXIT_NONO_ERROR)
    } else if !missing.is_empty() {
        outln!(
            "Status: incomplete installation: {} missing next to nono; nono run will refuse to start \
             (nono wrap works); reinstall nono with its helpers",
            missing.join(", ")
        );
        Ok(EXIT_NONO_ERROR)
    } else {
        outln!("Status: ready");
        Ok(0)
    }
}

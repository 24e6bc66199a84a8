//! The last steps before the command runs, in the process that becomes it:
//! confine, keep only fds 0-2, exec. Returns only on failure, with the exit
//! code to use.

use nix::errno::Errno;
use sandbox::{close_fds_from, EnforcementReport, Sandbox};

use std::ffi::CString;

use sandbox::CapabilitySet;

use crate::out::EXIT_NONO_ERROR;
use crate::policy::plan::Plan;
use crate::ui;

/// `caps` and `env`: the plan's, as this process applies them.
pub fn seal_and_exec(plan: &Plan, caps: &CapabilitySet, env: &[CString]) -> i32 {
    let report = match Sandbox::apply(caps) {
        Ok(r) => r,
        Err(e) => {
            ui::error(format!("cannot apply the sandbox: {e}"));
            return EXIT_NONO_ERROR;
        }
    };
    log_report(&report);
    if let Err(e) = close_fds_from(3) {
        ui::error(e);
        return EXIT_NONO_ERROR;
    }
    // As a shell leaves them: SIGPIPE default (Rust's runtime ignores it),
    // nothing blocked. Last, so nono's own messages above cannot be
    // ended by SIGPIPE.
    if let Err(e) = sandbox::exec::default_signals() {
        ui::error(format!("cannot reset signal handling: {e}"));
        return EXIT_NONO_ERROR;
    }
    let Err(errno) = nix::unistd::execve(&plan.program, &plan.argv, env);
    exec_failure(plan, errno)
}

fn log_report(r: &EnforcementReport) {
    ui::info(format!(
        "sandbox applied: Landlock ABI {} (filesystem{}{}), seccomp {} rules, no_new_privs, capabilities dropped{}",
        r.kernel_abi,
        if r.tcp_restricted { ", TCP" } else { "" },
        if r.scoped { ", signal + abstract-socket scopes" } else { "" },
        r.seccomp_rules,
        if r.bounding_cleared { " (incl. bounding set)" } else { "" },
    ));
}

fn exec_failure(plan: &Plan, errno: Errno) -> i32 {
    let failure = sandbox::exec::failure(&plan.program, errno);
    match failure.dir_to_grant() {
        Some(dir) => ui::error(format!("{failure}; grant its directory with --read {dir}")),
        None => ui::error(failure.to_string()),
    }
    failure.code()
}

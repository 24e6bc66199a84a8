//! The last steps before the command runs, in the process that becomes it:
//! confine, keep only fds 0-2, exec. Returns only on failure, with the exit
//! code to use.

use nix::errno::Errno;
use sandbox::{close_fds_from, EnforcementReport, Sandbox};

use super::plan::Plan;
use super::{EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND};
use crate::commands::EXIT_NONO_ERROR;
use crate::ui;

pub fn seal_and_exec(plan: &Plan) -> i32 {
    let report = match Sandbox::apply(&plan.caps) {
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
    let Err(errno) = nix::unistd::execve(&plan.program, &plan.argv, &plan.env);
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
    let prog = plan.program_display();
    match errno {
        Errno::EACCES | Errno::EPERM => {
            ui::error(format!(
                "cannot execute {prog}: permission denied inside the sandbox; \
                 grant its directory with --read {}",
                plan.program_dir().display()
            ));
            EXIT_CANNOT_EXECUTE
        }
        Errno::ENOENT => {
            ui::error(format!(
                "cannot execute {prog}: not found inside the sandbox (its interpreter or loader may be outside the grants)"
            ));
            EXIT_NOT_FOUND
        }
        other => {
            ui::error(format!("cannot execute {prog}: {}", other.desc()));
            EXIT_CANNOT_EXECUTE
        }
    }
}

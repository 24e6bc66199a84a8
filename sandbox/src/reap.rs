//! A session owns every process it started. Its supervisor (the broker;
//! the front end as a second line) is a child subreaper: whatever the agent
//! starts and orphans (double forks, `setsid`, daemons) is re-parented to
//! it instead of init. When the session ends, every remaining descendant is
//! killed with SIGKILL and reaped.
//!
//! Killing converges: SIGKILLed processes cannot fork again, and the
//! children of each killed process are re-parented to the subreaper before
//! it is reaped, so the next round lists them.

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Become the reaper of the orphans of every later descendant.
pub fn become_subreaper() -> crate::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| crate::SandboxError::Subreaper(e.into()))
}

/// The caller's children. Orphans are re-parented to the main thread;
/// the callers fork only from their main thread.
fn children() -> Vec<Pid> {
    let me = nix::unistd::getpid();
    std::fs::read_to_string(format!("/proc/self/task/{me}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .map(Pid::from_raw)
        .collect()
}

/// Kill and reap every remaining descendant. Returns how many were killed.
pub fn kill_all() -> usize {
    let mut killed = 0;
    loop {
        for pid in children() {
            if kill(pid, Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        match waitpid(None::<Pid>, Some(WaitPidFlag::__WALL)) {
            Err(Errno::ECHILD) => return killed,
            Err(Errno::EINTR) | Ok(_) => continue,
            Err(_) => return killed,
        }
    }
}

/// Reap exited orphans without blocking; the agent's own end, or its
/// being stopped, is returned.
pub fn reap_orphans(agent: Pid) -> crate::Result<Option<WaitStatus>> {
    loop {
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::__WALL | WaitPidFlag::WUNTRACED;
        match waitpid(None::<Pid>, Some(flags)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return Ok(None),
            Ok(st) if st.pid() == Some(agent) => match st {
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) | WaitStatus::Stopped(..) => {
                    return Ok(Some(st))
                }
                _ => continue,
            },
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                return Err(crate::SandboxError::Syscall {
                    call: "waitpid",
                    source: e.into(),
                })
            }
        }
    }
}

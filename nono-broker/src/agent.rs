//! The forked child that becomes the agent: seal a nested sandbox, keep
//! only fds 0-2, exec. Returns only on failure, with the exit code.

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::{getppid, Pid};
use sandbox::{close_fds_from, CapabilitySet, Sandbox};

use crate::serve::watched_signals;
use crate::wire::Exec;

pub fn seal_and_exec(caps: &CapabilitySet, exec: &Exec, parent: Pid) -> i32 {
    let _ = watched_signals().thread_unblock();
    // The agent must not outlive the broker.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || getppid() != parent {
        return 1;
    }
    // A second, nested Landlock domain: the agent cannot signal or trace
    // the broker, which stays in the parent domain.
    if let Err(e) = Sandbox::apply(caps) {
        eprintln!("nono: cannot apply the sandbox: {e}");
        return 1;
    }
    if let Err(e) = close_fds_from(3) {
        eprintln!("nono: {e}");
        return 1;
    }
    let Err(errno) = nix::unistd::execve(&exec.program, &exec.argv, &exec.env);
    let prog = exec.program.to_string_lossy();
    match errno {
        Errno::EACCES | Errno::EPERM => {
            let dir = std::path::Path::new(&*prog)
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            eprintln!("nono: cannot execute {prog}: permission denied inside the sandbox; grant its directory with --read {dir}");
            126
        }
        Errno::ENOENT => {
            eprintln!("nono: cannot execute {prog}: not found inside the sandbox");
            127
        }
        other => {
            eprintln!("nono: cannot execute {prog}: {}", other.desc());
            126
        }
    }
}

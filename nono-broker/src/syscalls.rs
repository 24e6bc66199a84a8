//! The broker's syscalls once the agent runs, as data. Anything else kills
//! the broker (and with it the agent: fail closed).

use sandbox::seccomp::{Allowed, AllowedIf, ArgCmp, Cmp, Refused, Unlisted};

const fn a(name: &'static str, why: &'static str) -> Allowed {
    Allowed { name, why }
}

pub const SERVING: &[Allowed] = &[
    a("ppoll", "wait for the channel or a signal"),
    a("poll", "wait for the channel or a signal"),
    a("read", "read the signalfd"),
    a("recvmsg", "receive from the front end"),
    a("recvfrom", "receive from the front end"),
    a("sendmsg", "send to the front end"),
    a("sendto", "send to the front end"),
    a("write", "send to the front end; error messages on stderr"),
    a("writev", "send to the front end"),
    a("wait4", "reap the agent"),
    a("waitid", "reap the agent"),
    a(
        "kill",
        "forward signals to the agent (Landlock scopes it to the agent)",
    ),
    a("fcntl", "mark received descriptors close-on-exec"),
    a("close", "close descriptors"),
    a("rt_sigprocmask", "signal mask bookkeeping"),
    a("rt_sigreturn", "return from a signal"),
    a("sigaltstack", "Rust runtime at exit"),
    a("mmap", "allocator"),
    a("munmap", "allocator"),
    a("mremap", "allocator"),
    a("brk", "allocator"),
    a("madvise", "allocator"),
    a("futex", "std locks"),
    a(
        "getrandom",
        "hash keys of a map made on the notification or a worker thread (std draws them per thread; no effect outside)",
    ),
    a("getpid", "diagnostics"),
    a("clock_gettime", "timeouts"),
    a(
        "ioctl",
        "seccomp listener: receive, answer, check validity, inject",
    ),
    a(
        "openat",
        "/proc/<agent>/mem, cwd and fds; resolve brokered paths",
    ),
    a("openat2", "resolve brokered paths without magic links"),
    a(
        "open",
        "what openat does, as musl's open(3) spells it (the broker is built static against musl)",
    ),
    a("pread64", "read the agent's syscall arguments"),
    a("readlinkat", "the kernel's path of a resolved object"),
    a("readlink", "the kernel's path of a resolved object"),
    a("newfstatat", "is the resolved object a symlink"),
    a("fstat", "std file handling"),
    a("statx", "std file handling"),
    a(
        "fchmodat",
        "perform a granted chmod; the exact mode of a created entry",
    ),
    a(
        "fchmodat2",
        "perform a granted chmod on the held object itself (Linux 6.6)",
    ),
    a(
        "mkdirat",
        "create a directory in an expanded directory for the agent",
    ),
    a(
        "unlinkat",
        "remove what the broker created in an expanded directory",
    ),
    a(
        "renameat2",
        "move an entry into an expanded directory for the agent",
    ),
    a(
        "symlinkat",
        "make a symbolic link in an expanded directory for the agent",
    ),
    a(
        "renameat",
        "the same without flags (glibc's renameat2 with 0)",
    ),
    a("fchownat", "perform a granted chown"),
    a("utimensat", "perform a granted timestamp change"),
    a("setxattr", "perform a granted setxattr"),
    a("removexattr", "perform a granted removexattr"),
    a(
        "pidfd_open",
        "borrow the agent's socket for a brokered call",
    ),
    a(
        "pidfd_getfd",
        "borrow the agent's socket for a brokered call",
    ),
    a("getsockopt", "the borrowed socket's family and type"),
    a(
        "connect",
        "perform the agent's connect on the broker's duplicate",
    ),
    a("bind", "perform the agent's bind on the broker's duplicate"),
    a(
        "listen",
        "perform the agent's listen on the broker's duplicate",
    ),
    a("getsockname", "is the agent's TCP socket bound (listen)"),
    a(
        "process_vm_readv",
        "copy the agent's syscall arguments, one call per read (Landlock: only the nested agent)",
    ),
    a(
        "process_vm_writev",
        "write sendmmsg's per-message lengths into the agent (Landlock: only the nested agent)",
    ),
    a(
        "inotify_add_watch",
        "add a judged watch on the agent's inotify",
    ),
    a(
        "restart_syscall",
        "resume an interrupted call after SIGSTOP/SIGCONT (Ctrl-Z, fg)",
    ),
    a("sched_yield", "std locks (worker queue)"),
    a("rt_sigaction", "std thread start (stack-overflow guard)"),
    a("mprotect", "worker thread stacks (guard page)"),
    a("set_robust_list", "worker thread start"),
    a("rseq", "worker thread start"),
    a("gettid", "worker thread start"),
    a("sched_getaffinity", "std thread naming/start"),
    a("prctl", "worker thread name (PR_SET_NAME)"),
    a("exit", "exit"),
    a("exit_group", "exit"),
];

/// Threads only: `clone` must carry CLONE_THREAD (a new process could
/// escape the allowlist's intent of a single broker).
const THREADS_ONLY: &[ArgCmp] = &[ArgCmp {
    arg: 0,
    cmp: Cmp::MaskedEq {
        mask: libc::CLONE_THREAD as u64,
        value: libc::CLONE_THREAD as u64,
    },
}];

pub const SERVING_IF: &[AllowedIf] = &[AllowedIf {
    name: "clone",
    when: THREADS_ONLY,
    why: "start worker threads for calls that may block",
}];

pub const SERVING_REFUSED: &[Refused] = &[Refused {
    name: "clone3",
    errno: libc::ENOSYS,
    why: "its flags are in memory: libc then falls back to clone",
}];

/// Load the serving allowlist into the broker (all later threads inherit it).
pub fn load() -> Result<(), sandbox::SandboxError> {
    sandbox::seccomp::load_allowlist_with(SERVING, SERVING_IF, SERVING_REFUSED, Unlisted::Kill)
}

#[cfg(test)]
mod tests {
    use super::{SERVING, SERVING_IF, SERVING_REFUSED};
    use sandbox::seccomp::{allowlist, Unlisted};

    const ALLOW: u32 = 0x7fff_0000;
    const KILL: u32 = 0x8000_0000;

    /// The program the broker loads, run as the kernel runs it: every
    /// listed call allowed, `clone` for threads only, `clone3` ENOSYS,
    /// anything else kills.
    #[test]
    fn the_program_allows_exactly_the_list() {
        let f = allowlist(SERVING, SERVING_IF, SERVING_REFUSED, Unlisted::Kill).unwrap();
        for a in SERVING {
            assert_eq!(f.answer(a.name, [0; 6]), Some(ALLOW), "{}", a.name);
        }
        assert_eq!(
            f.answer("clone3", [0; 6]),
            Some(0x0005_0000 | libc::ENOSYS as u32)
        );
        let thread = (libc::CLONE_VM | libc::CLONE_SIGHAND | libc::CLONE_THREAD) as u64;
        assert_eq!(f.answer("clone", [thread, 0, 0, 0, 0, 0]), Some(ALLOW));
        let process = libc::SIGCHLD as u64;
        assert_eq!(f.answer("clone", [process, 0, 0, 0, 0, 0]), Some(KILL));
        for n in [
            "execve", "ptrace", "unshare", "mount", "setns", "fork", "bpf",
        ] {
            assert_eq!(f.answer(n, [0; 6]), Some(KILL), "{n}");
        }
    }
}

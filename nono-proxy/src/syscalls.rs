//! The proxy's syscalls once confined, as data: tokio's runtime (threads,
//! epoll, timers), TCP accept/connect, blind tunnels spliced through pipes,
//! the glibc resolver (UDP/TCP DNS and its configuration files, under
//! Landlock), the channel to the front end.
//! Anything else fails with EPERM.

use sandbox::seccomp::Allowed;

const fn a(name: &'static str, why: &'static str) -> Allowed {
    Allowed { name, why }
}

pub const SERVING: &[Allowed] = &[
    // Runtime: threads, wakeups, timers.
    a("clone3", "tokio worker and blocking threads"),
    a("clone", "tokio worker and blocking threads (older glibc)"),
    a("set_robust_list", "new threads"),
    a("rseq", "new threads"),
    a("futex", "locks and parking"),
    a("epoll_create1", "the reactor"),
    a("epoll_ctl", "the reactor"),
    a("epoll_wait", "the reactor"),
    a("epoll_pwait", "the reactor"),
    a("epoll_pwait2", "the reactor"),
    a("eventfd2", "reactor wakeups"),
    a("sched_yield", "spinning locks"),
    a("sched_getaffinity", "worker count"),
    a("clock_gettime", "timers"),
    a("clock_nanosleep", "sleeps"),
    a("nanosleep", "sleeps"),
    a("gettid", "thread ids"),
    a("getpid", "diagnostics"),
    a("prctl", "thread names"),
    a("mmap", "allocator and thread stacks"),
    a("munmap", "allocator and thread stacks"),
    a("mprotect", "thread stack guards"),
    a("mremap", "allocator"),
    a("madvise", "allocator"),
    a("brk", "allocator"),
    a("rt_sigprocmask", "threads"),
    a("rt_sigaction", "runtime"),
    a("rt_sigreturn", "runtime"),
    a("sigaltstack", "threads"),
    a("getrandom", "TLS and hash seeds"),
    a("exit", "thread exit"),
    a("exit_group", "process exit"),
    // Sockets (families and TCP ports are limited by the sandbox).
    a("socket", "outbound TCP, DNS"),
    a(
        "connect",
        "outbound TCP (Landlock: only the ports served), DNS",
    ),
    a("accept4", "the agent's connections"),
    a("accept", "the agent's connections"),
    a("setsockopt", "TCP_NODELAY, resolver options"),
    a("getsockopt", "connect completion"),
    a("getsockname", "resolver"),
    a("getpeername", "connections"),
    a("shutdown", "closing tunnels"),
    a(
        "splice",
        "blind tunnels relayed in the kernel (socket to pipe to socket)",
    ),
    a("pipe2", "the two pipes of each spliced tunnel"),
    a(
        "bind",
        "resolver source port (UDP; Landlock refuses TCP binds)",
    ),
    a("sendto", "I/O"),
    a("recvfrom", "I/O"),
    a("sendmsg", "I/O and the front-end channel"),
    a("recvmsg", "I/O and the front-end channel"),
    a("sendmmsg", "resolver (parallel A/AAAA queries)"),
    a("recvmmsg", "resolver"),
    a("read", "I/O and resolver configuration"),
    a("write", "I/O and error messages"),
    a("readv", "I/O"),
    a("writev", "I/O"),
    a("poll", "resolver"),
    a("ppoll", "resolver"),
    a("ioctl", "FIONBIO/FIONREAD on sockets"),
    a("fcntl", "non-blocking descriptors"),
    a("close", "descriptors"),
    a("dup", "descriptors"),
    // Resolver configuration (Landlock: read-only, a few files).
    a("openat", "/etc/resolv.conf, /etc/hosts, nsswitch"),
    a("newfstatat", "resolver configuration"),
    a("fstat", "resolver configuration"),
    a("statx", "resolver configuration"),
    a("lseek", "resolver configuration"),
    a("uname", "resolver"),
];

#[cfg(test)]
mod tests {
    use super::SERVING;
    use sandbox::seccomp::{allowlist, Unlisted};

    /// The program the proxy loads, run as the kernel runs it: every listed
    /// call allowed, anything else EPERM (the proxy reports the failure).
    #[test]
    fn the_program_allows_exactly_the_list() {
        let f = allowlist(SERVING, &[], &[], Unlisted::Deny).unwrap();
        for a in SERVING {
            assert_eq!(f.answer(a.name, [0; 6]), Some(0x7fff_0000), "{}", a.name);
        }
        let eperm = 0x0005_0000 | libc::EPERM as u32;
        for n in [
            "execve", "ptrace", "unshare", "mount", "setns", "fork", "bpf",
        ] {
            assert_eq!(f.answer(n, [0; 6]), Some(eperm), "{n}");
        }
    }
}

//! The broker's syscalls once the agent runs, as data. Anything else kills
//! the broker (and with it the agent: fail closed).

use sandbox::seccomp::Allowed;

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
    a("pread64", "read the agent's syscall arguments"),
    a("readlinkat", "the kernel's path of a resolved object"),
    a("readlink", "the kernel's path of a resolved object"),
    a("newfstatat", "is the resolved object a symlink"),
    a("fstat", "std file handling"),
    a("statx", "std file handling"),
    a("fchmodat", "perform a granted chmod"),
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
    a("connect", "perform a granted unix connect"),
    a("bind", "perform a granted unix bind"),
    a("exit", "exit"),
    a("exit_group", "exit"),
];

//! The keyholder's syscalls once confined, as data (measured with strace
//! against gnome-keyring, the kernel keyring, env and file references).
//! Anything else fails with EPERM and surfaces as a keystore error.

use sandbox::seccomp::Allowed;

const fn a(name: &'static str, why: &'static str) -> Allowed {
    Allowed { name, why }
}

pub const FETCHING: &[Allowed] = &[
    a(
        "socket",
        "connect to the D-Bus session bus (unix sockets only, by the baseline filter)",
    ),
    a("connect", "the D-Bus session bus"),
    a("getsockname", "D-Bus authentication"),
    a("poll", "D-Bus and channel I/O"),
    a("ppoll", "D-Bus and channel I/O"),
    a("recvmsg", "D-Bus and channel I/O"),
    a("recvfrom", "D-Bus and channel I/O"),
    a("sendmsg", "D-Bus and channel I/O"),
    a("sendto", "D-Bus and channel I/O"),
    a("read", "D-Bus and file references"),
    a("write", "error messages"),
    a("writev", "channel I/O"),
    a("openat", "file:// references (Landlock limits which)"),
    a("newfstatat", "file:// references"),
    a("statx", "file:// references"),
    a("fstat", "file:// references"),
    a("lseek", "file:// references"),
    a("fcntl", "descriptor flags"),
    a("close", "descriptors"),
    a(
        "keyctl",
        "kernel:// references (open only when one is asked for)",
    ),
    a("geteuid", "D-Bus EXTERNAL authentication"),
    a("getuid", "D-Bus EXTERNAL authentication"),
    a("getresuid", "D-Bus credentials"),
    a("getresgid", "D-Bus credentials"),
    a("getpid", "D-Bus"),
    a("getrandom", "Secret Service session encryption"),
    a("clock_gettime", "D-Bus timeouts"),
    a("futex", "std locks"),
    a("mmap", "allocator"),
    a("munmap", "allocator"),
    a("mremap", "allocator"),
    a("madvise", "allocator"),
    a("brk", "allocator"),
    a("rt_sigprocmask", "signal mask bookkeeping"),
    a("rt_sigaction", "runtime"),
    a("rt_sigreturn", "runtime"),
    a("sigaltstack", "runtime at exit"),
    a("exit", "exit"),
    a("exit_group", "exit"),
];

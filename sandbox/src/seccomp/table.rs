//! The baseline seccomp policy, as data: every entry says what it closes and why.
//!
//! The filter's default action is *allow*: Landlock is the allowlist for
//! files and TCP; this table removes kernel interfaces an agent has no use for
//! and that Landlock does not cover. Entries are errno returns, not kills, so
//! well-behaved programs that probe a feature fall back cleanly. Syscalls of a
//! foreign architecture (including x32 on x86_64) kill the process.

use libc::{EACCES, ENOSYS, EPERM};

/// An unconditional denial.
#[derive(Debug)]
pub struct Denied {
    /// The syscall name, as the kernel headers spell it (`SYS_<name>`).
    pub name: &'static str,
    /// The errno returned.
    pub errno: i32,
    /// Why it is closed.
    pub why: &'static str,
}

const fn deny(name: &'static str, why: &'static str) -> Denied {
    Denied {
        name,
        errno: EPERM,
        why,
    }
}

/// `ENOSYS` for interfaces whose callers have a documented fallback.
const fn absent(name: &'static str, why: &'static str) -> Denied {
    Denied {
        name,
        errno: ENOSYS,
        why,
    }
}

/// Syscalls denied whatever the capability set says.
pub const DENIED: &[Denied] = &[
    // Process inspection and injection (Landlock scopes ptrace too; belt and braces).
    // `ptrace` alone is reopened for `nono learn --sandboxed`
    // (`CapabilitySet::set_self_trace`), never for run or wrap.
    deny("ptrace", "inspect or control other processes"),
    deny("process_vm_readv", "read another process's memory"),
    deny("process_vm_writev", "write another process's memory"),
    deny("pidfd_getfd", "steal a descriptor from another process"),
    deny(
        "kcmp",
        "compare kernel objects of other processes (address-layout leak)",
    ),
    // Kernel attack surface with a long CVE history and no agent use.
    absent(
        "io_uring_setup",
        "io_uring bypasses seccomp for the operations it submits",
    ),
    absent("io_uring_enter", "io_uring"),
    absent("io_uring_register", "io_uring"),
    deny("bpf", "load eBPF programs"),
    deny("perf_event_open", "kernel profiling interface"),
    deny(
        "userfaultfd",
        "page-fault handling used to win kernel races",
    ),
    // Kernel keyrings: shared per user, hold other sessions' secrets.
    deny("keyctl", "read or change kernel keyrings"),
    deny("add_key", "add keys to kernel keyrings"),
    deny("request_key", "look up keys in kernel keyrings"),
    // Inode flags, project id and extent hints by path (Linux 6.17): the
    // path form of FS_IOC_FSSETXATTR, refused among the ioctls below; no
    // Landlock right covers it, only ownership of the file.
    deny(
        "file_setattr",
        "change inode flags by path, which Landlock does not cover",
    ),
    // Replacing the kernel or loading code into it.
    deny("kexec_load", "boot another kernel"),
    deny("kexec_file_load", "boot another kernel"),
    deny("init_module", "load a kernel module"),
    deny("finit_module", "load a kernel module"),
    deny("delete_module", "unload a kernel module"),
    // Mount namespace changes (would re-shape what Landlock rules refer to).
    deny("mount", "mount filesystems"),
    deny("umount2", "unmount filesystems"),
    deny("mount_setattr", "change mount attributes"),
    deny("move_mount", "move mounts"),
    deny("open_tree", "clone mount trees"),
    deny("open_tree_attr", "clone mount trees with new attributes"),
    deny("fsopen", "new mount API"),
    deny("fsconfig", "new mount API"),
    deny("fsmount", "new mount API"),
    deny("fspick", "new mount API"),
    deny("pivot_root", "change the root mount"),
    deny("chroot", "change the root directory"),
    deny("setns", "enter other namespaces"),
    // clone3 passes its flags in memory seccomp cannot read; libc falls back
    // to clone(2), whose flags are checked below.
    absent(
        "clone3",
        "flags not inspectable; forces the checked clone(2) path",
    ),
    // Host administration.
    deny("swapon", "enable swap"),
    deny("swapoff", "disable swap"),
    deny("reboot", "reboot the host"),
    deny("syslog", "read the kernel log"),
    deny("acct", "process accounting"),
    deny("quotactl", "disk quotas"),
    deny("quotactl_fd", "disk quotas"),
    deny(
        "open_by_handle_at",
        "open files by handle, bypassing path checks",
    ),
    deny("lookup_dcookie", "kernel profiling interface"),
    deny("vhangup", "hang up the terminal"),
    deny("iopl", "raw I/O port access"),
    deny("ioperm", "raw I/O port access"),
    deny("uselib", "obsolete loader interface"),
    deny(
        "personality",
        "READ_IMPLIES_EXEC and address-layout changes",
    ),
];

/// SysV IPC and POSIX message queues, refused unless the capability set
/// allows them ([`crate::CapabilitySet::set_sysv_ipc`]). Their objects live
/// in the IPC namespace, keyed by number or name and shared by every
/// process of the user (permission bits are per user, not per sandbox);
/// Landlock covers none of them. With a private IPC namespace they reach
/// nothing outside and may stay open.
pub const SYSV_IPC: &[Denied] = &[
    deny(
        "shmget",
        "find or create a SysV shared memory segment by key",
    ),
    deny("shmat", "map a SysV shared memory segment"),
    deny("shmctl", "read or change a SysV shared memory segment"),
    deny(
        "shmdt",
        "SysV shared memory (nothing to detach without shmat)",
    ),
    deny("msgget", "find or create a SysV message queue by key"),
    deny("msgsnd", "send to a SysV message queue"),
    deny("msgrcv", "receive from a SysV message queue"),
    deny("msgctl", "read or change a SysV message queue"),
    deny("semget", "find or create a SysV semaphore set by key"),
    deny("semop", "operate on a SysV semaphore set"),
    deny("semtimedop", "operate on a SysV semaphore set"),
    deny("semctl", "read or change a SysV semaphore set"),
    // The multiplexer older ABIs reach the calls above through (absent
    // on x86_64 and aarch64; skipped where it does not exist).
    deny("ipc", "SysV IPC multiplexer"),
    // POSIX message queues sit in the same namespace (an internal mount
    // Landlock does not see); every other mq_* call needs a descriptor
    // from mq_open.
    deny("mq_open", "open a POSIX message queue by name"),
    deny("mq_unlink", "remove a POSIX message queue by name"),
];

/// How an argument is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `(arg & mask) == value`.
    MaskedEq { mask: u64, value: u64 },
    /// `arg == value`.
    Eq(u64),
    /// `arg != value`.
    Ne(u64),
    /// `arg >= value`.
    Ge(u64),
}

/// One argument comparison.
#[derive(Debug, Clone, Copy)]
pub struct ArgCmp {
    /// Argument index (0-based).
    pub arg: u32,
    /// The comparison.
    pub cmp: Cmp,
}

/// A conditional denial: every comparison must match (logical AND).
#[derive(Debug, Clone)]
pub struct ArgRule {
    /// The syscall name.
    pub name: &'static str,
    /// Comparisons, all of which must hold.
    pub when: Vec<ArgCmp>,
    /// The errno returned.
    pub errno: i32,
    /// Why it is closed.
    pub why: &'static str,
}

const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
// libc types these per architecture (unsigned long here, int elsewhere).
#[allow(clippy::unnecessary_cast)]
const TIOCSTI: u64 = libc::TIOCSTI as u64;
#[allow(clippy::unnecessary_cast)]
const TIOCLINUX: u64 = libc::TIOCLINUX as u64;
/// The kernel reads ioctl's request as `unsigned int`; compare only the low 32 bits.
const IOCTL_CMD_MASK: u64 = 0xffff_ffff;
/// `FS_IOC_SETFLAGS`, `_IOW('f', 2, long)` (`chattr`; also ext2/3/4's name
/// for it). libc does not define these.
const FS_IOC_SETFLAGS: u64 = 0x4008_6602;
/// `FS_IOC32_SETFLAGS`, `_IOW('f', 2, int)`: the same request as 32-bit
/// programs spell it, which some filesystems also accept natively.
const FS_IOC32_SETFLAGS: u64 = 0x4004_6602;
/// `FS_IOC_FSSETXATTR`, `_IOW('X', 32, struct fsxattr)`: the same flags,
/// project id and extent size hints.
const FS_IOC_FSSETXATTR: u64 = 0x401c_5820;
/// `O_ACCMODE`: both bits set is the "no read, no write" access mode.
const O_ACCMODE: u64 = crate::abi::O_ACCMODE as u64;

/// ioctl requests refused whatever the capability set says, and why.
const IOCTLS: &[(u64, &str)] = &[
    (TIOCSTI, "inject keystrokes into the controlling terminal"),
    (
        TIOCLINUX,
        "virtual console control, including selection paste",
    ),
    // Inode flags (append-only, no-dump, no-atime, compression, ...) are
    // metadata Landlock does not cover, and an ioctl needs no write
    // access: a file opened read-only is enough.
    (
        FS_IOC_SETFLAGS,
        "change inode flags (chattr), which Landlock does not cover",
    ),
    (
        FS_IOC32_SETFLAGS,
        "change inode flags (chattr, 32-bit request)",
    ),
    (
        FS_IOC_FSSETXATTR,
        "change inode flags, project id and hints",
    ),
];

/// The opens whose flags seccomp can read, with the flags' argument.
/// Access mode 3 opens for neither reading nor writing: Landlock checks no
/// right for it, so it would reach any file the user may read and write,
/// protected ones included (ioctls only).
const OPENS: &[(&str, u32)] = &[("open", 1), ("openat", 2)];

/// Argument-dependent denials that hold whatever the capability set says.
pub fn baseline_arg_rules() -> Vec<ArgRule> {
    let newuser = ArgCmp {
        arg: 0,
        cmp: Cmp::MaskedEq {
            mask: CLONE_NEWUSER,
            value: CLONE_NEWUSER,
        },
    };
    let mut rules = vec![
        ArgRule {
            name: "clone",
            when: vec![newuser],
            errno: EPERM,
            why: "new user namespaces regain capabilities and widen kernel surface",
        },
        ArgRule {
            name: "unshare",
            when: vec![newuser],
            errno: EPERM,
            why: "new user namespaces",
        },
    ];
    rules.extend(IOCTLS.iter().map(|&(cmd, why)| ArgRule {
        name: "ioctl",
        when: vec![masked(1, IOCTL_CMD_MASK, cmd)],
        errno: EPERM,
        why,
    }));
    rules.extend(OPENS.iter().map(|&(name, arg)| ArgRule {
        name,
        when: vec![masked(arg, O_ACCMODE, O_ACCMODE)],
        errno: EACCES,
        why: "an ioctl-only descriptor (access mode 3) Landlock checks nothing for",
    }));
    rules
}

/// Argument `arg` masked with `mask` equals `value`.
fn masked(arg: u32, mask: u64, value: u64) -> ArgCmp {
    ArgCmp {
        arg,
        cmp: Cmp::MaskedEq { mask, value },
    }
}

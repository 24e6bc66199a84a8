//! What a confined process may do, as plain data.

use std::fs;
use std::path::{Path, PathBuf};

use crate::kept_dirs::KeptDirs;
use crate::{Result, SandboxError};

/// Access to a granted path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessMode {
    /// Read files, list directories, execute programs.
    Read,
    /// Create, write, truncate, rename into, link into and remove; no reading.
    Write,
    /// Both of the above.
    ReadWrite,
}

impl AccessMode {
    /// True when this mode includes reading.
    pub fn reads(self) -> bool {
        matches!(self, AccessMode::Read | AccessMode::ReadWrite)
    }

    /// True when this mode includes writing.
    pub fn writes(self) -> bool {
        matches!(self, AccessMode::Write | AccessMode::ReadWrite)
    }

    /// The union of two modes.
    pub fn union(self, other: AccessMode) -> AccessMode {
        match (
            self.reads() || other.reads(),
            self.writes() || other.writes(),
        ) {
            (true, true) => AccessMode::ReadWrite,
            (false, true) => AccessMode::Write,
            _ => AccessMode::Read,
        }
    }

    /// The short form used in listings: `r-`, `-w`, `rw`.
    pub fn short(self) -> &'static str {
        match self {
            AccessMode::Read => "r-",
            AccessMode::Write => "-w",
            AccessMode::ReadWrite => "rw",
        }
    }
}

/// Whether a grant covers a directory tree or one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantKind {
    /// The directory and everything beneath it.
    Tree,
    /// Exactly one non-directory file (regular file, device node, socket, …).
    File,
}

/// One filesystem grant on a canonical path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FsGrant {
    /// Canonical absolute path.
    pub path: PathBuf,
    /// What is allowed there.
    pub mode: AccessMode,
    /// Tree or single file.
    pub kind: GrantKind,
}

/// Network reach of the confined process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkPolicy {
    /// Unrestricted TCP/UDP (raw, packet, vsock and MPTCP sockets stay closed).
    #[default]
    Allowed,
    /// No network sockets at all: TCP bind/connect denied by Landlock and
    /// every non-unix socket refused by seccomp (UDP included).
    Blocked,
    /// Like `Blocked`, but unix sockets may be created (for helpers that
    /// talk to local services, e.g. D-Bus). Never for agents: pathname
    /// unix sockets are not mediated here.
    UnixOnly,
    /// TCP only, and only to the ports granted with
    /// [`CapabilitySet::allow_tcp_connect`] / [`CapabilitySet::allow_tcp_bind`]
    /// (Landlock; on any address). IP sockets other than plain TCP streams
    /// (UDP, ICMP, SCTP, MPTCP, raw) and non-IP families are refused by
    /// seccomp. Used for proxied egress; pair it with a network namespace
    /// when "any address" is too wide.
    TcpPorts,
}

/// Everything a confined process is allowed. Build it, then hand it to
/// [`crate::Sandbox::apply`].
#[derive(Debug, Clone, Default)]
pub struct CapabilitySet {
    grants: Vec<FsGrant>,
    network: NetworkPolicy,
    tcp_connect_ports: Vec<u16>,
    tcp_bind_ports: Vec<u16>,
    isolate_signals: bool,
    isolate_abstract_unix: bool,
    kernel_keyring: bool,
    unix_sockets: bool,
    supervisor: bool,
    sysv_ipc: bool,
    self_trace: bool,
    skip_vanished: bool,
    /// Directories grants were made in, resolved once (`kept_dirs.rs`).
    resolved_dirs: KeptDirs,
}

impl CapabilitySet {
    /// An empty set: nothing readable, nothing writable, network allowed,
    /// signal and abstract-unix-socket isolation on.
    pub fn new() -> Self {
        CapabilitySet {
            isolate_signals: true,
            isolate_abstract_unix: true,
            ..CapabilitySet::default()
        }
    }

    /// Grant `mode` on the directory tree at `path`.
    pub fn allow_tree(&mut self, path: impl AsRef<Path>, mode: AccessMode) -> Result<&mut Self> {
        self.push(path.as_ref(), mode, GrantKind::Tree)
    }

    /// Grant `mode` on the single file at `path`.
    pub fn allow_file(&mut self, path: impl AsRef<Path>, mode: AccessMode) -> Result<&mut Self> {
        self.push(path.as_ref(), mode, GrantKind::File)
    }

    /// Shorthand for a read-only tree grant.
    pub fn allow_read(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        self.allow_tree(path, AccessMode::Read)
    }

    /// Shorthand for a read-write tree grant.
    pub fn allow_write(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        self.allow_tree(path, AccessMode::ReadWrite)
    }

    /// Grant `mode` on whatever is at `path`: a tree for a directory, a file otherwise.
    pub fn allow_path(&mut self, path: impl AsRef<Path>, mode: AccessMode) -> Result<&mut Self> {
        let path = path.as_ref();
        let kind = if canonical(path)?.is_dir() {
            GrantKind::Tree
        } else {
            GrantKind::File
        };
        self.push(path, mode, kind)
    }

    /// Set the network policy.
    pub fn set_network(&mut self, policy: NetworkPolicy) -> &mut Self {
        self.network = policy;
        self
    }

    /// Allow TCP connect to `port` (on any address) even when the network is blocked.
    pub fn allow_tcp_connect(&mut self, port: u16) -> &mut Self {
        self.tcp_connect_ports.push(port);
        self
    }

    /// Allow TCP bind on `port` even when the network is blocked.
    pub fn allow_tcp_bind(&mut self, port: u16) -> &mut Self {
        self.tcp_bind_ports.push(port);
        self
    }

    /// Turn signal isolation (Landlock signal scope) on or off.
    pub fn set_signal_isolation(&mut self, on: bool) -> &mut Self {
        self.isolate_signals = on;
        self
    }

    /// Turn abstract unix socket isolation (Landlock scope) on or off.
    pub fn set_abstract_unix_isolation(&mut self, on: bool) -> &mut Self {
        self.isolate_abstract_unix = on;
        self
    }

    /// The filesystem grants, merged: one entry per (path, kind) with the union of modes.
    pub fn grants(&self) -> Vec<FsGrant> {
        // A map, not a scan per grant: policies reach tens of thousands.
        let mut by_key: std::collections::BTreeMap<(&Path, GrantKind), AccessMode> =
            std::collections::BTreeMap::new();
        for g in &self.grants {
            by_key
                .entry((g.path.as_path(), g.kind))
                .and_modify(|m| *m = m.union(g.mode))
                .or_insert(g.mode);
        }
        let mut merged: Vec<FsGrant> = by_key
            .into_iter()
            .map(|((path, kind), mode)| FsGrant {
                path: path.to_path_buf(),
                mode,
                kind,
            })
            .collect();
        merged.sort();
        merged
    }

    /// The network policy.
    pub fn network(&self) -> NetworkPolicy {
        self.network
    }

    /// Ports TCP connect is allowed to when the network is otherwise blocked.
    pub fn tcp_connect_ports(&self) -> &[u16] {
        &self.tcp_connect_ports
    }

    /// Ports TCP bind is allowed on when the network is otherwise blocked.
    pub fn tcp_bind_ports(&self) -> &[u16] {
        &self.tcp_bind_ports
    }

    /// Allow the kernel keyring syscalls (keyctl, add_key, request_key).
    /// For the keyholder only; agents never get them.
    pub fn set_kernel_keyring(&mut self, on: bool) -> &mut Self {
        self.kernel_keyring = on;
        self
    }

    /// Allow creating `AF_UNIX` sockets (whatever the network policy).
    /// Only when a supervisor mediates pathname connect/bind/send, since
    /// Landlock (ABI < 9) does not restrict them.
    pub fn set_unix_sockets(&mut self, on: bool) -> &mut Self {
        self.unix_sockets = on;
        self
    }

    /// Whether `AF_UNIX` sockets may be created.
    pub fn allows_unix_sockets(&self) -> bool {
        self.unix_sockets
    }

    /// Keep `pidfd_getfd` and `process_vm_readv`/`writev` open: for a
    /// supervisor that acts on its supervised process's descriptors and
    /// memory. Never for agents.
    pub fn set_supervisor(&mut self, on: bool) -> &mut Self {
        self.supervisor = on;
        self
    }

    /// Allow `ptrace` (nothing else of the process-inspection class):
    /// for `nono learn --sandboxed`, which runs strace inside the sandbox
    /// on the command. Landlock still confines it to processes of the same
    /// (or a nested) domain, i.e. the sandboxed command itself, and with no
    /// capabilities a tracer cannot suspend or read seccomp filters. Never
    /// for `nono run` or `nono wrap`.
    pub fn set_self_trace(&mut self, on: bool) -> &mut Self {
        self.self_trace = on;
        self
    }

    /// Whether `ptrace` stays open (see [`CapabilitySet::set_self_trace`]).
    pub fn allows_self_trace(&self) -> bool {
        self.self_trace
    }

    /// Skip a granted path that no longer exists when the ruleset is built
    /// (skipping only narrows), instead of failing. For `nono learn
    /// --sandboxed`, whose read grant of `/` lists every entry of busy
    /// directories such as `/tmp`.
    pub fn set_skip_vanished(&mut self, on: bool) -> &mut Self {
        self.skip_vanished = on;
        self
    }

    /// Whether vanished grants are skipped (see [`CapabilitySet::set_skip_vanished`]).
    pub fn skips_vanished(&self) -> bool {
        self.skip_vanished
    }

    /// Allow the SysV IPC calls (shared memory, message queues,
    /// semaphores) and POSIX message queues. Off by default: these objects
    /// are shared by every process of the user in the IPC namespace, and
    /// Landlock does not cover them. Turn on only when the process has a
    /// private IPC namespace, or the caller accepts the sharing.
    pub fn set_sysv_ipc(&mut self, on: bool) -> &mut Self {
        self.sysv_ipc = on;
        self
    }

    /// Whether the SysV IPC and POSIX message-queue calls stay open.
    pub fn allows_sysv_ipc(&self) -> bool {
        self.sysv_ipc
    }

    /// Whether this set is a supervisor's.
    pub fn is_supervisor(&self) -> bool {
        self.supervisor
    }

    /// Whether the kernel keyring syscalls stay open.
    pub fn allows_kernel_keyring(&self) -> bool {
        self.kernel_keyring
    }

    /// Whether signals to processes outside the sandbox are denied.
    pub fn isolates_signals(&self) -> bool {
        self.isolate_signals
    }

    /// Whether abstract unix sockets created outside the sandbox are unreachable.
    pub fn isolates_abstract_unix(&self) -> bool {
        self.isolate_abstract_unix
    }

    /// True when Landlock must handle TCP (blocked network or explicit port rules).
    pub fn restricts_tcp(&self) -> bool {
        self.network != NetworkPolicy::Allowed
            || !self.tcp_connect_ports.is_empty()
            || !self.tcp_bind_ports.is_empty()
    }

    /// The canonical form of `path` and whether it is a directory: from
    /// the directories kept so far (grants come by the thousand from one
    /// directory), else `realpath`, whose error is the one reported.
    fn resolve(&mut self, path: &Path) -> Result<(PathBuf, bool)> {
        if let Some(Ok(known)) = self.resolved_dirs.resolve(path) {
            return Ok(known);
        }
        let canon = canonical(path)?;
        let is_dir = canon.is_dir();
        Ok((canon, is_dir))
    }

    fn push(&mut self, path: &Path, mode: AccessMode, kind: GrantKind) -> Result<&mut Self> {
        let (path, is_dir) = self.resolve(path)?;
        match (kind, is_dir) {
            (GrantKind::Tree, false) => {
                return Err(SandboxError::GrantKindMismatch {
                    path,
                    expected: "a directory",
                    actual: "not a directory",
                })
            }
            (GrantKind::File, true) => {
                return Err(SandboxError::GrantKindMismatch {
                    path,
                    expected: "a file",
                    actual: "a directory",
                })
            }
            _ => {}
        }
        self.grants.push(FsGrant { path, mode, kind });
        Ok(self)
    }
}

fn canonical(path: &Path) -> Result<PathBuf> {
    fs::canonicalize(path).map_err(|source| SandboxError::ResolvePath {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_of_modes() {
        assert_eq!(
            AccessMode::Read.union(AccessMode::Write),
            AccessMode::ReadWrite
        );
        assert_eq!(AccessMode::Read.union(AccessMode::Read), AccessMode::Read);
        assert_eq!(
            AccessMode::Write.union(AccessMode::Write),
            AccessMode::Write
        );
    }

    #[test]
    fn entries_of_a_resolved_directory_are_canonical_too() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("x"), "").unwrap();
        std::fs::create_dir(real.join("d")).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("via")).unwrap();
        std::os::unix::fs::symlink(real.join("x"), real.join("s")).unwrap();
        let mut caps = CapabilitySet::new();
        let via = dir.path().join("via");
        // Through a symlinked directory, then siblings from the kept one.
        caps.allow_file(via.join("x"), AccessMode::Read).unwrap();
        caps.allow_tree(via.join("d"), AccessMode::Read).unwrap();
        // A symlink entry is followed to its target.
        caps.allow_file(via.join("s"), AccessMode::Write).unwrap();
        let paths: Vec<_> = caps
            .grants()
            .into_iter()
            .map(|g| (g.path, g.kind))
            .collect();
        assert_eq!(
            paths,
            vec![
                (real.join("d"), GrantKind::Tree),
                (real.join("x"), GrantKind::File)
            ]
        );
        // A trailing `/` or `/.` follows the final symlink: never its name.
        let mut caps = CapabilitySet::new();
        for p in ["via/", "via/.", "via//"] {
            caps.allow_tree(dir.path().join(p), AccessMode::Read)
                .unwrap();
        }
        let paths: Vec<_> = caps.grants().into_iter().map(|g| g.path).collect();
        assert_eq!(paths, vec![real.clone()]);
        let mut caps = CapabilitySet::new();
        caps.allow_file(via.join("x"), AccessMode::Read).unwrap();
        // Kinds are still checked on the fast path.
        assert!(caps.allow_tree(via.join("x"), AccessMode::Read).is_err());
        assert!(caps.allow_file(via.join("d"), AccessMode::Read).is_err());
    }

    #[test]
    fn grants_are_canonical_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a");
        std::fs::create_dir(&sub).unwrap();
        let mut caps = CapabilitySet::new();
        caps.allow_tree(sub.join("..").join("a"), AccessMode::Read)
            .unwrap();
        caps.allow_tree(&sub, AccessMode::Write).unwrap();
        let grants = caps.grants();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].mode, AccessMode::ReadWrite);
        assert_eq!(grants[0].path, std::fs::canonicalize(&sub).unwrap());
    }

    #[test]
    fn missing_path_is_an_error() {
        let mut caps = CapabilitySet::new();
        let err = caps.allow_read("/definitely/not/here").unwrap_err();
        assert!(matches!(err, SandboxError::ResolvePath { .. }));
    }

    #[test]
    fn kind_mismatch_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let mut caps = CapabilitySet::new();
        assert!(caps.allow_tree(&file, AccessMode::Read).is_err());
        assert!(caps.allow_file(dir.path(), AccessMode::Read).is_err());
    }
}

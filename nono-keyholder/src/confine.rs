//! The keyholder's own confinement: read-only access to what its backends
//! load (system libraries, D-Bus machine id, the runtime dir with the bus
//! socket, the `file://` paths, the `op` binary), no writes anywhere, no
//! TCP, only unix sockets (D-Bus), signals scoped. Abstract unix sockets
//! are not scoped: the session bus often listens on one. The kernel keyring
//! syscalls stay open only when a `kernel://` reference asks for them.

use std::path::{Path, PathBuf};

use ipc::reference::CredentialRef;
use sandbox::seccomp::{load_allowlist, Unlisted};
use sandbox::{AccessMode, CapabilitySet, NetworkPolicy, Sandbox};

use crate::error::{KeyholderError, Result};
use crate::syscalls::FETCHING;

/// System paths the D-Bus client and the loader read.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/etc/machine-id",
    "/var/lib/dbus/machine-id",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/localtime",
];

/// Confine to what reading `refs` needs (`op`: the 1Password CLI).
pub fn apply<'a>(
    refs: impl Iterator<Item = &'a CredentialRef> + Clone,
    op: Option<&Path>,
) -> Result<()> {
    let mut caps = CapabilitySet::new();
    let mut paths: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR") {
        paths.push(PathBuf::from(run));
    }
    paths.extend(refs.clone().filter_map(|r| match r {
        CredentialRef::File(path) => Some(PathBuf::from(path)),
        _ => None,
    }));
    paths.extend(op.map(Path::to_path_buf));
    for p in paths.iter().filter(|p| p.exists()) {
        caps.allow_path(p, AccessMode::Read)
            .map_err(KeyholderError::Grant)?;
    }
    caps.set_network(NetworkPolicy::UnixOnly)
        .set_abstract_unix_isolation(false)
        .set_kernel_keyring(
            refs.into_iter()
                .any(|r| matches!(r, CredentialRef::Kernel(_))),
        );
    Sandbox::apply(&caps).map_err(KeyholderError::Confine)?;
    // The 1Password CLI runs as a child and would inherit the allowlist.
    if op.is_none() {
        load_allowlist(FETCHING, Unlisted::Deny).map_err(KeyholderError::Confine)?;
    }
    Ok(())
}

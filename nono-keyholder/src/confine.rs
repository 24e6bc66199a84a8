//! The keyholder's own confinement: read-only access to what its backends
//! load (system libraries, D-Bus machine id, the runtime dir with the bus
//! socket, the `file://` paths, the `op` binary), no writes anywhere, no
//! TCP, only unix sockets (D-Bus), signals scoped. Abstract unix sockets
//! are not scoped: the session bus often listens on one. The kernel keyring
//! syscalls stay open only when a `kernel://` reference asks for them. The kernel keyring
//! syscalls stay open only when a `kernel://` reference asks for them.

use std::path::{Path, PathBuf};

use ipc::keyholder::CredentialItem;
use sandbox::seccomp::{load_allowlist, Unlisted};
use sandbox::{AccessMode, CapabilitySet, NetworkPolicy, Sandbox};

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

pub fn apply(items: &[CredentialItem], op: Option<&Path>) -> Result<(), String> {
    let mut caps = CapabilitySet::new();
    let mut paths: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR") {
        paths.push(PathBuf::from(run));
    }
    paths.extend(
        items
            .iter()
            .filter_map(|i| i.reference.strip_prefix("file://"))
            .map(PathBuf::from),
    );
    paths.extend(op.map(Path::to_path_buf));
    for p in paths.iter().filter(|p| p.exists()) {
        caps.allow_path(p, AccessMode::Read)
            .map_err(|e| e.to_string())?;
    }
    caps.set_network(NetworkPolicy::UnixOnly)
        .set_abstract_unix_isolation(false)
        .set_kernel_keyring(items.iter().any(|i| i.reference.starts_with("kernel://")));
    Sandbox::apply(&caps).map_err(|e| format!("cannot confine the keyholder: {e}"))?;
    // The 1Password CLI runs as a child and would inherit the allowlist.
    if op.is_none() {
        load_allowlist(FETCHING, Unlisted::Deny)
            .map_err(|e| format!("cannot confine the keyholder: {e}"))?;
    }
    Ok(())
}

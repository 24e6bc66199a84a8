//! Refusing flags whose features are not in this release, with a message
//! that says so, and proxy flags in `wrap` (they need `nono run`, as the
//! spec says). Refusing is fail-closed: the user asked for a
//! restriction or a grant nono cannot provide yet.

use anyhow::{bail, Result};

use super::Mode;
use crate::cli::{CompatArgs, LaterArgs, ProxyArgs};

fn first_broker_flag(l: &LaterArgs) -> Option<&'static str> {
    [
        (!l.unix.allow_unix_socket.is_empty(), "--allow-unix-socket"),
        (
            !l.unix.allow_unix_socket_bind.is_empty(),
            "--allow-unix-socket-bind",
        ),
        (
            !l.unix.allow_unix_socket_dir.is_empty(),
            "--allow-unix-socket-dir",
        ),
        (
            !l.unix.allow_unix_socket_dir_bind.is_empty(),
            "--allow-unix-socket-dir-bind",
        ),
        (
            !l.unix.allow_unix_socket_subtree.is_empty(),
            "--allow-unix-socket-subtree",
        ),
        (
            !l.unix.allow_unix_socket_subtree_bind.is_empty(),
            "--allow-unix-socket-subtree-bind",
        ),
        (l.capability_elevation, "--capability-elevation"),
    ]
    .into_iter()
    .find_map(|(set, flag)| set.then_some(flag))
}

pub fn check(l: &LaterArgs, proxy: &ProxyArgs, mode: Mode) -> Result<()> {
    let elevation_env = crate::envconfig::boolean("NONO_CAPABILITY_ELEVATION")? == Some(true);
    if let (Some(flag), Mode::Wrap) = (crate::network::proxy_flag(proxy), mode) {
        bail!(
            "nono wrap does not support proxy flags (--network-profile, --allow-domain, --credential, \
             --upstream-proxy, --upstream-bypass; got {flag}). The network proxy requires a parent process. \
             Use nono run instead."
        );
    }
    let broker_flag = first_broker_flag(l).or(elevation_env.then_some("NONO_CAPABILITY_ELEVATION"));
    if let (Some(flag), Mode::Wrap) = (broker_flag, mode) {
        bail!(
            "{flag} needs the broker, and nono wrap keeps no helper process. Use nono run instead."
        );
    }
    Ok(())
}

/// Spec flags Linux or this release cannot honour: refused, never ignored.
pub fn check_compat(c: &CompatArgs) -> Result<()> {
    if c.allow_launch_services {
        bail!(
            "--allow-launch-services is only supported on macOS (LaunchServices); on Linux a \
             sandboxed command opens URLs through nothing but its own grants"
        );
    }
    if let Some(f) = &c.config {
        bail!(
            "--config {}: configuration files named on the command line are not supported yet \
             (the spec lists them as planned); nono reads ~/.config/nono/config.toml",
            f.display()
        );
    }
    Ok(())
}

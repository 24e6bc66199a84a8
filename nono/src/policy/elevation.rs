//! Capability elevation (`--capability-elevation`, NONO_CAPABILITY_ELEVATION,
//! profile `security.capability_elevation`): whether it is on, and what the
//! broker may open on approval and which paths it never may. Who approves
//! is `launch/elevation.rs`.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::Result;
use ipc::broker::WireElevation;
use sandbox::{AccessMode, GrantKind};

use super::plan::wire_grant;
use super::protect::{self, Denied};
use super::resolve::Policy;
use crate::cli::LaterArgs;
use crate::grants::{Grant, Source};

/// Whether elevation is on: the flag or NONO_CAPABILITY_ELEVATION, else
/// the profile.
pub fn enabled(l: &LaterArgs, profile_setting: Option<bool>) -> Result<bool> {
    if l.capability_elevation {
        return Ok(true);
    }
    Ok(
        match crate::envconfig::boolean("NONO_CAPABILITY_ELEVATION")? {
            Some(v) => v,
            None => profile_setting == Some(true),
        },
    )
}

/// The broker's wider grants ("/" expanded around every active protected
/// path) and the protected paths themselves.
pub fn wire(policy: &Policy) -> Result<WireElevation> {
    let active = policy.active_protections();
    let root = Grant {
        path: PathBuf::from("/"),
        mode: AccessMode::ReadWrite,
        kind: GrantKind::Tree,
        source: Source::Flag("capability-elevation"),
    };
    let (rules, _) = protect::apply(&[root], &active, &policy.bypass)?;
    let broker_grants = rules.iter().map(wire_grant).collect();
    let protected = active
        .iter()
        .map(|p| {
            (
                p.path.as_os_str().as_bytes().to_vec(),
                p.denied == Denied::Write,
            )
        })
        .collect();
    Ok(WireElevation {
        broker_grants,
        protected,
    })
}

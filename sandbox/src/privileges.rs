//! no_new_privs and capability dropping.

use caps::{CapSet, Capability};

use crate::{Result, SandboxError};

/// What happened to the capability sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapsOutcome {
    /// The bounding set was emptied (needs `CAP_SETPCAP`; without it the set
    /// is inert under no_new_privs, since exec can no longer grant anything).
    pub bounding_cleared: bool,
}

/// Set `PR_SET_NO_NEW_PRIVS`.
pub(crate) fn set_no_new_privs() -> Result<()> {
    nix::sys::prctl::set_no_new_privs()
        .map_err(|e| SandboxError::NoNewPrivs(std::io::Error::from(e)))
}

fn drop_err(set: &'static str) -> impl Fn(caps::errors::CapsError) -> SandboxError {
    move |e| SandboxError::DropCapabilities {
        set,
        message: e.to_string(),
    }
}

/// Drop every capability: bounding first (it needs `CAP_SETPCAP`), then
/// ambient, inheritable, effective and permitted.
pub(crate) fn drop_all() -> Result<CapsOutcome> {
    let can_setpcap = caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)
        .map_err(drop_err("effective"))?;
    if can_setpcap {
        caps::clear(None, CapSet::Bounding).map_err(drop_err("bounding"))?;
    }
    caps::clear(None, CapSet::Ambient).map_err(drop_err("ambient"))?;
    caps::clear(None, CapSet::Inheritable).map_err(drop_err("inheritable"))?;
    caps::clear(None, CapSet::Effective).map_err(drop_err("effective"))?;
    caps::clear(None, CapSet::Permitted).map_err(drop_err("permitted"))?;
    Ok(CapsOutcome {
        bounding_cleared: can_setpcap,
    })
}

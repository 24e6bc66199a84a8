//! Process hygiene before anything else: not dumpable, no core files, no
//! stray descriptors, no environment.

use ipc::CHANNEL_FD;

use crate::state::Unconfined;
use crate::sys;

pub fn harden_and_take_channel() -> Result<Unconfined, String> {
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| format!("cannot mark the process non-dumpable: {e}"))?;
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
        .map_err(|e| format!("cannot disable core dumps: {e}"))?;
    if std::env::vars_os().next().is_some() {
        return Err("started with a non-empty environment; only nono starts the broker".into());
    }
    sys::close_from(CHANNEL_FD + 1);
    let fd = sys::take_fd(CHANNEL_FD).ok_or("no channel at fd 3; only nono starts the broker")?;
    Ok(Unconfined::new(fd))
}

//! Process hygiene before anything else (`sandbox::hygiene::start_helper`:
//! not dumpable, no core files, no stray descriptors, no environment).
//! Then the session's own PID namespace, where the kernel allows one
//! (`sandbox::pidns`): from here on this process is its init, and the
//! process nono started only relays (it closes its copies of the channels).

use ipc::{CHANNEL_FD, CREDENTIALS_FD};
use sandbox::hygiene;

use crate::error::Result;
use crate::state::Unconfined;

pub fn harden_and_take_channel() -> Result<Unconfined> {
    let chan = hygiene::start_helper("broker", true, CHANNEL_FD, CREDENTIALS_FD)?;
    let pid_namespace = match sandbox::pidns::enter() {
        sandbox::pidns::Entered::Init => true,
        // The subreaper (`sandbox::reap`) is the only line then; the front
        // end hears of it in `Started`.
        sandbox::pidns::Entered::Unavailable(_) => false,
    };
    Ok(Unconfined::new(
        chan,
        hygiene::take_inherited(CREDENTIALS_FD),
        pid_namespace,
    ))
}

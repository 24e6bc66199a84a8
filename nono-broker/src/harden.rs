//! Process hygiene before anything else: not dumpable, no core files, no
//! stray descriptors, no environment. Then the session's own PID
//! namespace, where the kernel allows one (`sandbox::pidns`): from here on
//! this process is its init, and the process nono started only relays.

use ipc::{CHANNEL_FD, CREDENTIALS_FD};
use sandbox::hygiene;

use crate::state::Unconfined;

pub fn harden_and_take_channel() -> Result<Unconfined, String> {
    hygiene::no_dumps().map_err(|e| e.to_string())?;
    if std::env::vars_os().next().is_some() {
        return Err("started with a non-empty environment; only nono starts the broker".into());
    }
    hygiene::close_from(CREDENTIALS_FD + 1);
    let pid_namespace = match sandbox::pidns::enter() {
        sandbox::pidns::Entered::Init => true,
        // The subreaper (`sandbox::reap`) is the only line then; the front
        // end hears of it in `Started`.
        sandbox::pidns::Entered::Unavailable(_) => false,
    };
    let chan = hygiene::take_inherited(CHANNEL_FD)
        .ok_or("no channel at fd 3; only nono starts the broker")?;
    Ok(Unconfined::new(
        chan,
        hygiene::take_inherited(CREDENTIALS_FD),
        pid_namespace,
    ))
}

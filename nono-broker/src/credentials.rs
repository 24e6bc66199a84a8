//! Environment credentials from the keyholder (fd 4): exactly the variables
//! the front end announced, each once, then `Done`. Anything else aborts.

use std::os::fd::OwnedFd;

use ipc::broker::LaunchSpec;
use ipc::credentials::{env_entry, receive_all, CredentialMessage, NoReply};
use ipc::Endpoint;

use crate::error::{BrokerError, Result};

pub fn receive(fd: Option<OwnedFd>, spec: &mut LaunchSpec) -> Result<()> {
    if spec.credential_vars.is_empty() {
        return Ok(());
    }
    let fd = fd.ok_or(BrokerError::NoCredentialsChannel)?;
    let chan: Endpoint<NoReply, CredentialMessage> = Endpoint::from_fd(fd);
    let values = receive_all(&chan, &spec.credential_vars).map_err(BrokerError::Credentials)?;
    for (var, value) in values {
        let prefix = format!("{var}=");
        spec.env.retain(|e| !e.starts_with(prefix.as_bytes()));
        spec.env.push(env_entry(&var, &value));
    }
    Ok(())
}

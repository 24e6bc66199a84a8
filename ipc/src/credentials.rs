//! `ipc::credentials`: `nono-keyholder` to the credential's consumer
//! (`nono-broker` for `--env-credential`). One direction only: the consumer
//! never sends anything back ([`NoReply`] has no values).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialMessage {
    /// One value for one environment variable; zeroized when dropped.
    Secret {
        var: String,
        value: Zeroizing<Vec<u8>>,
    },
    /// All values were sent.
    Done,
}

/// The (empty) reverse direction of the credentials channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoReply {}

/// Receive exactly the `expected` variables, each once, then `Done`.
/// Anything else is an error (a keyholder cannot inject other variables).
pub fn receive_all(
    chan: &crate::Endpoint<NoReply, CredentialMessage>,
    expected: &[String],
) -> crate::Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let mut got: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
    loop {
        match chan.recv_plain()? {
            CredentialMessage::Secret { var, value } => {
                if !expected.contains(&var) || got.iter().any(|(v, _)| *v == var) {
                    return Err(crate::IpcError::Unexpected(
                        "credential for a variable that was not announced",
                    ));
                }
                got.push((var, value));
            }
            CredentialMessage::Done if got.len() == expected.len() => return Ok(got),
            CredentialMessage::Done => {
                return Err(crate::IpcError::Unexpected(
                    "fewer credentials than announced",
                ))
            }
        }
    }
}

/// `VAR=value` in a zeroizing buffer.
pub fn env_entry(var: &str, value: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut e = Zeroizing::new(Vec::with_capacity(var.len() + 1 + value.len()));
    e.extend_from_slice(var.as_bytes());
    e.push(b'=');
    e.extend_from_slice(value);
    e
}

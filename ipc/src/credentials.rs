//! `ipc::credentials`: `nono-keyholder` to the credential's consumer
//! (`nono-broker` for `--env-credential`). One direction only: the consumer
//! never sends anything back ([`NoReply`] has no values).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialMessage {
    /// One value, under the name the consumer expects (an environment
    /// variable, or a proxy route); zeroized when dropped.
    Secret {
        name: String,
        value: Zeroizing<Vec<u8>>,
    },
    /// All values were sent.
    Done,
}

/// The (empty) reverse direction of the credentials channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoReply {}

/// Receive exactly the `expected` names, each once, then `Done`.
/// Anything else is an error (a keyholder cannot inject other variables).
pub fn receive_all(
    chan: &crate::Endpoint<NoReply, CredentialMessage>,
    expected: &[String],
) -> crate::Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let mut got: Vec<(String, Zeroizing<Vec<u8>>)> = Vec::new();
    loop {
        match chan.recv_plain()? {
            CredentialMessage::Secret { name, value } => {
                if !expected.contains(&name) || got.iter().any(|(v, _)| *v == name) {
                    return Err(crate::IpcError::Unexpected(
                        "credential for a variable that was not announced",
                    ));
                }
                got.push((name, value));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (
        crate::Endpoint<CredentialMessage, NoReply>,
        crate::Endpoint<NoReply, CredentialMessage>,
    ) {
        crate::socketpair::<CredentialMessage, NoReply>().unwrap()
    }

    fn secret(var: &str) -> CredentialMessage {
        CredentialMessage::Secret {
            name: var.into(),
            value: Zeroizing::new(b"v".to_vec()),
        }
    }

    #[test]
    fn only_announced_variables_once_each() {
        let expected = vec!["A".to_string(), "B".to_string()];
        let (kh, consumer) = pair();
        for m in [secret("A"), secret("B"), CredentialMessage::Done] {
            kh.send(&m, &[]).unwrap();
        }
        assert_eq!(receive_all(&consumer, &expected).unwrap().len(), 2);

        let (kh, consumer) = pair();
        kh.send(&secret("LD_PRELOAD"), &[]).unwrap();
        assert!(
            receive_all(&consumer, &expected).is_err(),
            "unannounced variable"
        );

        let (kh, consumer) = pair();
        for m in [secret("A"), secret("A")] {
            kh.send(&m, &[]).unwrap();
        }
        assert!(receive_all(&consumer, &expected).is_err(), "duplicate");

        let (kh, consumer) = pair();
        for m in [secret("A"), CredentialMessage::Done] {
            kh.send(&m, &[]).unwrap();
        }
        assert!(receive_all(&consumer, &expected).is_err(), "missing");
    }
}

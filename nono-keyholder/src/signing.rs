//! Signing mode (`nono-keyholder --signing`): confined from the start
//! (nothing in a request widens what it needs), then Hello once, then any
//! number of `ipc::signing` requests until the front end closes the
//! channel. Answers carry public keys and signatures only. With
//! `--reference REF` (audit signing), the key it names is the one
//! `ReferencePublicKey` / `ReferenceSign` use; confinement then also allows
//! what REF needs (its file, or the `op` binary).

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use ipc::reference::CredentialRef;
use ipc::signing::{SigningRequest, SigningResponse};
use ipc::Endpoint;

use crate::error::{KeyholderError, Result};
use crate::trustkeys;

type Front = Endpoint<SigningResponse, SigningRequest>;

/// The signing-key reference given at start, and the `op` binary for `op://`.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    reference: Option<CredentialRef>,
    op: Option<PathBuf>,
}

impl Reference {
    /// `--reference REF [--op PATH]` (after `--signing`).
    /// The reference is parsed as the front end parsed it before.
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Result<Reference> {
        let mut r = Reference::default();
        while let Some(flag) = args.next() {
            let Some(value) = args.next() else {
                return Err(KeyholderError::MissingValue(flag));
            };
            match flag.as_str() {
                "--reference" => {
                    let parsed = CredentialRef::parse(&value).map_err(KeyholderError::Reference)?;
                    r.reference = Some(parsed);
                }
                "--op" => r.op = Some(PathBuf::from(value)),
                _ => return Err(KeyholderError::UnknownArgument(flag)),
            }
        }
        Ok(r)
    }
}

/// The channel before confinement; only [`Unconfined::confine`] leads on.
pub struct Unconfined {
    front: Front,
    reference: Reference,
}

/// Confined; only this state serves.
pub struct Confined {
    front: Front,
    reference: Reference,
}

impl Unconfined {
    pub fn new(front: OwnedFd, reference: Reference) -> Unconfined {
        Unconfined {
            front: Endpoint::from_fd(front),
            reference,
        }
    }

    pub fn confine(self) -> Result<Confined> {
        let r = &self.reference;
        let op = r
            .reference
            .as_ref()
            .filter(|r| r.needs_op())
            .and(r.op.as_deref());
        crate::confine::apply(r.reference.iter(), op)?;
        Ok(Confined {
            front: self.front,
            reference: self.reference,
        })
    }
}

impl Confined {
    pub fn serve(self) -> Result<()> {
        self.front.answer_greeting()?;
        loop {
            let request = match self.front.recv_plain() {
                Ok(r) => r,
                Err(ipc::IpcError::Closed) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let answer = answer(request, &self.reference)?;
            self.front.send(&answer, &[])?;
        }
    }
}

fn answer(request: SigningRequest, r: &Reference) -> Result<SigningResponse> {
    let result = match request {
        SigningRequest::Hello { .. } => return Err(KeyholderError::HelloRepeated),
        SigningRequest::Generate { key, replace } => {
            trustkeys::generate(&key, replace).map(|der| SigningResponse::PublicKey { der })
        }
        SigningRequest::PublicKey { key } => {
            trustkeys::public_key(&key).map(|der| SigningResponse::PublicKey { der })
        }
        SigningRequest::SignDigest { key, digest } => {
            trustkeys::sign(&key, &digest).map(|der| SigningResponse::Signature { der })
        }
        SigningRequest::ReferencePublicKey => referenced(r)
            .and_then(|k| trustkeys::public_of(&k))
            .map(|der| SigningResponse::PublicKey { der }),
        SigningRequest::ReferenceSign { digest } => referenced(r)
            .and_then(|k| trustkeys::sign_with(&k, &digest))
            .map(|der| SigningResponse::Signature { der }),
    };
    Ok(result.unwrap_or_else(|(kind, message)| SigningResponse::Failed { kind, message }))
}

/// Load the key the start-up reference names (dropped, zeroized, after use).
fn referenced(
    r: &Reference,
) -> std::result::Result<p256::ecdsa::SigningKey, crate::backends::Failure> {
    let Some(reference) = r.reference.as_ref() else {
        return Err((
            ipc::keyholder::FailureKind::Unsupported,
            "no signing-key reference was given at start".into(),
        ));
    };
    trustkeys::load_reference(reference, r.op.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Reference> {
        Reference::from_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn the_start_up_reference_is_parsed_by_the_shared_parser() {
        let r = args(&["--reference", "file:///k.pem", "--op", "/usr/bin/op"]).unwrap();
        assert_eq!(r.reference, Some(CredentialRef::File("/k.pem".into())));
        assert!(matches!(
            args(&["--reference", "file://rel.pem"]),
            Err(KeyholderError::Reference(_))
        ));
        assert!(matches!(
            args(&["--reference"]),
            Err(KeyholderError::MissingValue(_))
        ));
        assert!(matches!(
            args(&["--bogus", "x"]),
            Err(KeyholderError::UnknownArgument(_))
        ));
    }
}

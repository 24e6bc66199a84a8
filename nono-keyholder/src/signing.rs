//! Signing mode (`nono-keyholder --signing`): confined from the start
//! (nothing in a request widens what it needs), then Hello once, then any
//! number of `ipc::signing` requests until the front end closes the
//! channel. Answers carry public keys and signatures only. With
//! `--reference REF` (audit signing), the key it names is the one
//! `ReferencePublicKey` / `ReferenceSign` use; confinement then also allows
//! what REF needs (its file, or the `op` binary).

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use ipc::keyholder::CredentialItem;

use ipc::signing::{SigningRequest, SigningResponse};
use ipc::Endpoint;

use crate::trustkeys;

type Front = Endpoint<SigningResponse, SigningRequest>;

/// The signing-key reference given at start, and the `op` binary for `op://`.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    reference: Option<String>,
    op: Option<PathBuf>,
}

impl Reference {
    /// `--reference REF [--op PATH]` (after `--signing`).
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Result<Reference, String> {
        let mut r = Reference::default();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--reference" => r.reference = Some(value),
                "--op" => r.op = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument {flag}")),
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

fn err(e: ipc::IpcError) -> String {
    format!("channel: {e}")
}

impl Unconfined {
    pub fn new(front: OwnedFd, reference: Reference) -> Unconfined {
        Unconfined {
            front: Endpoint::from_fd(front),
            reference,
        }
    }

    pub fn confine(self) -> Result<Confined, String> {
        let items: Vec<CredentialItem> = self
            .reference
            .reference
            .iter()
            .map(|r| CredentialItem {
                reference: r.clone(),
                var: String::new(),
            })
            .collect();
        let op = self
            .reference
            .reference
            .as_deref()
            .filter(|r| r.starts_with("op://"))
            .and(self.reference.op.as_deref());
        crate::confine::apply(&items, op)?;
        Ok(Confined {
            front: self.front,
            reference: self.reference,
        })
    }
}

impl Confined {
    pub fn serve(self) -> Result<(), String> {
        self.front.answer_greeting().map_err(err)?;
        loop {
            let request = match self.front.recv_plain() {
                Ok(r) => r,
                Err(ipc::IpcError::Closed) => return Ok(()),
                Err(e) => return Err(err(e)),
            };
            let answer = answer(request, &self.reference)?;
            self.front.send(&answer, &[]).map_err(err)?;
        }
    }
}

fn answer(request: SigningRequest, r: &Reference) -> Result<SigningResponse, String> {
    let result = match request {
        SigningRequest::Hello { .. } => return Err("Hello repeated".into()),
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
fn referenced(r: &Reference) -> Result<p256::ecdsa::SigningKey, crate::backends::Failure> {
    let Some(reference) = r.reference.as_deref() else {
        return Err((
            ipc::keyholder::FailureKind::Unsupported,
            "no signing-key reference was given at start".into(),
        ));
    };
    trustkeys::load_reference(reference, r.op.as_deref())
}

//! Signing mode (`nono-keyholder --signing`): confined from the start
//! (nothing in a request widens what it needs), then Hello once, then any
//! number of `ipc::signing` requests until the front end closes the
//! channel. Answers carry public keys and signatures only.

use std::os::fd::OwnedFd;

use ipc::signing::{SigningRequest, SigningResponse};
use ipc::{Endpoint, PROTOCOL_VERSION};

use crate::trustkeys;

type Front = Endpoint<SigningResponse, SigningRequest>;

/// The channel before confinement; only [`Unconfined::confine`] leads on.
pub struct Unconfined {
    front: Front,
}

/// Confined; only this state serves.
pub struct Confined {
    front: Front,
}

fn err(e: ipc::IpcError) -> String {
    format!("channel: {e}")
}

impl Unconfined {
    pub fn new(front: OwnedFd) -> Unconfined {
        Unconfined {
            front: Endpoint::from_fd(front),
        }
    }

    pub fn confine(self) -> Result<Confined, String> {
        crate::confine::apply(&[], None)?;
        Ok(Confined { front: self.front })
    }
}

impl Confined {
    pub fn serve(self) -> Result<(), String> {
        match self.front.recv_plain().map_err(err)? {
            SigningRequest::Hello { version } if version == PROTOCOL_VERSION => {}
            SigningRequest::Hello { version } => return Err(format!("protocol version {version}")),
            SigningRequest::Generate { .. }
            | SigningRequest::PublicKey { .. }
            | SigningRequest::SignDigest { .. } => return Err("expected Hello first".into()),
        }
        let hello = SigningResponse::Hello {
            version: PROTOCOL_VERSION,
        };
        self.front.send(&hello, &[]).map_err(err)?;
        loop {
            let request = match self.front.recv_plain() {
                Ok(r) => r,
                Err(ipc::IpcError::Closed) => return Ok(()),
                Err(e) => return Err(err(e)),
            };
            let answer = answer(request)?;
            self.front.send(&answer, &[]).map_err(err)?;
        }
    }
}

fn answer(request: SigningRequest) -> Result<SigningResponse, String> {
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
    };
    Ok(result.unwrap_or_else(|(kind, message)| SigningResponse::Failed { kind, message }))
}

//! The keyholder's lifecycle: handshake and request (unconfined) →
//! confined → fetch and deliver once (a `Locked` failure may be retried
//! with the identical request after the user unlocked the keystore).

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use ipc::credentials::{CredentialMessage, NoReply};
use ipc::keyholder::{CredentialItem, FailureKind, KeyholderRequest, KeyholderResponse};
use ipc::reference::CredentialRef;
use ipc::Endpoint;
use zeroize::Zeroizing;

use crate::backends;
use crate::error::{KeyholderError, Result};

type Front = Endpoint<KeyholderResponse, KeyholderRequest>;
type Consumer = Endpoint<CredentialMessage, NoReply>;

pub struct Unconfined {
    front: Front,
    consumer: Consumer,
    pub items: Vec<CredentialItem>,
    pub op: Option<PathBuf>,
}

pub struct Confined {
    front: Front,
    consumer: Consumer,
    items: Vec<CredentialItem>,
    op: Option<PathBuf>,
}

fn fetch_request(front: &Front) -> Result<(Vec<CredentialItem>, Option<PathBuf>)> {
    match front.recv_plain()? {
        KeyholderRequest::Fetch { items, op } => Ok((items, op.map(PathBuf::from))),
        KeyholderRequest::Hello { .. } => Err(KeyholderError::ExpectedFetch),
    }
}

impl Unconfined {
    pub fn handshake(front: OwnedFd, consumer: OwnedFd) -> Result<Unconfined> {
        let front: Front = Endpoint::from_fd(front);
        front.answer_greeting()?;
        let (items, op) = fetch_request(&front)?;
        Ok(Unconfined {
            front,
            consumer: Endpoint::from_fd(consumer),
            items,
            op,
        })
    }

    pub fn confine(self) -> Result<Confined> {
        crate::confine::apply(self.items.iter().map(|i| &i.reference), self.op.as_deref())?;
        Ok(Confined {
            front: self.front,
            consumer: self.consumer,
            items: self.items,
            op: self.op,
        })
    }
}

impl Confined {
    pub fn serve(self) -> Result<()> {
        loop {
            match fetch_all(&self.items, self.op.as_deref()) {
                Ok(values) => return self.deliver(values),
                Err((reference, (kind, message))) => {
                    self.front.send(
                        &KeyholderResponse::Failed {
                            reference,
                            kind,
                            message,
                        },
                        &[],
                    )?;
                    if kind != FailureKind::Locked {
                        return Ok(());
                    }
                    // The user may unlock and ask again, with the same request.
                    match fetch_request(&self.front) {
                        Ok((items, _)) if items == self.items => continue,
                        Ok(_) => return Err(KeyholderError::RetryDiffers),
                        Err(_) => return Ok(()),
                    }
                }
            }
        }
    }

    fn deliver(self, values: Fetched) -> Result<()> {
        let count = values.len() as u32;
        for (name, value) in values {
            self.consumer
                .send(&CredentialMessage::Secret { name, value }, &[])?;
        }
        self.consumer.send(&CredentialMessage::Done, &[])?;
        Ok(self
            .front
            .send(&KeyholderResponse::Delivered { count }, &[])?)
    }
}

type Fetched = Vec<(String, Zeroizing<Vec<u8>>)>;

/// All or nothing: the first failure stops and nothing is delivered.
fn fetch_all(
    items: &[CredentialItem],
    op: Option<&std::path::Path>,
) -> std::result::Result<Fetched, (CredentialRef, backends::Failure)> {
    items
        .iter()
        .map(|i| {
            backends::resolve(&i.reference, op)
                .map(|v| (i.target.name().to_string(), v))
                .map_err(|f| (i.reference.clone(), f))
        })
        .collect()
}

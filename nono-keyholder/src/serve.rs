//! The keyholder's lifecycle: handshake and request (unconfined) →
//! confined → fetch and deliver once (a `Locked` failure may be retried
//! with the identical request after the user unlocked the keystore).

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use ipc::credentials::{CredentialMessage, NoReply};
use ipc::keyholder::{CredentialItem, FailureKind, KeyholderRequest, KeyholderResponse};
use ipc::Endpoint;
use zeroize::Zeroizing;

use crate::backends;

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

fn err(e: ipc::IpcError) -> String {
    format!("channel: {e}")
}

fn fetch_request(front: &Front) -> Result<(Vec<CredentialItem>, Option<PathBuf>), String> {
    match front.recv_plain().map_err(err)? {
        KeyholderRequest::Fetch { items, op } => Ok((items, op.map(PathBuf::from))),
        KeyholderRequest::Hello { .. } => Err("expected Fetch".into()),
    }
}

impl Unconfined {
    pub fn handshake(front: OwnedFd, consumer: OwnedFd) -> Result<Unconfined, String> {
        let front: Front = Endpoint::from_fd(front);
        front.answer_greeting().map_err(err)?;
        let (items, op) = fetch_request(&front)?;
        Ok(Unconfined {
            front,
            consumer: Endpoint::from_fd(consumer),
            items,
            op,
        })
    }

    pub fn confine(self) -> Result<Confined, String> {
        crate::confine::apply(&self.items, self.op.as_deref())?;
        Ok(Confined {
            front: self.front,
            consumer: self.consumer,
            items: self.items,
            op: self.op,
        })
    }
}

impl Confined {
    pub fn serve(self) -> Result<(), String> {
        loop {
            match fetch_all(&self.items, self.op.as_deref()) {
                Ok(values) => return self.deliver(values),
                Err((reference, (kind, message))) => {
                    self.front
                        .send(
                            &KeyholderResponse::Failed {
                                reference,
                                kind,
                                message,
                            },
                            &[],
                        )
                        .map_err(err)?;
                    if kind != FailureKind::Locked {
                        return Ok(());
                    }
                    // The user may unlock and ask again, with the same request.
                    match fetch_request(&self.front) {
                        Ok((items, _)) if items == self.items => continue,
                        Ok(_) => return Err("a retry must repeat the original request".into()),
                        Err(_) => return Ok(()),
                    }
                }
            }
        }
    }

    fn deliver(self, values: Vec<(String, Zeroizing<Vec<u8>>)>) -> Result<(), String> {
        let count = values.len() as u32;
        for (var, value) in values {
            self.consumer
                .send(&CredentialMessage::Secret { var, value }, &[])
                .map_err(err)?;
        }
        self.consumer
            .send(&CredentialMessage::Done, &[])
            .map_err(err)?;
        self.front
            .send(&KeyholderResponse::Delivered { count }, &[])
            .map_err(err)
    }
}

type Fetched = Vec<(String, Zeroizing<Vec<u8>>)>;

/// All or nothing: the first failure stops and nothing is delivered.
fn fetch_all(
    items: &[CredentialItem],
    op: Option<&std::path::Path>,
) -> Result<Fetched, (String, backends::Failure)> {
    items
        .iter()
        .map(|i| {
            backends::resolve(&i.reference, op)
                .map(|v| (i.var.clone(), v))
                .map_err(|f| (i.reference.clone(), f))
        })
        .collect()
}

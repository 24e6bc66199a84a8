//! The version handshake every channel opens with: the front end sends
//! `Hello { version }`, the helper checks it and answers with its own.
//! Written once here for every message family; a mismatch is
//! [`IpcError::Version`], anything else first is [`IpcError::Unexpected`].

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{broker, keyholder, proxy, signing};
use crate::{Endpoint, IpcError, Result, PROTOCOL_VERSION};

/// A message family whose first message each way is `Hello { version }`.
pub trait Hello: Sized {
    fn hello(version: u32) -> Self;
    /// `Some(version)` when this message is `Hello`.
    fn version(&self) -> Option<u32>;
}

macro_rules! hello {
    ($($t:ty),*) => {$(
        impl Hello for $t {
            fn hello(version: u32) -> Self {
                Self::Hello { version }
            }
            fn version(&self) -> Option<u32> {
                match self {
                    Self::Hello { version } => Some(*version),
                    _ => None,
                }
            }
        }
    )*};
}

hello!(
    broker::BrokerRequest,
    broker::BrokerResponse,
    proxy::ProxyRequest,
    proxy::ProxyResponse,
    keyholder::KeyholderRequest,
    keyholder::KeyholderResponse,
    signing::SigningRequest,
    signing::SigningResponse
);

/// Whether `msg` is a `Hello` of our version.
fn check<M: Hello>(msg: &M) -> Result<()> {
    match msg.version() {
        Some(PROTOCOL_VERSION) => Ok(()),
        Some(theirs) => Err(IpcError::Version {
            ours: PROTOCOL_VERSION,
            theirs,
        }),
        None => Err(IpcError::Unexpected("expected Hello first")),
    }
}

impl<S: Serialize + Hello, R: DeserializeOwned + Hello> Endpoint<S, R> {
    /// The front end's side: send `Hello`, expect one of our version back.
    pub fn greet(&self) -> Result<()> {
        self.send(&S::hello(PROTOCOL_VERSION), &[])?;
        check(&self.recv_plain()?)
    }

    /// A helper's side: expect `Hello` of our version first, answer it.
    pub fn answer_greeting(&self) -> Result<()> {
        check(&self.recv_plain()?)?;
        self.send(&S::hello(PROTOCOL_VERSION), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{BrokerRequest, BrokerResponse};

    #[test]
    fn matching_versions_greet() {
        let (front, helper) = crate::socketpair::<BrokerRequest, BrokerResponse>().unwrap();
        let t = std::thread::spawn(move || helper.answer_greeting());
        front.greet().unwrap();
        t.join().unwrap().unwrap();
    }

    #[test]
    fn another_version_is_a_version_error() {
        let (front, helper) = crate::socketpair::<BrokerRequest, BrokerResponse>().unwrap();
        front
            .send(&BrokerRequest::Hello { version: 999 }, &[])
            .unwrap();
        match helper.answer_greeting() {
            Err(IpcError::Version { ours, theirs }) => {
                assert_eq!((ours, theirs), (PROTOCOL_VERSION, 999))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_first_is_unexpected() {
        let (front, helper) = crate::socketpair::<BrokerRequest, BrokerResponse>().unwrap();
        front.send(&BrokerRequest::Resume, &[]).unwrap();
        assert!(matches!(
            helper.answer_greeting(),
            Err(IpcError::Unexpected(_))
        ));
    }
}

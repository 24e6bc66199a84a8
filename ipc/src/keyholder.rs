//! `ipc::keyholder`: the front end and `nono-keyholder`.
//!
//! The front end asks for credentials by reference; the keyholder sends the
//! values only to their consumer (see [`crate::credentials`]) and tells the
//! front end how it went, never the values.

use serde::{Deserialize, Serialize};

use crate::reference::CredentialRef;

/// One credential to fetch and what its consumer knows it as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialItem {
    /// Where the secret lives, parsed by the front end.
    pub reference: CredentialRef,
    pub target: Target,
}

/// The name a secret is delivered under on the credentials channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// The agent's environment variable (consumer: the broker, or nono
    /// itself in `wrap`).
    EnvVar(String),
    /// The proxy's credential route ([`crate::proxy::Route::name`]).
    Route(String),
}

impl Target {
    /// The name on the credentials channel ([`crate::credentials`]).
    pub fn name(&self) -> &str {
        match self {
            Target::EnvVar(n) | Target::Route(n) => n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyholderRequest {
    Hello {
        version: u32,
    },
    /// Fetch all items and deliver them to the consumer; may be repeated
    /// after a `Locked` failure (the user unlocked the keystore).
    Fetch {
        items: Vec<CredentialItem>,
        /// The 1Password CLI, resolved by the front end, if any item needs it.
        op: Option<String>,
    },
}

/// Why a reference could not be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    NotFound,
    Locked,
    Multiple,
    Unsupported,
    Backend,
    /// A key to create exists already (`ipc::signing`).
    Exists,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyholderResponse {
    Hello {
        version: u32,
    },
    /// Every item was sent to the consumer.
    Delivered {
        count: u32,
    },
    Failed {
        reference: CredentialRef,
        kind: FailureKind,
        message: String,
    },
}

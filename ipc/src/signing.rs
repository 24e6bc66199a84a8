//! `ipc::signing`: the front end and `nono-keyholder` for keystore-held
//! signing keys (ECDSA P-256).
//!
//! The keyholder creates keys in the keystore and signs 32-byte digests
//! with them. Its answers carry only public keys (DER
//! SubjectPublicKeyInfo) and signatures (DER): no response type has room
//! for a private key, so the front end cannot receive one. The caller
//! computes what it wants signed (for trust bundles, the SHA-256 of the
//! DSSE pre-authentication encoding); audit attestations reuse the same
//! requests.
//!
//! Audit signing keys may also be named by a secret reference
//! ([`CredentialRef`]: `file://`, `env://`, `op://`, `keyring://`; a bare
//! name or `keystore://NAME` is a keystore key as above). The reference is given
//! to the keyholder when it starts (`--reference REF`), so it can confine
//! itself to what that reference needs before any request;
//! [`SigningRequest::ReferencePublicKey`] and
//! [`SigningRequest::ReferenceSign`] then act on that key.

use serde::{Deserialize, Serialize};

pub use crate::keyholder::FailureKind;
use crate::reference::CredentialRef;

/// Longest key name.
pub const MAX_KEY_NAME: usize = 64;

/// A key name: 1..=64 of `A-Z a-z 0-9 . _ -`, not starting with `.` or `-`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY_NAME
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningRequest {
    Hello {
        version: u32,
    },
    /// Create key `key` in the keystore; an existing one is replaced only
    /// with `replace`. Answered with its public key.
    Generate {
        key: String,
        replace: bool,
    },
    /// The public key of `key`.
    PublicKey {
        key: String,
    },
    /// Sign `digest` (already hashed) with `key`.
    SignDigest {
        key: String,
        digest: [u8; 32],
    },
    /// The public key of the key named by the start-up reference.
    ReferencePublicKey,
    /// Sign `digest` with the key named by the start-up reference.
    ReferenceSign {
        digest: [u8; 32],
    },
}

/// Whether `r` may name an audit signing key: every form but the kernel
/// keyring's. A [`CredentialRef::Keystore`] name is a trust key's name.
pub fn may_name_signing_key(r: &CredentialRef) -> bool {
    match r {
        CredentialRef::Kernel(_) => false,
        CredentialRef::Keystore(_)
        | CredentialRef::Keyring { .. }
        | CredentialRef::Env(_)
        | CredentialRef::File(_)
        | CredentialRef::OnePassword(_) => true,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningResponse {
    Hello {
        version: u32,
    },
    /// DER SubjectPublicKeyInfo.
    PublicKey {
        der: Vec<u8>,
    },
    /// A DER ECDSA signature over the requested digest.
    Signature {
        der: Vec<u8>,
    },
    Failed {
        kind: FailureKind,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        for ok in ["default", "ci-2024", "a.b_c", "X"] {
            assert!(valid_key_name(ok), "{ok}");
        }
        let long = "k".repeat(MAX_KEY_NAME + 1);
        for bad in ["", "-x", ".x", "a/b", "a b", "a:b", "ü", long.as_str()] {
            assert!(!valid_key_name(bad), "{bad}");
        }
    }

    #[test]
    fn references() {
        let r = |s: &str| CredentialRef::parse(s).unwrap();
        for ok in [
            "default",
            "keystore://ci",
            "file:///k.pem",
            "env://K",
            "op://v/i/f",
        ] {
            assert!(may_name_signing_key(&r(ok)), "{ok}");
        }
        assert!(!may_name_signing_key(&r("kernel://x")));
    }

    #[test]
    fn round_trip() {
        let m = SigningRequest::SignDigest {
            key: "default".into(),
            digest: [9; 32],
        };
        let bytes = crate::codec::encode(&m).unwrap();
        assert_eq!(crate::codec::decode::<SigningRequest>(&bytes).unwrap(), m);
    }
}

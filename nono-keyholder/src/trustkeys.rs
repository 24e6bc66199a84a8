//! Keystore-held ECDSA P-256 signing keys.
//!
//! A key lives in the Secret Service as PKCS#8 PEM under service `nono`,
//! account `trust-key:NAME`, with the attribute `nono-kind` =
//! `trust-signing-key` (so it is never confused with an API-key account)
//! and a label naming it. The private key exists only in this process,
//! in zeroizing buffers and in `SigningKey` (zeroized on drop); what
//! leaves is the public key or a signature.

use ipc::keyholder::FailureKind;
use ipc::reference::CredentialRef;
use keyring::{secret_service::SsCredential, Entry};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use zeroize::Zeroizing;

use std::path::Path;

use crate::backends::{self, keystore, Failure};

const KIND_ATTRIBUTE: &str = "nono-kind";
const KIND: &str = "trust-signing-key";

fn entry(name: &str) -> Result<Entry, Failure> {
    if !ipc::signing::valid_key_name(name) {
        return Err((
            FailureKind::Unsupported,
            format!("invalid key name '{name}'"),
        ));
    }
    let account = format!("trust-key:{name}");
    let mut cred =
        SsCredential::new_with_target(None, "nono", &account).map_err(|e| keystore(name, e))?;
    cred.attributes.insert(KIND_ATTRIBUTE.into(), KIND.into());
    cred.label = format!("nono trust signing key '{name}'");
    Ok(Entry::new_with_credential(Box::new(cred)))
}

fn public_der(key: &SigningKey) -> Result<Vec<u8>, Failure> {
    key.verifying_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| (FailureKind::Backend, format!("public key: {e}")))
}

/// Create key `name` (replacing it only with `replace`); its public key.
pub fn generate(name: &str, replace: bool) -> Result<Vec<u8>, Failure> {
    let entry = entry(name)?;
    if !replace {
        // Attributes only: an existing private key is never read here.
        match entry.get_attributes() {
            Ok(_) => {
                return Err((
                    FailureKind::Exists,
                    format!("signing key '{name}' already exists in the keystore"),
                ))
            }
            Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(keystore(name, e)),
        }
    }
    let key = SigningKey::random(&mut rand_core::OsRng);
    let pem: Zeroizing<String> = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| (FailureKind::Backend, format!("encoding the key: {e}")))?;
    entry
        .set_secret(pem.as_bytes())
        .map_err(|e| keystore(name, e))?;
    public_der(&key)
}

fn load(name: &str) -> Result<SigningKey, Failure> {
    let secret = Zeroizing::new(entry(name)?.get_secret().map_err(|e| keystore(name, e))?);
    let corrupt = || {
        (
            FailureKind::Backend,
            format!("keystore item for signing key '{name}' is not a P-256 private key"),
        )
    };
    let pem = std::str::from_utf8(&secret).map_err(|_| corrupt())?;
    SigningKey::from_pkcs8_pem(pem).map_err(|_| corrupt())
}

/// The public key of `name`.
pub fn public_key(name: &str) -> Result<Vec<u8>, Failure> {
    public_der(&load(name)?)
}

/// A DER signature over `digest` with `name`.
pub fn sign(name: &str, digest: &[u8; 32]) -> Result<Vec<u8>, Failure> {
    sign_with(&load(name)?, digest)
}

pub fn public_of(key: &SigningKey) -> Result<Vec<u8>, Failure> {
    public_der(key)
}

/// A DER signature over `digest` with `key`.
pub fn sign_with(key: &SigningKey, digest: &[u8; 32]) -> Result<Vec<u8>, Failure> {
    let sig: Signature = key
        .sign_prehash(digest)
        .map_err(|e| (FailureKind::Backend, format!("signing: {e}")))?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// The key a signing-key reference names: a keystore trust key (bare name
/// or `keystore://NAME`), or a P-256 private key in PEM (PKCS#8 or SEC1)
/// read like a credential (`file://`, `env://`, `op://`, `keyring://`).
/// Errors never quote what was read.
pub fn load_reference(reference: &CredentialRef, op: Option<&Path>) -> Result<SigningKey, Failure> {
    if let CredentialRef::Keystore(name) = reference {
        return load(name);
    }
    if !ipc::signing::may_name_signing_key(reference) {
        return Err((
            FailureKind::Unsupported,
            format!(
                "{reference}: this kind of reference cannot name a signing key (use NAME, \
                 keystore://NAME, file:///PATH, env://VAR, op://..., keyring://SERVICE/ACCOUNT)"
            ),
        ));
    }
    let secret = backends::resolve(reference, op)?;
    let not_key = || {
        (
            FailureKind::Backend,
            "what it names is not an ECDSA P-256 private key in PEM (PKCS#8 or SEC1)".to_string(),
        )
    };
    let pem = std::str::from_utf8(&secret).map_err(|_| not_key())?;
    SigningKey::from_pkcs8_pem(pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(pem).map(SigningKey::from))
        .map_err(|_| not_key())
}

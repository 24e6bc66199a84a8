//! The audit signing key (`--audit-sign-key REF`), held by
//! `nono-keyholder`: before the session a keyholder loads the key once to
//! give its public half (a bad or unreachable key fails before the command
//! runs) and exits; at the end another one is given the attestation's
//! digest and gives the signature back, which is checked against that
//! public key. Neither lives through the session: the supervisor kills and
//! reaps every child it did not start itself. No private key is ever in
//! this process.

use anyhow::{bail, Context, Result};
use ipc::reference::CredentialRef;
use trust::{keys, Signer, TrustError};

use crate::trust_cmd::keystore::Keyholder;

/// The host variable an `env://` signing key is read from: it never
/// reaches the command.
pub fn source_var(args: &super::args::RecordArgs) -> Option<String> {
    let reference = CredentialRef::parse(args.audit_sign_key.as_deref()?).ok()?;
    reference.env_var().map(str::to_string)
}

/// A [`Signer`] for one signing-key reference.
#[derive(Debug)]
pub struct AuditSigner {
    reference: CredentialRef,
    key_id: String,
    public_der: Vec<u8>,
}

/// The forms `--audit-sign-key` accepts, checked (parsed, once) before
/// anything starts.
fn check_form(reference: &str) -> Result<CredentialRef> {
    const FORMS: &str = "expected a trust key id (NAME or keystore://NAME), file:///PATH, \
         env://VAR, op://VAULT/ITEM/FIELD, keyring://SERVICE/ACCOUNT or \
         apple-password://SERVER/ACCOUNT";
    let parsed = match CredentialRef::parse(reference) {
        Ok(r) => r,
        Err(e @ ipc::IpcError::Reference { .. }) => bail!("--audit-sign-key {e}"),
        Err(e @ ipc::IpcError::MacOnlyReference) => bail!("--audit-sign-key {reference}: {e}"),
        Err(_) => bail!("--audit-sign-key {reference}: {FORMS}"),
    };
    match &parsed {
        CredentialRef::Keystore(name) if !ipc::signing::valid_key_name(name) => bail!(
            "--audit-sign-key {reference}: invalid key name '{name}' (1-64 letters, digits, \
             '.', '_' or '-')"
        ),
        r if !ipc::signing::may_name_signing_key(r) => {
            bail!("--audit-sign-key {reference}: {FORMS}")
        }
        _ => Ok(parsed),
    }
}

/// `--audit-sign-key`'s form, as a run checks it first (for `--dry-run`).
pub fn check(args: &super::args::RecordArgs) -> Result<()> {
    match args.audit_sign_key.as_deref() {
        Some(text) => check_form(text).map(|_| ()),
        None => Ok(()),
    }
}

/// The id recorded with the attestation: the key name, a file's stem, or
/// the reference itself (never a secret: it only says where the key is).
fn key_id(reference: &CredentialRef) -> String {
    match reference {
        CredentialRef::Keystore(name) => name.clone(),
        CredentialRef::File(path) => match std::path::Path::new(path).file_stem() {
            Some(stem) => stem.to_string_lossy().into_owned(),
            None => reference.to_string(),
        },
        other => other.to_string(),
    }
}

impl AuditSigner {
    /// Start the keyholder for `reference` and read the key's public half.
    pub fn open(text: &str) -> Result<AuditSigner> {
        let reference = check_form(text)?;
        let keyholder = Keyholder::start_with(Some(&reference))
            .with_context(|| format!("--audit-sign-key {text}"))?;
        let public_der = keyholder
            .reference_public_key(&reference)
            .with_context(|| format!("--audit-sign-key {text}"))?;
        drop(keyholder); // waits for it to exit
        Ok(AuditSigner {
            key_id: key_id(&reference),
            reference,
            public_der,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl Signer for AuditSigner {
    fn public_key_der(&self) -> Vec<u8> {
        self.public_der.clone()
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> trust::Result<Vec<u8>> {
        let sig = Keyholder::start_with(Some(&self.reference))
            .and_then(|k| k.reference_sign(&self.reference, digest))
            .map_err(|e| TrustError::Sign(format!("{e:#}")))?;
        // Fail closed if the key changed since the session started.
        keys::verify_digest(&self.public_der, digest, &sig)?;
        Ok(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        for ok in [
            "default",
            "keystore://ci",
            "file:///k.pem",
            "env://K",
            "op://v/i/f",
            "keyring://s/a",
        ] {
            assert!(check_form(ok).is_ok(), "{ok}");
        }
        for bad in ["file://k.pem", "kernel://x", "http://x", "a/b", ""] {
            assert!(check_form(bad).is_err(), "{bad}");
        }
        let id = |r: &str| key_id(&check_form(r).unwrap());
        assert_eq!(id("file:///keys/audit.pem"), "audit");
        assert_eq!(id("keystore://ci"), "ci");
        assert_eq!(id("env://K"), "env://K");
    }
}

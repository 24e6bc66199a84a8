//! The audit signing key (`--audit-sign-key REF`), held by
//! `nono-keyholder`: before the session a keyholder loads the key once to
//! give its public half (a bad or unreachable key fails before the command
//! runs) and exits; at the end another one is given the attestation's
//! digest and gives the signature back, which is checked against that
//! public key. Neither lives through the session: the supervisor kills and
//! reaps every child it did not start itself. No private key is ever in
//! this process.

use anyhow::{bail, Context, Result};
use trust::{keys, Signer, TrustError};

use crate::trust_cmd::keystore::Keyholder;

/// The host variable an `env://` signing key is read from: it never
/// reaches the command.
pub fn source_var(args: &super::args::RecordArgs) -> Option<String> {
    args.audit_sign_key
        .as_deref()
        .and_then(|r| r.strip_prefix("env://"))
        .map(str::to_string)
}

/// A [`Signer`] for one signing-key reference.
#[derive(Debug)]
pub struct AuditSigner {
    reference: String,
    key_id: String,
    public_der: Vec<u8>,
}

/// The forms `--audit-sign-key` accepts, checked before anything starts.
fn check_form(reference: &str) -> Result<()> {
    if let Some(name) = ipc::signing::keystore_name(reference) {
        if !ipc::signing::valid_key_name(name) {
            bail!(
                "--audit-sign-key {reference}: invalid key name '{name}' (1-64 letters, digits, \
                 '.', '_' or '-')"
            );
        }
        return Ok(());
    }
    if let Some(path) = reference.strip_prefix("file://") {
        if !path.starts_with('/') {
            bail!(
                "--audit-sign-key {reference}: a file reference needs an absolute path (file:///PATH)"
            );
        }
        return Ok(());
    }
    if ipc::signing::REFERENCE_SCHEMES
        .iter()
        .any(|s| reference.starts_with(s))
    {
        return Ok(());
    }
    bail!(
        "--audit-sign-key {reference}: expected a trust key id (NAME or keystore://NAME), \
         file:///PATH, env://VAR, op://VAULT/ITEM/FIELD, keyring://SERVICE/ACCOUNT or \
         apple-password://SERVER/ACCOUNT"
    )
}

/// The id recorded with the attestation: the key name, a file's stem, or
/// the reference itself (never a secret: it only says where the key is).
fn key_id(reference: &str) -> String {
    if let Some(name) = ipc::signing::keystore_name(reference) {
        return name.to_string();
    }
    if let Some(path) = reference.strip_prefix("file://") {
        if let Some(stem) = std::path::Path::new(path).file_stem() {
            return stem.to_string_lossy().into_owned();
        }
    }
    reference.to_string()
}

impl AuditSigner {
    /// Start the keyholder for `reference` and read the key's public half.
    pub fn open(reference: &str) -> Result<AuditSigner> {
        check_form(reference)?;
        let keyholder = Keyholder::start_with(Some(reference))
            .with_context(|| format!("--audit-sign-key {reference}"))?;
        let public_der = keyholder
            .reference_public_key(reference)
            .with_context(|| format!("--audit-sign-key {reference}"))?;
        drop(keyholder); // waits for it to exit
        Ok(AuditSigner {
            reference: reference.to_string(),
            key_id: key_id(reference),
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
        assert_eq!(key_id("file:///keys/audit.pem"), "audit");
        assert_eq!(key_id("keystore://ci"), "ci");
        assert_eq!(key_id("env://K"), "env://K");
    }
}

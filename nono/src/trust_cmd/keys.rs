//! Which key signs: a PEM file the user names (`--keyref file:///PATH`) or
//! a keystore key (`--key`/`--id NAME`, `keystore://NAME`), whose private
//! half stays in `nono-keyholder` (`keystore.rs`).

use crate::out::{out, outln};
use crate::stderr::errln;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipc::reference::CredentialRef;
use trust::{keys, LocalKey, Signer};
use zeroize::Zeroizing;

use super::keystore::{Keyholder, KeystoreSigner};

/// Where a signing key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Keystore(String),
}

impl KeySource {
    /// From `--keyref` (wins) or the keystore name (default `default`).
    pub fn new(keyref: Option<&str>, name: Option<&str>, name_flag: &str) -> Result<KeySource> {
        let Some(r) = keyref else {
            return Ok(KeySource::Keystore(name.unwrap_or("default").to_string()));
        };
        // A bare name is the keystore's, but --keyref asks for a URL.
        let parsed = r.contains("://").then(|| CredentialRef::parse(r));
        match parsed {
            Some(Ok(CredentialRef::File(p))) => Ok(KeySource::File(PathBuf::from(p))),
            Some(Ok(CredentialRef::Keystore(n))) => Ok(KeySource::Keystore(n)),
            Some(Err(e @ ipc::IpcError::Reference { .. })) => bail!("--keyref {e}"),
            _ => bail!(
                "--keyref {r}: expected file:///PATH or keystore://NAME (or use {name_flag} NAME)"
            ),
        }
    }

    /// The key's name, recorded in bundles and policies: the keystore name,
    /// or the file's stem (never the path, which bundles would publish).
    pub fn key_id(&self) -> String {
        match self {
            KeySource::Keystore(n) => n.clone(),
            KeySource::File(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file-key".into()),
        }
    }

    pub fn signer(&self) -> Result<Box<dyn Signer>> {
        match self {
            KeySource::File(p) => Ok(Box::new(read_pem(p)?)),
            KeySource::Keystore(n) => Ok(Box::new(KeystoreSigner::open(n)?)),
        }
    }

    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        match self {
            KeySource::File(p) => Ok(read_pem(p)?.public_key_der()),
            KeySource::Keystore(n) => Keyholder::start()?.public_key(n),
        }
    }
}

fn read_pem(path: &Path) -> Result<LocalKey> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("--keyref: cannot read the key file {}", path.display()))?,
    );
    LocalKey::from_pem(&text).with_context(|| format!("--keyref {}", path.display()))
}

/// `nono trust keygen`.
pub fn keygen(source: &KeySource, force: bool) -> Result<i32> {
    let path = match source {
        KeySource::File(p) => p,
        KeySource::Keystore(n) => return keygen_keystore(n, force),
    };
    let key = LocalKey::generate();
    let pem = key.to_pem()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(0o600);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        ),
        _ => anyhow::anyhow!("cannot create the key file {}: {e}", path.display()),
    })?;
    f.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    errln!(
        "Generated an ECDSA P-256 key pair: {} (private, mode 0600)",
        path.display()
    );
    outln!("{}", keys::public_key_base64(&key.public_key_der()));
    Ok(0)
}

/// `nono trust keygen [--id NAME]`: the keyholder creates and keeps it.
fn keygen_keystore(name: &str, force: bool) -> Result<i32> {
    let der = Keyholder::start()?.generate(name, force)?;
    errln!(
        "Generated an ECDSA P-256 key pair '{name}' in the system keystore (held by nono-keyholder)"
    );
    outln!("{}", keys::public_key_base64(&der));
    Ok(0)
}

/// `nono trust export-key`.
pub fn export(source: &KeySource, pem: bool) -> Result<i32> {
    let der = source.public_key_der()?;
    if pem {
        out!("{}", keys::public_key_pem(&der)?);
    } else {
        outln!("{}", keys::public_key_base64(&der));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_references() {
        let f = KeySource::new(Some("file:///k/dev.pem"), None, "--id").unwrap();
        assert_eq!(f, KeySource::File("/k/dev.pem".into()));
        assert_eq!(f.key_id(), "dev");
        assert_eq!(
            KeySource::new(Some("keystore://ci"), None, "--id").unwrap(),
            KeySource::Keystore("ci".into())
        );
        assert_eq!(
            KeySource::new(None, None, "--id").unwrap(),
            KeySource::Keystore("default".into())
        );
        assert!(KeySource::new(Some("file://rel.pem"), None, "--id").is_err());
        assert!(KeySource::new(Some("op://x/y"), None, "--id").is_err());
    }
}

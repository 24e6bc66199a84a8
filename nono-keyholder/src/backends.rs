//! Resolving one credential reference ([`CredentialRef`]) to its value.
//!
//! | reference | backend |
//! | --- | --- |
//! | `name`, `keystore://name` | Secret Service, service `nono`, account `name` |
//! | `keyring://service/account` | Secret Service, explicit service |
//! | `kernel://name` | Linux kernel keyring (session), `keyring-rs:name@nono` |
//! | `env://VAR` | nono's environment (passed to the keyholder alone) |
//! | `file://PATH` | a file's contents, one trailing newline removed |
//! | `op://vault/item/field` | the 1Password CLI (`op read`) |
//!
//! (`apple-password://`, macOS only, is refused by the front end's parse.)

use std::path::Path;

use ipc::keyholder::FailureKind;
use ipc::reference::CredentialRef;
use keyring::{keyutils::KeyutilsCredential, secret_service::SsCredential, Entry};
use zeroize::Zeroizing;

pub type Failure = (FailureKind, String);

/// The secret `reference` names (parsed by the front end: every form is
/// handled here, none re-read from text).
pub fn resolve(
    reference: &CredentialRef,
    op: Option<&Path>,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    match reference {
        CredentialRef::Env(var) => std::env::var_os(var)
            .map(|v| Zeroizing::new(v.into_encoded_bytes()))
            .ok_or_else(|| {
                (
                    FailureKind::NotFound,
                    format!("environment variable {var} is not set"),
                )
            }),
        CredentialRef::File(path) => read_file(path),
        CredentialRef::OnePassword(r) => one_password(r, op),
        CredentialRef::Kernel(name) => {
            let cred = KeyutilsCredential::new_with_target(None, "nono", name)
                .map_err(|e| keystore(name, e))?;
            secret(Entry::new_with_credential(Box::new(cred)), name)
        }
        CredentialRef::Keyring { service, account } => secret_service(service, account),
        CredentialRef::Keystore(account) => secret_service("nono", account),
    }
}

fn secret_service(service: &str, account: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let cred =
        SsCredential::new_with_no_target(service, account).map_err(|e| keystore(account, e))?;
    secret(Entry::new_with_credential(Box::new(cred)), account)
}

fn secret(entry: Entry, name: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    entry
        .get_secret()
        .map(Zeroizing::new)
        .map_err(|e| keystore(name, e))
}

pub fn keystore(name: &str, e: keyring::Error) -> Failure {
    match e {
        keyring::Error::NoEntry => (
            FailureKind::NotFound,
            format!("Secret not found in keystore: {name}"),
        ),
        keyring::Error::Ambiguous(items) => (
            FailureKind::Multiple,
            format!(
                "Multiple entries ({}) found for '{name}' - please resolve manually",
                items.len()
            ),
        ),
        keyring::Error::NoStorageAccess(err) => (
            FailureKind::Locked,
            format!("Keystore access failed for '{name}': {err}"),
        ),
        other => {
            let msg = other.to_string();
            let kind = if msg.to_lowercase().contains("lock") {
                FailureKind::Locked
            } else {
                FailureKind::Backend
            };
            (kind, format!("Keystore access failed for '{name}': {msg}"))
        }
    }
}

/// The most a `file://` credential may hold.
const FILE_MAX: u64 = 1024 * 1024;

/// A regular file's contents. Anything else is refused before it is read:
/// a FIFO or a device could block the launch forever or never end.
fn read_file(path: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = |e: std::io::Error| (FailureKind::NotFound, format!("cannot read {path}: {e}"));
    // Non-blocking, so opening a FIFO with no writer returns at once.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err((
            FailureKind::Unsupported,
            format!("{path} is not a regular file (a pipe or device could block nono or never end); put the secret in a file"),
        ));
    }
    if meta.len() > FILE_MAX {
        return Err((
            FailureKind::Unsupported,
            format!(
                "{path} holds {} bytes, more than the {FILE_MAX}-byte limit for a credential",
                meta.len()
            ),
        ));
    }
    let mut v = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(FILE_MAX).read_to_end(&mut v).map_err(cannot)?;
    if v.last() == Some(&b'\n') {
        v.pop();
    }
    Ok(v)
}

fn one_password(reference: &str, op: Option<&Path>) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let Some(op) = op else {
        return Err((
            FailureKind::Unsupported,
            format!("{reference}: the 1Password CLI (op) is not installed"),
        ));
    };
    let out = std::process::Command::new(op)
        .args(["read", "--no-newline", reference])
        .output()
        .map_err(|e| {
            (
                FailureKind::Backend,
                format!("cannot run {}: {e}", op.display()),
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err((
            FailureKind::Backend,
            format!("op read {reference} failed: {err}"),
        ));
    }
    Ok(Zeroizing::new(out.stdout))
}

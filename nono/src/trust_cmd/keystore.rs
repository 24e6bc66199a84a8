//! Keystore-held signing keys, through `nono-keyholder --signing`
//! (`ipc::signing`): the front end sends names and digests and receives
//! public keys and signatures, never a private key.

use std::process::{Child, Command};

use anyhow::{bail, Context, Result};
use ipc::reference::CredentialRef;
use ipc::signing::{valid_key_name, FailureKind, SigningRequest, SigningResponse};
use ipc::{Endpoint, CHANNEL_FD};
use trust::{keys, Signer, TrustError};

use crate::helpers;
use crate::sys;

type Channel = Endpoint<SigningRequest, SigningResponse>;

/// A running keyholder in signing mode; it exits when this is dropped.
#[derive(Debug)]
pub struct Keyholder {
    chan: Option<Channel>,
    child: Child,
}

/// What the keyholder's environment keeps: only what D-Bus needs.
const ENV: &[&str] = &["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"];

/// What a signing-key reference adds to the keyholder's environment: its
/// `env://` variable, or what the 1Password CLI reads.
fn reference_env(reference: &CredentialRef) -> Vec<String> {
    if let Some(var) = reference.env_var() {
        return vec![var.to_string()];
    }
    if !reference.needs_op() {
        return Vec::new();
    }
    let mut keep = vec!["HOME".to_string(), "PATH".to_string()];
    keep.extend(
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("OP_")),
    );
    keep
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

impl Keyholder {
    pub fn start() -> Result<Keyholder> {
        Keyholder::start_with(None)
    }

    /// Start the keyholder; with `reference`, it confines itself to what
    /// that signing-key reference needs and answers the `Reference*`
    /// requests with that key.
    /// The reference goes to the keyholder as its canonical text (argv),
    /// which it parses with the same parser.
    pub fn start_with(reference: Option<&CredentialRef>) -> Result<Keyholder> {
        let exe = helpers::path("nono-keyholder")?;
        let (chan, end) = ipc::socketpair::<SigningRequest, SigningResponse>()?;
        let mut cmd = Command::new(&exe);
        cmd.arg("--signing").env_clear();
        let mut env: Vec<String> = ENV.iter().map(|s| s.to_string()).collect();
        if let Some(r) = reference {
            cmd.arg("--reference").arg(r.to_string());
            if let Some(op) = which("op").filter(|_| r.needs_op()) {
                cmd.arg("--op").arg(op);
            }
            env.extend(reference_env(r));
        }
        cmd.envs(
            env.iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (k, v))),
        );
        sys::own_session(&mut cmd);
        sys::place_fds(&mut cmd, vec![(end.into_fd(), CHANNEL_FD)]);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let k = Keyholder {
            chan: Some(chan),
            child,
        };
        let chan = k.chan.as_ref().context("the keyholder has ended")?;
        chan.greet()
            .context("the keyholder (nono-keyholder) did not answer the greeting")?;
        Ok(k)
    }

    fn ask(&self, req: &SigningRequest) -> Result<SigningResponse> {
        let chan = self.chan.as_ref().context("the keyholder has ended")?;
        let gone = "the keyholder ended unexpectedly (see its message above)";
        chan.send(req, &[]).context(gone)?;
        chan.recv_plain().context(gone)
    }

    /// Create `name` (replacing it only with `replace`); its public key.
    pub fn generate(&self, name: &str, replace: bool) -> Result<Vec<u8>> {
        checked(name)?;
        let req = SigningRequest::Generate {
            key: name.into(),
            replace,
        };
        public(self.ask(&req)?, name)
    }

    pub fn public_key(&self, name: &str) -> Result<Vec<u8>> {
        checked(name)?;
        public(
            self.ask(&SigningRequest::PublicKey { key: name.into() })?,
            name,
        )
    }

    pub fn sign(&self, name: &str, digest: &[u8; 32]) -> Result<Vec<u8>> {
        let req = SigningRequest::SignDigest {
            key: name.into(),
            digest: *digest,
        };
        match self.ask(&req)? {
            SigningResponse::Signature { der } => Ok(der),
            SigningResponse::Failed { kind, message } => Err(failure(kind, &message, name)),
            SigningResponse::Hello { .. } | SigningResponse::PublicKey { .. } => {
                bail!("the keyholder answered out of order")
            }
        }
    }

    /// The public key of the key named by the start-up reference.
    pub fn reference_public_key(&self, reference: &CredentialRef) -> Result<Vec<u8>> {
        match self.ask(&SigningRequest::ReferencePublicKey)? {
            SigningResponse::Failed { kind, message } => {
                Err(reference_failure(kind, &message, reference))
            }
            other => public(other, &reference.to_string()),
        }
    }

    /// A signature over `digest` by the key named by the start-up reference.
    pub fn reference_sign(&self, reference: &CredentialRef, digest: &[u8; 32]) -> Result<Vec<u8>> {
        match self.ask(&SigningRequest::ReferenceSign { digest: *digest })? {
            SigningResponse::Signature { der } => Ok(der),
            SigningResponse::Failed { kind, message } => {
                Err(reference_failure(kind, &message, reference))
            }
            SigningResponse::Hello { .. } | SigningResponse::PublicKey { .. } => {
                bail!("the keyholder answered out of order")
            }
        }
    }
}

impl Drop for Keyholder {
    fn drop(&mut self) {
        drop(self.chan.take());
        let _ = self.child.wait();
    }
}

fn checked(name: &str) -> Result<()> {
    if !valid_key_name(name) {
        bail!("invalid key name '{name}': use 1-64 letters, digits, '.', '_' or '-'");
    }
    Ok(())
}

fn public(resp: SigningResponse, name: &str) -> Result<Vec<u8>> {
    match resp {
        SigningResponse::PublicKey { der } => {
            keys::parse_public_key(&keys::public_key_base64(&der))
                .with_context(|| format!("the keyholder's public key for '{name}'"))
        }
        SigningResponse::Failed { kind, message } => Err(failure(kind, &message, name)),
        SigningResponse::Hello { .. } | SigningResponse::Signature { .. } => {
            bail!("the keyholder answered out of order")
        }
    }
}

/// The keyholder's failure, with what to do about it.
fn failure(kind: FailureKind, message: &str, name: &str) -> anyhow::Error {
    let hint = match kind {
        FailureKind::NotFound => format!(
            "create it with nono trust keygen --id {name}, or use a file-backed key: --keyref file:///PATH/key.pem"
        ),
        FailureKind::Exists => "pass --force to replace it (policies that list its current public key will not trust what the new key signs)".into(),
        FailureKind::Locked => "the keystore is locked; unlock it (e.g. log in to the desktop session) and run again".into(),
        FailureKind::Multiple => "several keystore items match; remove the extra ones (service nono, account trust-key:NAME)".into(),
        FailureKind::Backend | FailureKind::Unsupported => "is a Secret Service (e.g. gnome-keyring) running in this session, with DBUS_SESSION_BUS_ADDRESS set? Otherwise use a file-backed key: --keyref file:///PATH/key.pem".into(),
    };
    anyhow::anyhow!("keystore signing key '{name}': {message}; {hint}")
}

/// A signing-key reference's failure: a keystore key's with its hint,
/// otherwise the keyholder's message as it is (it never quotes a secret).
fn reference_failure(kind: FailureKind, message: &str, reference: &CredentialRef) -> anyhow::Error {
    match reference {
        CredentialRef::Keystore(name) => failure(kind, message, name),
        _ => anyhow::anyhow!("{message}"),
    }
}

/// A [`Signer`] whose private key stays in the keyholder.
#[derive(Debug)]
pub struct KeystoreSigner {
    keyholder: Keyholder,
    name: String,
    public_der: Vec<u8>,
}

impl KeystoreSigner {
    pub fn open(name: &str) -> Result<KeystoreSigner> {
        let keyholder = Keyholder::start()?;
        let public_der = keyholder.public_key(name)?;
        Ok(KeystoreSigner {
            keyholder,
            name: name.into(),
            public_der,
        })
    }
}

impl Signer for KeystoreSigner {
    fn public_key_der(&self) -> Vec<u8> {
        self.public_der.clone()
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> trust::Result<Vec<u8>> {
        let sig = self
            .keyholder
            .sign(&self.name, digest)
            .map_err(|e| TrustError::Sign(format!("{e:#}")))?;
        // Fail closed if the key changed since its public key was read.
        keys::verify_digest(&self.public_der, digest, &sig)?;
        Ok(sig)
    }
}

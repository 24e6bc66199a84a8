//! Fetching environment credentials through `nono-keyholder`, which sends
//! the values straight to their consumer. The front end learns only
//! whether it worked. Which credentials: `policy/credentials.rs`.

use std::io::IsTerminal;
use std::os::fd::OwnedFd;
use std::process::Command;

use anyhow::{bail, Context, Result};
use ipc::keyholder::{CredentialItem, FailureKind, KeyholderRequest, KeyholderResponse};
use ipc::reference::CredentialRef;
use ipc::{Endpoint, CHANNEL_FD, CREDENTIALS_FD};

use crate::helpers;
use crate::{sys, ui};

fn keyholder_env(items: &[CredentialItem]) -> Vec<(String, std::ffi::OsString)> {
    let mut keep: Vec<String> = ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "HOME"]
        .map(String::from)
        .to_vec();
    keep.extend(crate::policy::credentials::source_vars(items));
    if items.iter().any(|i| i.reference.needs_op()) {
        keep.extend(
            std::env::vars_os()
                .filter_map(|(k, _)| k.into_string().ok())
                .filter(|k| k.starts_with("OP_")),
        );
    }
    keep.into_iter()
        .filter_map(|k| std::env::var_os(&k).map(|v| (k, v)))
        .collect()
}

type Keyholder = Endpoint<KeyholderRequest, KeyholderResponse>;

/// Start the keyholder, have it deliver `items` to `consumer`, and wait.
pub fn fetch(items: &[CredentialItem], consumer: OwnedFd, purpose: &str) -> Result<()> {
    let exe = helpers::path("nono-keyholder")?;
    let (front, end) = ipc::socketpair::<KeyholderRequest, KeyholderResponse>()?;
    let mut cmd = Command::new(&exe);
    cmd.env_clear().envs(keyholder_env(items));
    sys::own_session(&mut cmd);
    sys::place_fds(
        &mut cmd,
        vec![(end.into_fd(), CHANNEL_FD), (consumer, CREDENTIALS_FD)],
    );
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    drop(cmd);
    let result = converse(&front, items, purpose);
    drop(front);
    let _ = child.wait();
    result
}

fn converse(front: &Keyholder, items: &[CredentialItem], purpose: &str) -> Result<()> {
    match front.greet() {
        Ok(()) => {}
        Err(e @ (ipc::IpcError::Version { .. } | ipc::IpcError::Unexpected(_))) => {
            bail!("the keyholder answered out of order: {e}")
        }
        Err(e) => return Err(e).context("the keyholder ended unexpectedly"),
    }
    let op = which("op");
    loop {
        front
            .send(
                &KeyholderRequest::Fetch {
                    items: items.to_vec(),
                    op: op.clone(),
                },
                &[],
            )
            .context("the keyholder ended unexpectedly")?;
        match front
            .recv_plain()
            .context("the keyholder ended unexpectedly")?
        {
            KeyholderResponse::Delivered { count } => {
                ui::info(format!("loaded {count} credential(s) {purpose}"));
                return Ok(());
            }
            KeyholderResponse::Failed {
                kind: FailureKind::Locked,
                message,
                ..
            } => ask_unlock(&message)?,
            KeyholderResponse::Failed {
                kind: FailureKind::Multiple,
                message,
                ..
            } => {
                bail!("Failed to access system keystore: {message}")
            }
            KeyholderResponse::Failed {
                kind: FailureKind::Backend,
                reference,
                message,
            } if secret_service(&reference) => {
                ui::info(format!("the keystore said: {message}"));
                bail!("{}", unreachable(&reference))
            }
            KeyholderResponse::Failed { message, .. } => bail!("{message}"),
            KeyholderResponse::Hello { .. } => bail!("the keyholder answered out of order"),
        }
    }
}

fn secret_service(reference: &CredentialRef) -> bool {
    matches!(
        reference,
        CredentialRef::Keystore(_) | CredentialRef::Keyring { .. }
    )
}

/// A Secret Service that cannot be reached, in one sentence with the next
/// step (the library's own chain is shown at `-v`).
fn unreachable(reference: &CredentialRef) -> String {
    let why = match std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
        None => "DBUS_SESSION_BUS_ADDRESS is unset",
        Some(_) => "no keyring answers on the session bus",
    };
    format!(
        "credential '{reference}': no Secret Service is reachable ({why}); start or unlock \
         a keyring (e.g. gnome-keyring) in this session, or use an env:// or file:// reference"
    )
}

fn ask_unlock(message: &str) -> Result<()> {
    if ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        bail!("{message} (the keystore is locked; unlock it and run again)");
    }
    let question = format!(
        "{message}\nPlease unlock your keystore and press Enter to retry (or Ctrl+C to abort): "
    );
    if let crate::prompt::Reply::NoTerminal = crate::prompt::ask(&question, None)? {
        bail!("no terminal to prompt on");
    }
    Ok(())
}

fn which(cmd: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// `wrap`: nono becomes the agent, so it is the consumer itself.
pub fn fetch_for_wrap(items: &[CredentialItem]) -> Result<Vec<std::ffi::CString>> {
    use ipc::credentials::{env_entry, receive_all, CredentialMessage, NoReply};
    let (ours, theirs) = ipc::socketpair::<NoReply, CredentialMessage>()?;
    fetch(items, theirs.into_fd(), "into the environment")?;
    let vars: Vec<String> = items
        .iter()
        .map(|i| crate::policy::credentials::var(i).to_string())
        .collect();
    let values = receive_all(&ours, &vars).context("credentials channel")?;
    values
        .into_iter()
        .map(|(var, value)| {
            std::ffi::CString::new(env_entry(&var, &value).to_vec())
                .context("a credential contains a NUL byte")
        })
        .collect()
}

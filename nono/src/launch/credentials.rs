//! Environment credentials: which to inject, and fetching them through
//! `nono-keyholder`, which sends the values straight to their consumer.
//! The front end learns only whether it worked.

use std::io::{BufRead, IsTerminal, Write};
use std::os::fd::OwnedFd;
use std::process::Command;

use anyhow::{bail, Context, Result};
use ipc::keyholder::{CredentialItem, FailureKind, KeyholderRequest, KeyholderResponse, Target};
use ipc::reference::CredentialRef;
use ipc::{Endpoint, CHANNEL_FD, CREDENTIALS_FD};

use super::helpers;
use crate::cli::RunArgs;
use crate::policy::load::Loaded;
use crate::{sys, ui};

pub(crate) fn valid_var(v: &str) -> bool {
    let mut c = v.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_uppercase() || ch == '_')
        && c.all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
}

/// The reference is parsed here, once: the keyholder gets it typed.
fn item(reference: &str, var: String) -> Result<CredentialItem> {
    if !valid_var(&var) {
        bail!("invalid environment variable name '{var}' for credential {reference} (use A-Z, 0-9, _)");
    }
    if let Some(why) = crate::env_policy::refuse_credential_target(&var)? {
        bail!("{why}");
    }
    Ok(CredentialItem {
        reference: CredentialRef::parse(reference)?,
        target: Target::EnvVar(var),
    })
}

/// The agent's variable an item sets (every item here is an `EnvVar`).
pub fn var(item: &CredentialItem) -> &str {
    item.target.name()
}

/// `name` -> `NAME`; `name=VAR` and `op://…=VAR` keep their explicit variable.
fn from_name(spec: &str) -> Result<CredentialItem> {
    if let Some((reference, var)) = spec.rsplit_once('=') {
        if reference.is_empty() || var.is_empty() {
            bail!("--env-credential {spec}: expected NAME, NAME=VAR or REF=VAR");
        }
        return item(reference, var.to_string());
    }
    if spec.contains("://") {
        bail!("--env-credential {spec}: a reference needs a variable (REF=VAR) or --env-credential-map");
    }
    item(spec, spec.to_ascii_uppercase())
}

/// The profile's own credentials (`[secrets]` and `env_credentials`), as
/// `profile validate` checks them.
pub fn profile_items(profile: &Loaded) -> Result<Vec<CredentialItem>> {
    let p = &profile.profile;
    p.secrets
        .iter()
        .chain(&p.env_credentials)
        .map(|(account, var)| item(account, var.clone()))
        .collect()
}

/// Everything to inject, from flags, `NONO_ENV_CREDENTIAL` and the profile.
pub fn items(args: &RunArgs, profile: &Loaded) -> Result<Vec<CredentialItem>> {
    let mut names = args.env_credential.clone();
    if names.is_empty() {
        if let Ok(v) = std::env::var("NONO_ENV_CREDENTIAL") {
            names = v
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
    }
    let mut out = Vec::new();
    for n in names.iter().filter(|n| !n.is_empty()) {
        out.push(from_name(n)?);
    }
    for pair in args.env_credential_map.chunks(2) {
        if let [reference, var] = pair {
            out.push(
                item(reference, var.clone())
                    .with_context(|| format!("--env-credential-map {reference} {var}"))?,
            );
        }
    }
    match args.secrets.as_deref() {
        Some("") => {
            for (account, var) in &profile.profile.secrets {
                out.push(item(account, var.clone())?);
            }
        }
        Some(list) => {
            for n in list.split(',').filter(|s| !s.is_empty()) {
                out.push(from_name(n)?);
            }
        }
        None => {}
    }
    for (account, var) in &profile.profile.env_credentials {
        out.push(item(account, var.clone())?);
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = out.iter().find(|i| !seen.insert(var(i).to_string())) {
        bail!("two credentials would set {}", var(dup));
    }
    Ok(out)
}

/// Host variables that `env://` references read: removed from the agent.
pub fn source_vars(items: &[CredentialItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.reference.env_var().map(String::from))
        .collect()
}

fn keyholder_env(items: &[CredentialItem]) -> Vec<(String, std::ffi::OsString)> {
    let mut keep: Vec<String> = ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "HOME"]
        .map(String::from)
        .to_vec();
    keep.extend(source_vars(items));
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
            KeyholderResponse::Failed { message, .. } => bail!("{message}"),
            KeyholderResponse::Hello { .. } => bail!("the keyholder answered out of order"),
        }
    }
}

fn ask_unlock(message: &str) -> Result<()> {
    if ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        bail!("{message} (the keystore is locked; unlock it and run again)");
    }
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("no terminal to prompt on")?;
    write!(
        tty,
        "{message}\nPlease unlock your keystore and press Enter to retry (or Ctrl+C to abort): "
    )?;
    let mut line = String::new();
    std::io::BufReader::new(&tty).read_line(&mut line)?;
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
    let vars: Vec<String> = items.iter().map(|i| var(i).to_string()).collect();
    let values = receive_all(&ours, &vars).context("credentials channel")?;
    values
        .into_iter()
        .map(|(var, value)| {
            std::ffi::CString::new(env_entry(&var, &value).to_vec())
                .context("a credential contains a NUL byte")
        })
        .collect()
}

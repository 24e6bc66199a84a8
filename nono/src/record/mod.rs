//! The record of a supervised session: the audit trail (crate `audit`) and
//! rollback snapshots (crate `rollback`), wrapped around `nono run`.
//!
//! The supervisor reports events through [`event`] (one call per place:
//! brokered decisions in `launch/denials.rs`, elevation answers in
//! `launch/supervise.rs`, proxy decisions in `launch/proxy.rs`). The
//! recorder sits in a process-wide slot so those hooks stay one line each
//! and the supervisor's loop needs no new parameter; with no session
//! recorded the slot is empty and they do nothing.

pub mod args;
pub mod audit_cmd;
mod review;
pub mod rollback_cmd;
pub mod sign;
mod snap;
pub mod state;

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Context, Result};

use crate::cli::RunArgs;
use crate::policy::plan::Plan;
use crate::ui;

static ACTIVE: Mutex<Option<audit::Recorder>> = Mutex::new(None);
static HELPERS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
/// The opening record being saved (fsync'd) while the helpers start.
static OPENING: Mutex<Option<std::thread::JoinHandle<Result<()>>>> = Mutex::new(None);

/// Wait until the session's opening record is on disk: called before the
/// command is started (no command runs unrecorded) and before the record
/// is closed. Ok when no record is kept.
pub fn opened() -> Result<()> {
    let pending = OPENING.lock().unwrap_or_else(|p| p.into_inner()).take();
    match pending.map(std::thread::JoinHandle::join) {
        None => Ok(()),
        Some(Ok(saved)) => saved,
        Some(Err(_)) => anyhow::bail!("audit: saving the opening record failed"),
    }
}

/// A helper's outcome for the session record (`started`, `ended ...`,
/// `failed: REASON`); the last one reported for a helper is kept.
pub fn helper(name: &str, outcome: impl Into<String>) {
    let outcome = outcome.into();
    tracing::info!("{name}: {outcome}");
    HELPERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(name.to_string(), outcome);
}

/// Record a helper's failure and pass the result on.
pub fn helper_failed<T>(name: &str, r: Result<T>) -> Result<T> {
    if let Err(e) = &r {
        helper(name, format!("failed: {e:#}"));
    }
    r
}

/// Append one event to the session's log (nothing when none is recorded).
pub fn event(kind: &str, data: serde_json::Value) {
    let mut slot = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    let Some(rec) = slot.as_mut() else {
        return;
    };
    if let Err(e) = rec.append(kind, data) {
        ui::warn(format!(
            "audit: {e}; no further events are recorded for this session"
        ));
        *slot = None;
    }
}

/// A proxy decision (never a secret: the proxy sends no query strings,
/// and every string is redacted again before it is written).
pub fn proxy(e: &ipc::proxy::ProxyEvent) {
    event(
        "proxy",
        serde_json::json!({"allowed": e.allowed, "kind": e.kind, "host": e.host,
            "port": e.port, "path": e.path, "reason": crate::launch::reasons::proxy(&e.reason)}),
    );
}

/// A brokered decision of the agent's seccomp notifications.
pub fn brokered(e: &ipc::broker::BrokeredEvent) {
    event(
        "capability",
        serde_json::json!({"allowed": e.allowed, "op": e.op, "path": e.path,
            "reason": crate::launch::reasons::broker(&e.reason)}),
    );
}

/// An elevation prompt and its answer.
pub fn elevation(path: &str, access: &str, approved: bool) {
    event(
        "elevation",
        serde_json::json!({"path": path, "access": access, "approved": approved}),
    );
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `nono wrap` has no supervisor: no record, no snapshots (the flags that
/// ask for them were refused with the plan's other helper needs).
pub fn note_wrap(args: &RunArgs) {
    if !args.record.no_audit {
        ui::info("nono wrap has no supervisor: this session is not audited (use nono run)");
    }
}

/// Run a supervised session with its record around it.
pub fn run(args: &RunArgs, plan: &Plan, supervise: impl FnOnce() -> Result<i32>) -> Result<i32> {
    let r = &args.record;
    if r.no_audit && !r.rollback {
        return supervise();
    }
    let signer = r
        .audit_sign_key
        .as_deref()
        .map(sign::AuditSigner::open)
        .transpose()?;
    let policy = state::redaction()?;
    let retention = state::retention()?;
    let id = audit::session::new_id(now_secs(), std::process::id());
    let mut session = new_session(&id, args, plan);
    let dir = if r.no_audit {
        None
    } else {
        Some(open_record(
            &id,
            &session,
            policy.clone(),
            !r.no_audit_integrity,
        )?)
    };
    if !policy.diff().is_empty() {
        event(
            "redaction_policy",
            serde_json::json!({"diff": policy.diff()}),
        );
    }
    if let Some(scan) = &plan.trust_scan {
        event("trust_scan", scan.clone());
    }
    let mut snaps = snap::Snapshots::before(&id, args, plan)?;
    let code = supervise();
    helper(
        "broker",
        match &code {
            Ok(c) => format!("ended; the command's status {c}"),
            Err(e) => format!("failed: {e:#}"),
        },
    );
    snaps.after();
    if let Some(dir) = dir {
        session.snapshots = snaps.summary();
        if let Err(e) = close(
            &dir,
            session,
            &policy,
            signer.as_ref(),
            code.as_ref().ok().copied(),
        ) {
            ui::warn(format!(
                "audit: the session record could not be completed: {e:#}"
            ));
        }
    }
    snaps.review();
    snaps.prune(&retention);
    code
}

fn new_session(id: &str, args: &RunArgs, plan: &Plan) -> audit::Session {
    let command: Vec<String> = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let program = command
        .first()
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .unwrap_or_default();
    audit::Session {
        version: audit::session::FORMAT_VERSION,
        id: id.to_string(),
        name: format!("{program}-{}", id.rsplit('-').next().unwrap_or(id)),
        command,
        workdir: crate::grants::workdir(&args.policy.fs)
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        profile: Some(plan.policy.profile.name.clone()),
        started: trust::time::now_rfc3339(),
        ended: None,
        exit_status: None,
        helpers: Default::default(),
        integrity: None,
        redaction_diff: Vec::new(),
        attestation: None,
        snapshots: None,
    }
}

/// Create the session directory, install the recorder, and start saving
/// the opening record: its fsync overlaps the helpers' start-up, and
/// [`opened`] waits for it before the command starts.
fn open_record(
    id: &str,
    session: &audit::Session,
    policy: audit::Policy,
    integrity: bool,
) -> Result<std::path::PathBuf> {
    let root = state::audit_root()?;
    audit::session::private_dir(&root)?;
    let dir = root.join(id);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create the audit directory {}", dir.display()))?;
    let mut s = session.clone();
    s.redaction_diff = policy.diff().to_vec();
    let (at, redact) = (dir.clone(), policy.clone());
    let saving = std::thread::Builder::new()
        .name("audit-open".into())
        .spawn(move || s.save(&at, &redact).map_err(anyhow::Error::from))
        .context("cannot start saving the audit record")?;
    *OPENING.lock().unwrap_or_else(|p| p.into_inner()) = Some(saving);
    let rec = audit::Recorder::create(&dir, id, policy, integrity)?;
    *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(rec);
    Ok(dir)
}

use std::os::unix::fs::DirBuilderExt;

/// The helpers entry of the keyholder that signs the attestation.
const SIGNING_KEYHOLDER: &str = "keyholder (audit signing)";

/// Take the recorder back, write the final record, sign it.
fn close(
    dir: &std::path::Path,
    mut s: audit::Session,
    policy: &audit::Policy,
    signer: Option<&sign::AuditSigner>,
    code: Option<i32>,
) -> Result<()> {
    // A session that failed before its command started may not have
    // waited for the opening record: it must not race the closing one.
    opened()?;
    let rec = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(rec) = &rec {
        rec.sync()?;
        s.integrity = rec.summary();
    }
    s.helpers.extend(std::mem::take(
        &mut *HELPERS.lock().unwrap_or_else(|p| p.into_inner()),
    ));
    s.redaction_diff = policy.diff().to_vec();
    s.ended = Some(trust::time::now_rfc3339());
    s.exit_status = code;
    s.save(dir, policy)?;
    let Some(key) = signer else {
        return Ok(());
    };
    let key_id = key.key_id();
    let saved = audit::Session::load(dir)?; // sign what is on disk (redacted)
    let bundle = match audit::attest::sign(&saved, key_id, key) {
        Ok(b) => b,
        Err(e) => {
            s.helpers
                .insert(SIGNING_KEYHOLDER.into(), format!("failed: {e}"));
            s.save(dir, policy)?;
            return Err(e.into());
        }
    };
    s.helpers.insert(
        SIGNING_KEYHOLDER.into(),
        "ended; signed the attestation".into(),
    );
    let file = dir.join(audit::session::ATTESTATION_FILE);
    audit::session::write_atomic(&file, bundle.to_json()?.as_bytes())?;
    let fp = trust::keys::fingerprint(&trust::Signer::public_key_der(key));
    s.attestation = Some(audit::session::AttestationSummary {
        file: audit::session::ATTESTATION_FILE.into(),
        key_id: key_id.to_string(),
        key_fingerprint: fp,
        signed_root: saved.integrity.map(|i| i.merkle_root).unwrap_or_default(),
    });
    s.save(dir, policy)?;
    Ok(())
}

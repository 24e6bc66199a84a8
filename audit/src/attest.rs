//! The signed attestation of a session (`audit-attestation.bundle`): a
//! DSSE envelope holding an in-toto statement whose subjects are the final
//! audit Merkle root and the SHA-256 of the redacted session context, with
//! the context itself in the predicate. Signing goes through
//! [`trust::Signer`], so the private key can stay in another process.

use trust::bundle::{self, Bundle, Purpose, Subject};

use crate::error::{AuditError, Result};
use crate::session::Session;
use crate::verify::Problem;

pub const ROOT_SUBJECT: &str = "audit-merkle-root";
pub const CONTEXT_SUBJECT: &str = "session-context";

/// The redacted session context that is signed (already redacted: it is
/// built from the record as saved).
pub fn context(s: &Session) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "name": s.name,
        "command": s.command,
        "workdir": s.workdir,
        "profile": s.profile,
        "started": s.started,
        "ended": s.ended,
        "exit_status": s.exit_status,
        "event_count": s.integrity.as_ref().map(|i| i.event_count),
        "redaction_diff": s.redaction_diff,
    })
}

fn context_digest(v: &serde_json::Value) -> String {
    trust::keys::sha256_hex(v.to_string().as_bytes())
}

/// Sign a finished session's root and context.
pub fn sign(s: &Session, key_id: &str, signer: &dyn trust::Signer) -> Result<Bundle> {
    let Some(integrity) = &s.integrity else {
        return Err(AuditError::Attestation(trust::TrustError::Sign(
            "the session has no Merkle root (integrity layer off)".into(),
        )));
    };
    let ctx = context(s);
    let subjects = vec![
        Subject::sha256(ROOT_SUBJECT, &integrity.merkle_root),
        Subject::sha256(CONTEXT_SUBJECT, &context_digest(&ctx)),
    ];
    Ok(bundle::sign_with_context(
        subjects,
        Purpose::AuditSession,
        key_id,
        Some(ctx),
        signer,
    )?)
}

/// Check a bundle against the session and the recomputed root; `pinned`:
/// the DER public key the signer must have. Returns the signer's
/// fingerprint when the signature verified, and the problems found.
pub fn check(
    bytes: &[u8],
    s: &Session,
    recomputed_root: Option<&str>,
    pinned: Option<&[u8]>,
) -> (Option<String>, Vec<Problem>) {
    let p = |what: String| Problem {
        event: None,
        field: None,
        what,
    };
    let verified =
        match Bundle::parse(bytes).and_then(|b| b.verify_signature(Purpose::AuditSession)) {
            Ok(v) => v,
            Err(e) => return (None, vec![p(format!("attestation signature: {e}"))]),
        };
    let mut out = Vec::new();
    if let Some(pin) = pinned {
        if pin != verified.public_key_der.as_slice() {
            out.push(p(format!(
                "attestation: signed by key {}, not by the pinned public key {}",
                verified.fingerprint,
                trust::keys::fingerprint(pin)
            )));
        }
    }
    let signed_root = verified.digest_of(ROOT_SUBJECT).map(str::to_string);
    if signed_root.as_deref() != recomputed_root {
        out.push(p(format!(
            "attestation: the signed root {} differs from the events' root {}",
            signed_root.unwrap_or_default(),
            recomputed_root.unwrap_or("(none)")
        )));
    }
    let ctx = context(s);
    if verified.digest_of(CONTEXT_SUBJECT) != Some(context_digest(&ctx).as_str()) {
        out.push(p(format!(
            "attestation: session.json differs from the signed context ({})",
            differing_keys(verified.statement.predicate.context.as_ref(), &ctx)
        )));
    }
    (Some(verified.fingerprint), out)
}

fn differing_keys(signed: Option<&serde_json::Value>, now: &serde_json::Value) -> String {
    let (Some(a), Some(b)) = (signed.and_then(|v| v.as_object()), now.as_object()) else {
        return "no signed context".into();
    };
    let keys: Vec<&str> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    format!("fields: {}", keys.join(", "))
}

//! The bundle: a Sigstore-style JSON document holding a DSSE envelope whose
//! payload is an in-toto statement, and the signer's public key.
//!
//! ```text
//! { "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//!   "verificationMaterial": { "publicKey": { "hint": SHA256(DER) hex, "rawBytes": base64 DER } },
//!   "dsseEnvelope": { "payloadType": "application/vnd.in-toto+json",
//!                     "payload": base64 statement,
//!                     "signatures": [ { "keyid": hint, "sig": base64 DER ECDSA } ] } }
//! ```
//!
//! The signature is ECDSA P-256 over SHA-256 of the DSSE pre-authentication
//! encoding (PAE) of the payload. A keyless bundle (Fulcio certificate in
//! `verificationMaterial.certificate`) parses but is not verified here.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, TrustError};
use crate::keys::{self, Signer};

pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// Predicate of an instruction file's attestation.
pub const FILE_PREDICATE: &str = "https://nono.sh/attestation/instruction-file/v1";
/// Predicate of a trust policy's attestation.
pub const POLICY_PREDICATE: &str = "https://nono.sh/attestation/trust-policy/v1";
/// Predicate of a session audit attestation (subjects: the audit Merkle
/// root and the session context; the predicate carries the context).
pub const AUDIT_PREDICATE: &str = "https://nono.sh/attestation/audit-session/v1";

/// What a bundle attests: instruction files or a trust policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    InstructionFile,
    TrustPolicy,
    AuditSession,
}

impl Purpose {
    fn predicate_type(self) -> &'static str {
        match self {
            Purpose::InstructionFile => FILE_PREDICATE,
            Purpose::TrustPolicy => POLICY_PREDICATE,
            Purpose::AuditSession => AUDIT_PREDICATE,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    pub dsse_envelope: Envelope,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyMaterial>,
    /// Keyless (Fulcio) bundles carry a certificate instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyMaterial {
    pub hint: String,
    pub raw_bytes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    pub keyid: String,
    pub sig: String,
}

/// The in-toto statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    pub predicate_type: String,
    pub predicate: Predicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    pub fn sha256(name: &str, hex: &str) -> Subject {
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Predicate {
    pub signer: SignerInfo,
    /// RFC 3339, UTC.
    pub signed_at: String,
    /// What the subjects are about (audit sessions: the redacted session
    /// context), covered by the signature like the rest of the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerInfo {
    /// `keyed` (keystore or file key) or `keyless`.
    pub kind: String,
    /// The signer's key name (e.g. `default`, or the file's reference).
    pub key_id: String,
}

/// A bundle whose signature verified: the statement and who signed it.
#[derive(Debug, Clone)]
pub struct Verified {
    pub statement: Statement,
    pub public_key_der: Vec<u8>,
    pub fingerprint: String,
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn pae_digest(payload: &[u8]) -> [u8; 32] {
    Sha256::digest(pae(PAYLOAD_TYPE, payload)).into()
}

/// Sign `subjects` with `signer`, recording `key_id` and the time.
pub fn sign(
    subjects: Vec<Subject>,
    purpose: Purpose,
    key_id: &str,
    signer: &dyn Signer,
) -> Result<Bundle> {
    sign_with_context(subjects, purpose, key_id, None, signer)
}

/// [`sign`], with a context object in the predicate.
pub fn sign_with_context(
    subjects: Vec<Subject>,
    purpose: Purpose,
    key_id: &str,
    context: Option<serde_json::Value>,
    signer: &dyn Signer,
) -> Result<Bundle> {
    let statement = Statement {
        type_: STATEMENT_TYPE.to_string(),
        subject: subjects,
        predicate_type: purpose.predicate_type().to_string(),
        predicate: Predicate {
            signer: SignerInfo {
                kind: "keyed".into(),
                key_id: key_id.to_string(),
            },
            signed_at: crate::time::now_rfc3339(),
            context,
        },
    };
    let payload = serde_json::to_vec(&statement).map_err(|e| TrustError::Sign(e.to_string()))?;
    let public = signer.public_key_der();
    let sig = signer.sign_digest(&pae_digest(&payload))?;
    // Fail here rather than write a bundle nobody can verify.
    keys::verify_digest(&public, &pae_digest(&payload), &sig)?;
    let hint = keys::fingerprint(&public);
    Ok(Bundle {
        media_type: MEDIA_TYPE.to_string(),
        verification_material: VerificationMaterial {
            public_key: Some(PublicKeyMaterial {
                hint: hint.clone(),
                raw_bytes: B64.encode(&public),
            }),
            certificate: None,
        },
        dsse_envelope: Envelope {
            payload: B64.encode(&payload),
            payload_type: PAYLOAD_TYPE.to_string(),
            signatures: vec![EnvelopeSignature {
                keyid: hint,
                sig: B64.encode(sig),
            }],
        },
    })
}

fn bad(why: impl Into<String>) -> TrustError {
    TrustError::Bundle(why.into())
}

impl Bundle {
    pub fn parse(bytes: &[u8]) -> Result<Bundle> {
        let b: Bundle = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if b.media_type != MEDIA_TYPE {
            return Err(bad(format!("unknown mediaType {}", b.media_type)));
        }
        Ok(b)
    }

    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| bad(e.to_string()))
    }

    /// Check the envelope's one signature with the bundle's key and return
    /// the statement, which must be for `purpose`. Says nothing yet about
    /// whether the key is trusted.
    pub fn verify_signature(&self, purpose: Purpose) -> Result<Verified> {
        let Some(pk) = &self.verification_material.public_key else {
            return Err(bad(
                "keyless (certificate) bundles need Sigstore's trust root, which this build does not verify",
            ));
        };
        let der = B64
            .decode(&pk.raw_bytes)
            .map_err(|_| bad("publicKey.rawBytes is not base64"))?;
        let fingerprint = keys::fingerprint(&der);
        if pk.hint != fingerprint {
            return Err(bad("publicKey.hint does not match the key"));
        }
        let env = &self.dsse_envelope;
        if env.payload_type != PAYLOAD_TYPE {
            return Err(bad(format!("unknown payloadType {}", env.payload_type)));
        }
        let [sig] = env.signatures.as_slice() else {
            return Err(bad("expected exactly one signature"));
        };
        let payload = B64
            .decode(&env.payload)
            .map_err(|_| bad("payload is not base64"))?;
        let sig = B64.decode(&sig.sig).map_err(|_| bad("sig is not base64"))?;
        keys::verify_digest(&der, &pae_digest(&payload), &sig)?;
        let statement: Statement =
            serde_json::from_slice(&payload).map_err(|e| bad(format!("statement: {e}")))?;
        if statement.type_ != STATEMENT_TYPE {
            return Err(bad(format!("unknown statement type {}", statement.type_)));
        }
        if statement.predicate_type != purpose.predicate_type() {
            return Err(bad(format!(
                "predicate {} where {} was expected",
                statement.predicate_type,
                purpose.predicate_type()
            )));
        }
        Ok(Verified {
            statement,
            public_key_der: der,
            fingerprint,
        })
    }
}

impl Verified {
    /// The SHA-256 the statement records for `name`, if it names it.
    pub fn digest_of(&self, name: &str) -> Option<&str> {
        self.statement
            .subject
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.digest.get("sha256"))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::LocalKey;

    fn one(key: &LocalKey) -> Bundle {
        sign(
            vec![Subject::sha256("CLAUDE.md", "ab")],
            Purpose::InstructionFile,
            "default",
            key,
        )
        .unwrap()
    }

    #[test]
    fn round_trip_verifies() {
        let k = LocalKey::generate();
        let b = Bundle::parse(one(&k).to_json().unwrap().as_bytes()).unwrap();
        let v = b.verify_signature(Purpose::InstructionFile).unwrap();
        assert_eq!(v.digest_of("CLAUDE.md"), Some("ab"));
        assert_eq!(v.public_key_der, k.public_key_der());
        assert_eq!(v.statement.predicate.signer.key_id, "default");
        assert!(
            b.verify_signature(Purpose::TrustPolicy).is_err(),
            "purpose is signed"
        );
    }

    #[test]
    fn tampered_statement_fails() {
        let k = LocalKey::generate();
        let mut b = one(&k);
        let mut st: Statement =
            serde_json::from_slice(&B64.decode(&b.dsse_envelope.payload).unwrap()).unwrap();
        st.subject[0].digest.insert("sha256".into(), "cd".into());
        b.dsse_envelope.payload = B64.encode(serde_json::to_vec(&st).unwrap());
        assert!(b.verify_signature(Purpose::InstructionFile).is_err());
    }

    #[test]
    fn swapped_key_fails() {
        let (k, other) = (LocalKey::generate(), LocalKey::generate());
        let mut b = one(&k);
        let der = other.public_key_der();
        b.verification_material.public_key = Some(PublicKeyMaterial {
            hint: keys::fingerprint(&der),
            raw_bytes: B64.encode(&der),
        });
        assert!(b.verify_signature(Purpose::InstructionFile).is_err());
    }

    #[test]
    fn pae_is_length_prefixed() {
        assert_eq!(pae("t", b"ab"), b"DSSEv1 1 t 2 ab".to_vec());
    }
}

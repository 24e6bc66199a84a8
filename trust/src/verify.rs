//! One file against a policy: the status `verify`, `list` and the pre-exec
//! scan report.

use crate::bundle::{Bundle, Purpose, Verified};
use crate::policy::TrustPolicy;

/// The outcome for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Signed by this publisher's key, over this content.
    Verified { publisher: String },
    /// No bundle names the file.
    Unsigned,
    /// A bundle names the file with another digest: changed since signing.
    DigestMismatch,
    /// The signature is good but no trusted publisher holds the key.
    UntrustedSigner,
    /// The bundle is malformed or its signature does not verify.
    InvalidSignature(String),
    /// The content's digest or the signer is on the blocklist.
    Blocklisted(&'static str),
}

impl Status {
    pub fn is_verified(&self) -> bool {
        matches!(self, Status::Verified { .. })
    }

    /// A full description (`verify`, `list`).
    pub fn describe(&self) -> String {
        match self {
            Status::Verified { publisher } => format!("verified (publisher {publisher})"),
            Status::Unsigned => "unsigned".into(),
            Status::DigestMismatch => "digest mismatch (changed since it was signed)".into(),
            Status::UntrustedSigner => "untrusted signer".into(),
            Status::InvalidSignature(why) => format!("invalid signature ({why})"),
            Status::Blocklisted(what) => format!("blocklisted {what}"),
        }
    }

    /// The short reason the pre-exec scan prints: content that no trusted
    /// signer vouches for, however it came to be, is an untrusted signer.
    pub fn reason(&self) -> &'static str {
        match self {
            Status::Verified { .. } => "verified",
            Status::Unsigned => "unsigned",
            Status::DigestMismatch | Status::UntrustedSigner | Status::InvalidSignature(_) => {
                "untrusted signer"
            }
            Status::Blocklisted(_) => "blocklisted",
        }
    }

    /// A stable identifier for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Status::Verified { .. } => "verified",
            Status::Unsigned => "unsigned",
            Status::DigestMismatch => "digest_mismatch",
            Status::UntrustedSigner => "untrusted_signer",
            Status::InvalidSignature(_) => "invalid_signature",
            Status::Blocklisted(_) => "blocklisted",
        }
    }
}

/// A bundle read once and checked once: its verified statement and key,
/// or why it is invalid. Several files may share one (a multi-subject
/// `.nono-trust.bundle`), so callers cache this per bundle.
pub type BundleCheck = std::result::Result<Verified, String>;

/// Parse `bytes` and verify the signature (not yet whether the key is
/// trusted, which depends on the policy).
pub fn check_bundle(bytes: &[u8], purpose: Purpose) -> BundleCheck {
    Bundle::parse(bytes)
        .and_then(|b| b.verify_signature(purpose))
        .map_err(|e| e.to_string())
}

/// Check content with digest `hex`, named `name` in its bundle (`bundle`,
/// if one was found), against `policy`.
pub fn check(
    name: &str,
    hex: &str,
    bundle: Option<&[u8]>,
    policy: &TrustPolicy,
    purpose: Purpose,
) -> Status {
    let checked = bundle.map(|b| check_bundle(b, purpose));
    check_with(name, hex, checked.as_ref(), policy)
}

/// [`check`] with the bundle already checked ([`check_bundle`]).
pub fn check_with(
    name: &str,
    hex: &str,
    bundle: Option<&BundleCheck>,
    policy: &TrustPolicy,
) -> Status {
    if policy.blocks_digest(hex) {
        return Status::Blocklisted("digest");
    }
    let verified = match bundle {
        None => return Status::Unsigned,
        Some(Err(e)) => return Status::InvalidSignature(e.clone()),
        Some(Ok(v)) => v,
    };
    match verified.digest_of(name) {
        None => return Status::Unsigned,
        Some(d) if !d.eq_ignore_ascii_case(hex) => return Status::DigestMismatch,
        Some(_) => {}
    }
    let publisher = policy.publisher_for(&verified.public_key_der);
    if policy.blocks_signer(&verified.fingerprint, publisher) {
        return Status::Blocklisted("publisher");
    }
    match publisher {
        Some(p) => Status::Verified {
            publisher: p.name.clone(),
        },
        None => Status::UntrustedSigner,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{sign, Subject};
    use crate::keys::{self, LocalKey, Signer};
    use crate::policy::Publisher;

    fn policy_for(k: &LocalKey) -> TrustPolicy {
        TrustPolicy::new(
            Publisher {
                name: "local-dev".into(),
                key_id: "default".into(),
                public_key: keys::public_key_base64(&k.public_key_der()),
            },
            vec![],
        )
    }

    fn bundle(k: &LocalKey, content: &[u8]) -> Vec<u8> {
        let s = Subject::sha256("GEMINI.md", &keys::sha256_hex(content));
        sign(vec![s], Purpose::InstructionFile, "default", k)
            .unwrap()
            .to_json()
            .unwrap()
            .into_bytes()
    }

    fn run(content: &[u8], b: Option<&[u8]>, p: &TrustPolicy) -> Status {
        check(
            "GEMINI.md",
            &keys::sha256_hex(content),
            b,
            p,
            Purpose::InstructionFile,
        )
    }

    #[test]
    fn statuses() {
        let k = LocalKey::generate();
        let p = policy_for(&k);
        let b = bundle(&k, b"hello");
        assert_eq!(
            run(b"hello", Some(&b), &p),
            Status::Verified {
                publisher: "local-dev".into()
            }
        );
        assert_eq!(
            run(b"hello\nINJECTED", Some(&b), &p),
            Status::DigestMismatch
        );
        assert_eq!(run(b"hello", None, &p), Status::Unsigned);
        let other = bundle(&LocalKey::generate(), b"hello");
        assert_eq!(run(b"hello", Some(&other), &p), Status::UntrustedSigner);
        assert_eq!(run(b"hello", Some(&other), &p).reason(), "untrusted signer");
        assert!(matches!(
            run(b"hello", Some(b"{}"), &p),
            Status::InvalidSignature(_)
        ));
    }

    #[test]
    fn blocklists() {
        let k = LocalKey::generate();
        let b = bundle(&k, b"hello");
        let mut p = policy_for(&k);
        p.blocklist
            .digests
            .push(format!("sha256:{}", keys::sha256_hex(b"hello")));
        assert_eq!(run(b"hello", Some(&b), &p), Status::Blocklisted("digest"));
        let mut p = policy_for(&k);
        p.blocklist.publishers.push("local-dev".into());
        assert_eq!(
            run(b"hello", Some(&b), &p),
            Status::Blocklisted("publisher")
        );
    }

    #[test]
    fn tampered_statement_is_invalid() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let k = LocalKey::generate();
        let mut b = Bundle::parse(&bundle(&k, b"hello")).unwrap();
        let st = String::from_utf8(b64.decode(&b.dsse_envelope.payload).unwrap()).unwrap();
        let st = st.replace(&keys::sha256_hex(b"hello"), &keys::sha256_hex(b"evil"));
        b.dsse_envelope.payload = b64.encode(st);
        let b = b.to_json().unwrap().into_bytes();
        assert!(matches!(
            run(b"evil", Some(&b), &policy_for(&k)),
            Status::InvalidSignature(_)
        ));
    }
}

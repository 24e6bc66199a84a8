//! `trust-policy.json`: who is trusted, which files need signatures, what
//! is never accepted, and what a failure does.
//!
//! ```json
//! { "version": 1,
//!   "publishers": [ { "name": "local-dev", "key_id": "default", "public_key": "<base64 DER>" } ],
//!   "includes": [ "GEMINI.md" ],
//!   "blocklist": { "digests": [ "sha256:<hex>" ], "publishers": [ "<name, key_id or key hash>" ] },
//!   "enforcement": "deny" }
//! ```
//!
//! A publisher is trusted for the key bytes in `public_key`; `key_id` is the
//! name of the key it was exported from, never proof of anything.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrustError};
use crate::keys;
use crate::patterns;

pub const VERSION: u32 = 1;
pub const FILE_NAME: &str = "trust-policy.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    pub version: u32,
    #[serde(default)]
    pub publishers: Vec<Publisher>,
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(default)]
    pub blocklist: Blocklist,
    #[serde(default)]
    pub enforcement: Enforcement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    pub name: String,
    pub key_id: String,
    pub public_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blocklist {
    #[serde(default)]
    pub digests: Vec<String>,
    #[serde(default)]
    pub publishers: Vec<String>,
}

/// What a verification failure does before a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Report in the log only.
    Audit,
    /// Print a warning and start the agent.
    Warn,
    /// Refuse to start the agent.
    #[default]
    Deny,
}

impl TrustPolicy {
    /// A policy trusting one key.
    pub fn new(publisher: Publisher, includes: Vec<String>) -> TrustPolicy {
        TrustPolicy {
            version: VERSION,
            publishers: vec![publisher],
            includes,
            blocklist: Blocklist::default(),
            enforcement: Enforcement::Deny,
        }
    }

    /// Parse and check every key and pattern.
    pub fn parse(bytes: &[u8]) -> Result<TrustPolicy> {
        let p: TrustPolicy =
            serde_json::from_slice(bytes).map_err(|e| TrustError::Policy(e.to_string()))?;
        if p.version != VERSION {
            return Err(TrustError::Policy(format!(
                "version {} (this nono reads version {VERSION})",
                p.version
            )));
        }
        for pb in &p.publishers {
            keys::parse_public_key(&pb.public_key)
                .map_err(|e| TrustError::Policy(format!("publisher '{}': {e}", pb.name)))?;
        }
        for i in &p.includes {
            patterns::validate(i)?;
        }
        Ok(p)
    }

    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|s| s + "\n")
            .map_err(|e| TrustError::Policy(e.to_string()))
    }

    /// The publisher whose key is `der`, if any.
    pub fn publisher_for(&self, der: &[u8]) -> Option<&Publisher> {
        self.publishers
            .iter()
            .find(|p| keys::parse_public_key(&p.public_key).is_ok_and(|k| k == der))
    }

    /// Whether a file digest (hex) is blocklisted (`sha256:HEX` or `HEX`).
    pub fn blocks_digest(&self, hex: &str) -> bool {
        self.blocklist.digests.iter().any(|d| {
            let d = d.trim();
            d.strip_prefix("sha256:")
                .unwrap_or(d)
                .eq_ignore_ascii_case(hex)
        })
    }

    /// Whether a signer is blocklisted, by key hash, or by the name or
    /// key id of the publisher its key matched.
    pub fn blocks_signer(&self, fingerprint: &str, publisher: Option<&Publisher>) -> bool {
        self.blocklist.publishers.iter().any(|b| {
            b.eq_ignore_ascii_case(fingerprint)
                || publisher.is_some_and(|p| *b == p.name || *b == p.key_id)
        })
    }

    /// Whether `rel` must be signed under this policy.
    pub fn covers(&self, rel: &str) -> bool {
        patterns::is_instruction_file(rel, &self.includes)
    }

    /// Add `other`: its includes and blocklist always (they only add
    /// checks), the stricter enforcement, and its publishers only when
    /// `trust_publishers` (the other policy is anchored).
    pub fn merge(&mut self, other: &TrustPolicy, trust_publishers: bool) {
        let add = |to: &mut Vec<String>, from: &[String]| {
            for x in from {
                if !to.contains(x) {
                    to.push(x.clone());
                }
            }
        };
        add(&mut self.includes, &other.includes);
        add(&mut self.blocklist.digests, &other.blocklist.digests);
        add(&mut self.blocklist.publishers, &other.blocklist.publishers);
        self.enforcement = self.enforcement.max(other.enforcement);
        if trust_publishers {
            for p in &other.publishers {
                if !self.publishers.contains(p) {
                    self.publishers.push(p.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{LocalKey, Signer};

    fn key_b64() -> String {
        keys::public_key_base64(&LocalKey::generate().public_key_der())
    }

    #[test]
    fn parses_the_walkthrough_shape() {
        let text = format!(
            r#"{{"version": 1,"publishers": [{{"name": "local-dev","key_id": "default","public_key": "{}"}}],"includes": ["GEMINI.md"],"blocklist": {{ "digests": [], "publishers": [] }},"enforcement": "deny"}}"#,
            key_b64()
        );
        let p = TrustPolicy::parse(text.as_bytes()).unwrap();
        assert_eq!(p.enforcement, Enforcement::Deny);
        assert_eq!(
            TrustPolicy::parse(p.to_json().unwrap().as_bytes()).unwrap(),
            p
        );
    }

    #[test]
    fn rejects_bad_policies() {
        for bad in [
            r#"{"version": 2}"#.to_string(),
            r#"{"version": 1, "enforcment": "deny"}"#.to_string(),
            r#"{"version": 1, "publishers": [{"name":"x","key_id":"d","public_key":"AAAA"}]}"#
                .to_string(),
            r#"{"version": 1, "includes": ["../x"]}"#.to_string(),
        ] {
            assert!(TrustPolicy::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn merge_keeps_publishers_unless_anchored() {
        let pubr = |n: &str| Publisher {
            name: n.into(),
            key_id: n.into(),
            public_key: key_b64(),
        };
        let mut user = TrustPolicy::new(pubr("me"), vec![]);
        user.enforcement = Enforcement::Warn;
        let mut project = TrustPolicy::new(pubr("them"), vec!["x.md".into()]);
        project.blocklist.digests.push("sha256:AB".into());
        let mut a = user.clone();
        a.merge(&project, false);
        assert_eq!(a.publishers.len(), 1);
        assert_eq!(a.enforcement, Enforcement::Deny);
        assert!(a.blocks_digest("ab") && a.covers("x.md"));
        let mut b = user.clone();
        b.merge(&project, true);
        assert_eq!(b.publishers.len(), 2);
    }
}

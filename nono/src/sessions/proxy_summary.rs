//! A live session's proxy decisions in brief, for `nono inspect`: how many
//! requests were allowed and denied, per kind and destination. Kept in the
//! session's directory (protected from the agent like the rest of nono's
//! state) and rewritten atomically after each decision. Only the kind
//! (CONNECT, a method, a credential route) and `host:port` are kept: no
//! paths or query strings, which may carry secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ipc::proxy::ProxyEvent;
use serde::{Deserialize, Serialize};

const FILE: &str = "proxy.json";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counts {
    pub allowed: u64,
    pub denied: u64,
    /// `KIND host:port` → (allowed, denied).
    pub destinations: BTreeMap<String, (u64, u64)>,
}

#[derive(Debug)]
pub struct ProxySummary {
    path: PathBuf,
    counts: Counts,
}

impl ProxySummary {
    pub fn new(session_dir: &Path) -> ProxySummary {
        ProxySummary {
            path: session_dir.join(FILE),
            counts: Counts::default(),
        }
    }

    pub fn count(&mut self, e: &ProxyEvent) {
        let dest = if e.port == 0 {
            format!("{} {}", e.kind, e.host)
        } else {
            format!("{} {}:{}", e.kind, e.host, e.port)
        };
        let entry = self.counts.destinations.entry(dest).or_default();
        if e.allowed {
            self.counts.allowed += 1;
            entry.0 += 1;
        } else {
            self.counts.denied += 1;
            entry.1 += 1;
        }
        self.save();
    }

    /// Best effort: a summary that cannot be written only leaves `inspect`
    /// with an older one.
    pub fn save(&self) {
        let Ok(bytes) = serde_json::to_vec(&self.counts) else {
            return;
        };
        let tmp = self.path.with_extension("json.tmp");
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

/// The summary of the session kept in `dir`, if it has a proxy.
pub fn load(dir: &Path) -> Option<Counts> {
    let text = std::fs::read(dir.join(FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(allowed: bool, host: &str, path: &str) -> ProxyEvent {
        ProxyEvent {
            allowed,
            kind: "GET".into(),
            host: host.into(),
            port: 80,
            path: path.into(),
            reason: ipc::proxy::ProxyReason::Allowed,
        }
    }

    #[test]
    fn counts_per_destination_without_paths() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ProxySummary::new(dir.path());
        s.count(&event(true, "a.example", "/x?token=SECRET"));
        s.count(&event(true, "a.example", "/y"));
        s.count(&event(false, "b.example", "/z"));
        let c = load(dir.path()).unwrap();
        assert_eq!((c.allowed, c.denied), (2, 1));
        assert_eq!(c.destinations["GET a.example:80"], (2, 0));
        assert_eq!(c.destinations["GET b.example:80"], (0, 1));
        let raw = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!raw.contains("SECRET") && !raw.contains("/x"), "{raw}");
    }
}

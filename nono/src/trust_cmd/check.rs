//! One instruction file on disk against a policy: content, bundle, and the
//! symbolic-link rule (a link may point only inside the scanned root).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use trust::{keys, BundleCheck, Purpose, Status, TrustPolicy};

use super::anchor;
use super::discover::Found;

/// The result for one file.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rel: String,
    pub path: PathBuf,
    pub digest: Option<String>,
    /// `Err` for what the front end refuses before any signature is read.
    pub status: Result<Status, String>,
    /// The bundle that covered it, if any.
    pub bundle: Option<PathBuf>,
}

impl Finding {
    pub fn is_verified(&self) -> bool {
        matches!(&self.status, Ok(s) if s.is_verified())
    }

    /// The scan's short reason.
    pub fn reason(&self) -> String {
        match &self.status {
            Ok(s) => s.reason().to_string(),
            Err(e) => e.clone(),
        }
    }

    /// The full status (`verify`, `list`).
    pub fn describe(&self) -> String {
        match &self.status {
            Ok(s) => s.describe(),
            Err(e) => e.clone(),
        }
    }

    pub fn code(&self) -> &'static str {
        match &self.status {
            Ok(s) => s.code(),
            Err(_) => "refused",
        }
    }

    /// Paths that must stay read-only when the file verified: the file as
    /// the kernel resolves it and its bundle.
    pub fn protected_paths(&self) -> Vec<PathBuf> {
        if !self.is_verified() {
            return Vec::new();
        }
        let mut v: Vec<PathBuf> = std::fs::canonicalize(&self.path).into_iter().collect();
        v.extend(
            self.bundle
                .iter()
                .filter_map(|b| std::fs::canonicalize(b).ok()),
        );
        v
    }
}

/// Bundles read, parsed and signature-checked once each per scan (many
/// files share one `.nono-trust.bundle`); `None` when unreadable.
#[derive(Debug, Default)]
pub struct Bundles(HashMap<PathBuf, Option<BundleCheck>>);

impl Bundles {
    fn get(&mut self, path: &Path) -> Option<&BundleCheck> {
        self.0
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                std::fs::read(path)
                    .ok()
                    .map(|b| trust::check_bundle(&b, Purpose::InstructionFile))
            })
            .as_ref()
    }
}

/// Check `found` (under `root`) against `policy`.
pub fn file(root: &Path, found: &Found, policy: &TrustPolicy, bundles: &mut Bundles) -> Finding {
    let mut f = Finding {
        rel: found.rel.clone(),
        path: found.path.clone(),
        digest: None,
        status: Err(String::new()),
        bundle: None,
    };
    if found.symlink {
        match std::fs::canonicalize(&found.path) {
            Ok(t) if t.starts_with(root) => {}
            Ok(_) => {
                f.status = Err("symlink to outside the granted directory".into());
                return f;
            }
            Err(_) => {
                f.status = Err("dangling symlink".into());
                return f;
            }
        }
    }
    let content = match std::fs::read(&found.path) {
        Ok(c) => c,
        Err(e) => {
            f.status = Err(format!("unreadable: {e}"));
            return f;
        }
    };
    let digest = keys::sha256_hex(&content);
    let bundle = anchor::bundle_for(root, &found.path);
    let checked = bundle.as_ref().and_then(|(_, p)| bundles.get(p));
    let name = bundle.as_ref().map(|(n, _)| n.as_str()).unwrap_or_default();
    f.status = Ok(trust::check_with(name, &digest, checked, policy));
    f.digest = Some(digest);
    f.bundle = bundle.map(|(_, p)| p);
    f
}

//! The session directory, never the shared `/tmp`:
//!
//! ```text
//! <host tmp>/nono-session-XXXX/      0700, not granted
//!     tmp/                           the agent's TMPDIR, read-write
//!     policy.json                    what the sandbox enforces, read-only (why --self)
//! ```
//!
//! `run` removes it afterwards. `wrap` leaves no process to clean up, so it
//! uses one directory per user (`nono-wrap-<uid>`, created 0700 and checked
//! to be ours and not a symlink) with `policy-<pid>.json` per session; stale
//! snapshots are pruned by the next `wrap`.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::policy::decide::View;

fn host_tmp() -> PathBuf {
    std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

fn private_dir(path: &Path) -> Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    let meta =
        fs::symlink_metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
    let uid = nix::unistd::getuid().as_raw();
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        bail!(
            "{} is not a private directory owned by uid {uid}; refusing to use it",
            path.display()
        );
    }
    Ok(())
}

#[derive(Debug)]
pub struct SessionDir {
    /// Removes the whole directory on drop (run only).
    _owned: Option<tempfile::TempDir>,
    pub tmp: PathBuf,
    pub policy_file: PathBuf,
}

impl SessionDir {
    pub fn for_run() -> Result<SessionDir> {
        let dir = tempfile::Builder::new()
            .prefix("nono-session-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(host_tmp())
            .context("cannot create the session directory")?;
        let root = fs::canonicalize(dir.path())?;
        private_dir(&root.join("tmp"))?;
        Ok(SessionDir {
            tmp: root.join("tmp"),
            policy_file: root.join("policy.json"),
            _owned: Some(dir),
        })
    }

    pub fn for_wrap() -> Result<SessionDir> {
        let uid = nix::unistd::getuid().as_raw();
        let root = host_tmp().join(format!("nono-wrap-{uid}"));
        private_dir(&root)?;
        let root = fs::canonicalize(&root)?;
        private_dir(&root.join("tmp"))?;
        prune_stale(&root);
        let pid = std::process::id();
        Ok(SessionDir {
            tmp: root.join("tmp"),
            policy_file: root.join(format!("policy-{pid}.json")),
            _owned: None,
        })
    }

    /// Create the (empty) snapshot file so it can be granted.
    pub fn create_policy_file(&self) -> Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.policy_file)
            .with_context(|| format!("cannot create {}", self.policy_file.display()))?;
        Ok(())
    }

    /// Empty, private files for the proxy's session CA: the agent's trust
    /// bundle (system roots + session CA) and the CA alone. Filled in once
    /// the proxy has generated the CA; the agent may only read them.
    pub fn create_ca_files(&self) -> Result<(PathBuf, PathBuf)> {
        let root = self
            .policy_file
            .parent()
            .context("session directory")?
            .to_path_buf();
        let files = (root.join("ca-bundle.pem"), root.join("session-ca.pem"));
        for f in [&files.0, &files.1] {
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(f)
                .with_context(|| format!("cannot create {}", f.display()))?;
        }
        Ok(files)
    }

    /// Fill the snapshot created empty by [`Self::create_policy_file`].
    /// Written without `O_TRUNC`: on ext4, closing a file that was
    /// truncated to nothing flushes it to disk synchronously (the
    /// replace-by-truncate heuristic), which start-up would wait for.
    pub fn write_policy(&self, view: &View) -> Result<()> {
        use std::io::Write;
        let json = serde_json::to_vec(view).context("cannot serialise the policy")?;
        let write = || -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new().write(true).open(&self.policy_file)?;
            f.write_all(&json)?;
            // Nothing of an older file may remain after the snapshot.
            f.set_len(json.len() as u64)
        };
        write().with_context(|| format!("cannot write {}", self.policy_file.display()))
    }
}

fn prune_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("policy-")
            .and_then(|s| s.strip_suffix(".json"))
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_file(e.path());
        }
    }
}

//! The agent's temporary directory: never the shared `/tmp`.
//!
//! `run` makes a private directory per session and removes it afterwards.
//! `wrap` leaves no process to clean up, so it uses one directory per user
//! (`nono-wrap-<uid>`), created 0700 and checked to be ours and not a symlink.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The host's temporary directory.
fn host_tmp() -> PathBuf {
    std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// A temp dir for the agent; removed on drop when it is per-session.
#[derive(Debug)]
pub enum AgentTmp {
    Session(tempfile::TempDir),
    PerUser(PathBuf),
}

impl AgentTmp {
    pub fn path(&self) -> &Path {
        match self {
            AgentTmp::Session(t) => t.path(),
            AgentTmp::PerUser(p) => p,
        }
    }

    pub fn session() -> Result<AgentTmp> {
        let dir = tempfile::Builder::new()
            .prefix("nono-session-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(host_tmp())
            .context("cannot create the session's private temp directory")?;
        Ok(AgentTmp::Session(dir))
    }

    pub fn per_user() -> Result<AgentTmp> {
        let uid = nix::unistd::getuid().as_raw();
        let path = host_tmp().join(format!("nono-wrap-{uid}"));
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
        let meta = fs::symlink_metadata(&path)
            .with_context(|| format!("cannot stat {}", path.display()))?;
        if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
            bail!(
                "{} is not a private directory owned by uid {uid}; refusing to use it as the agent's temp dir",
                path.display()
            );
        }
        Ok(AgentTmp::PerUser(fs::canonicalize(&path)?))
    }
}

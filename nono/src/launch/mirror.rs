//! Profile `[mirror_files]`: a file of the user's that an agent replaces
//! atomically (a temporary file next to it, then rename) kept in a
//! directory the agent may write, so the directory holding the user's file
//! need not be granted.
//!
//! Claude Code saves `~/.claude.json` that way; with `CLAUDE_CONFIG_DIR`
//! it uses `~/.claude/.claude.json` instead. Before the session, nono
//! copies the user's file there when that copy is missing or older; after
//! a `run` session, nono (not the agent) copies a changed copy back,
//! atomically, so Claude inside and outside nono share one state.
//!
//! Both copies are made by the front end from descriptors opened without
//! following symbolic links, of regular files owned by the user, so an
//! agent cannot turn the copy-back into a read of another file: what it
//! can change is the copy's content, and it may already write the user's
//! file itself (the profile grants it).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{openat, openat2, renameat, OFlag, OpenHow, ResolveFlag, AT_FDCWD};
use nix::sys::stat::Mode;
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::ui;

/// Largest file mirrored (Claude's state is typically well under 1 MiB).
const MAX_BYTES: u64 = 16 << 20;

#[derive(Debug)]
pub struct Mirror {
    /// Where the agent keeps it (in a granted directory).
    pub inside: PathBuf,
    /// The user's file.
    pub outside: PathBuf,
    /// The copy's content when the session started.
    start: Option<Vec<u8>>,
    /// JSON key paths that stay the user's (profile `mirror_user_keys`):
    /// whatever the agent put there is not copied back.
    user_keys: Vec<String>,
}

/// Set every `keys` location (dot-separated, `*` for every key of an
/// object) of `new` to the user's value there, or remove it when the user
/// has none.
fn keep_user_keys(new: &mut serde_json::Value, user: Option<&serde_json::Value>, keys: &[&str]) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    let Some(obj) = new.as_object_mut() else {
        return;
    };
    let names: Vec<String> = if *first == "*" {
        obj.keys().cloned().collect()
    } else {
        vec![first.to_string()]
    };
    for name in names {
        let theirs = user.and_then(|u| u.get(&name));
        if rest.is_empty() {
            match theirs {
                Some(v) => {
                    obj.insert(name, v.clone());
                }
                None => {
                    obj.remove(&name);
                }
            }
        } else if let Some(child) = obj.get_mut(&name) {
            keep_user_keys(child, theirs, rest);
        }
    }
}

/// The copy to write back: `copy` with the user's values at `keys`.
fn filtered(copy: &[u8], outside: &Path, keys: &[String]) -> Result<Vec<u8>> {
    if keys.is_empty() {
        return Ok(copy.to_vec());
    }
    let mut new: serde_json::Value =
        serde_json::from_slice(copy).context("the copy is not valid JSON")?;
    let user: Option<serde_json::Value> = match read_own(outside)? {
        Some((bytes, _)) => {
            Some(serde_json::from_slice(&bytes).context("the user's file is not valid JSON")?)
        }
        None => None,
    };
    for k in keys {
        let path: Vec<&str> = k.split('.').collect();
        keep_user_keys(&mut new, user.as_ref(), &path);
    }
    let mut out = serde_json::to_vec_pretty(&new)?;
    out.push(b'\n');
    Ok(out)
}

/// Open `path` (absolute) without following a symbolic link anywhere on
/// the way.
fn open_nofollow(path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(AT_FDCWD, path, how)
}

/// Read a regular file owned by the effective user, reached without a
/// symbolic link; None when it does not exist.
fn read_own(path: &Path) -> Result<Option<(Vec<u8>, fs::Metadata)>> {
    let fd = match open_nofollow(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => bail!(
            "cannot open {} without following links: {e}",
            path.display()
        ),
    };
    let f = File::from(fd);
    let meta = f.metadata()?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        bail!("{} is not owned by the user running nono", path.display());
    }
    if meta.len() > MAX_BYTES {
        bail!("{} is larger than {MAX_BYTES} bytes", path.display());
    }
    let mut buf = Vec::new();
    f.take(MAX_BYTES + 1).read_to_end(&mut buf)?;
    Ok(Some((buf, meta)))
}

/// Replace `path` with `bytes`: a new file in the same directory (reached
/// without a link), then rename there.
fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().context("no parent directory")?;
    let name = path.file_name().context("no file name")?;
    let tmp = format!(".{}.nono-{}", name.to_string_lossy(), std::process::id());
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot write {}: {e}", path.display());
    let dirfd = open_nofollow(dir, OFlag::O_DIRECTORY | OFlag::O_RDONLY).map_err(|e| fail(&e))?;
    let fd = openat(
        &dirfd,
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode & 0o7777),
    )
    .map_err(|e| fail(&e))?;
    let mut f = File::from(fd);
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| fail(&e))
        .and_then(|()| renameat(&dirfd, tmp.as_str(), &dirfd, name).map_err(|e| fail(&e)));
    if written.is_err() {
        let _ = unlinkat(&dirfd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    }
    written
}

/// Bring the copy up to date before the session.
pub fn prepare(inside: PathBuf, outside: PathBuf, user_keys: Vec<String>) -> Result<Mirror> {
    let theirs = read_own(&outside)?;
    let ours = read_own(&inside)?;
    let newer = match (&theirs, &ours) {
        (Some(_), None) => true,
        (Some((t, tm)), Some((o, om))) => t != o && tm.mtime() > om.mtime(),
        _ => false,
    };
    let start = if newer {
        let (bytes, meta) = theirs.context("checked above")?;
        replace(&inside, &bytes, meta.mode())?;
        ui::info(format!(
            "copied {} to {} (profile mirror_files)",
            outside.display(),
            inside.display()
        ));
        Some(bytes)
    } else {
        ours.map(|(b, _)| b)
    };
    Ok(Mirror {
        inside,
        outside,
        start,
        user_keys,
    })
}

impl Mirror {
    /// After the session: copy a changed copy back to the user's file.
    pub fn finish(&self) {
        let copy = match read_own(&self.inside) {
            Ok(Some((bytes, meta))) => (bytes, meta),
            Ok(None) => return,
            Err(e) => {
                ui::warn(format!(
                    "{e}: not copied back to {}",
                    self.outside.display()
                ));
                return;
            }
        };
        if self.start.as_deref() == Some(copy.0.as_slice()) {
            return;
        }
        let mode = fs::symlink_metadata(&self.outside)
            .map(|m| m.mode())
            .unwrap_or(copy.1.mode());
        let bytes = match filtered(&copy.0, &self.outside, &self.user_keys) {
            Ok(b) => b,
            Err(e) => {
                ui::warn(format!(
                    "{}: {e:#}: not copied back to {}",
                    self.inside.display(),
                    self.outside.display()
                ));
                return;
            }
        };
        match replace(&self.outside, &bytes, mode) {
            Ok(()) => ui::info(format!(
                "copied {} back to {} (profile mirror_files)",
                self.inside.display(),
                self.outside.display()
            )),
            Err(e) => ui::warn(format!("{e:#}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nono-mirror-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("in")).unwrap();
        d
    }

    #[test]
    fn seeds_a_missing_copy_and_copies_changes_back() {
        let d = scratch("round");
        let (inside, outside) = (d.join("in/state.json"), d.join("state.json"));
        fs::write(&outside, "user").unwrap();
        let m = prepare(inside.clone(), outside.clone(), Vec::new()).unwrap();
        assert_eq!(fs::read_to_string(&inside).unwrap(), "user");
        m.finish(); // unchanged: nothing copied
        assert_eq!(fs::read_to_string(&outside).unwrap(), "user");
        fs::write(&inside, "agent").unwrap();
        m.finish();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "agent");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_symlinked_copy_or_directory_is_never_read() {
        let d = scratch("link");
        let (inside, outside) = (d.join("in/state.json"), d.join("state.json"));
        let secret = d.join("secret");
        fs::write(&secret, "do-not-copy").unwrap();
        let m = prepare(inside.clone(), outside.clone(), Vec::new()).unwrap();
        std::os::unix::fs::symlink(&secret, &inside).unwrap();
        m.finish();
        assert!(!outside.exists(), "followed the agent's symlink");
        // A link higher up the path is refused too.
        fs::create_dir(d.join("real")).unwrap();
        fs::write(d.join("real/state.json"), "do-not-copy").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("via")).unwrap();
        let m = prepare(d.join("via/state.json"), d.join("other.json"), Vec::new());
        assert!(m.is_err(), "followed a linked directory");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn user_keys_are_never_copied_back_from_the_agent() {
        let d = scratch("keys");
        let (inside, outside) = (d.join("in/state.json"), d.join("state.json"));
        fs::write(
            &outside,
            r#"{"n": 1, "mcpServers": {"mine": {"command": "ok"}}, "projects": {"/p": {"x": 1}}}"#,
        )
        .unwrap();
        let keys = vec![
            "mcpServers".to_string(),
            "projects.*.mcpServers".to_string(),
        ];
        let m = prepare(inside.clone(), outside.clone(), keys).unwrap();
        fs::write(
            &inside,
            r#"{"n": 2, "mcpServers": {"evil": {"command": "sh"}}, "projects": {"/p": {"x": 2, "mcpServers": {"e": {"command": "sh"}}}}}"#,
        )
        .unwrap();
        m.finish();
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&outside).unwrap()).unwrap();
        assert_eq!(v["n"], 2, "the agent's other state is kept");
        assert_eq!(
            v["mcpServers"],
            serde_json::json!({"mine": {"command": "ok"}})
        );
        assert_eq!(v["projects"]["/p"]["x"], 2);
        assert!(v["projects"]["/p"].get("mcpServers").is_none(), "{v}");
        fs::remove_dir_all(&d).unwrap();
    }
}

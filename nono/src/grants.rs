//! Resolving the user's filesystem flags and the built-in defaults into a
//! capability set. Every user path is canonicalised here, and a problem
//! names the flag that asked for it.

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sandbox::{AccessMode, CapabilitySet, GrantKind};

use crate::cli::FsArgs;

/// Where a grant came from, for messages and listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Group(String),
    /// A profile field, e.g. `claude-code filesystem.allow`.
    Profile(String),
    /// The working directory, shared by `--allow-cwd` or the prompt.
    Workdir,
    PrivateTmp,
    Terminal,
}

impl Source {
    /// Who granted it, for listings and `why`.
    pub fn describe(&self) -> String {
        match self {
            Source::Flag(f) => f.to_string(),
            Source::Group(g) => format!("group {g}"),
            Source::Profile(p) => format!("profile {p}"),
            Source::Workdir => "--allow-cwd".to_string(),
            Source::PrivateTmp => "private temp dir".to_string(),
            Source::Terminal => "this session's terminal".to_string(),
        }
    }
}

/// One resolved grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub path: PathBuf,
    pub mode: AccessMode,
    pub kind: GrantKind,
    pub source: Source,
}

impl Grant {
    pub fn is_user(&self) -> bool {
        matches!(self.source, Source::Flag(_))
    }
}

fn resolve_user(
    flag: &'static str,
    raw: &Path,
    kind: GrantKind,
    mode: AccessMode,
) -> Result<PathBuf> {
    let path = match crate::canon::canonicalize(raw) {
        Ok(p) => p,
        Err(e)
            if e.kind() == io::ErrorKind::NotFound && kind == GrantKind::File && mode.writes() =>
        {
            return missing_file(flag, raw);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => bail!(
            "{flag} {}: path does not exist (create it first, or fix the path)",
            raw.display()
        ),
        Err(e) => bail!("{flag} {}: cannot resolve: {e}", raw.display()),
    };
    match (kind, path.is_dir()) {
        (GrantKind::Tree, false) => bail!(
            "{flag} {}: not a directory; use the file form (--allow-file, --read-file, --write-file)",
            raw.display()
        ),
        (GrantKind::File, true) => bail!(
            "{flag} {}: is a directory; use --allow, --read or --write for directories",
            raw.display()
        ),
        _ => Ok(path),
    }
}

/// A writable single file that does not exist yet (`--write-file
/// ./output.log`): its canonical parent, which must exist, and its name.
/// The file is created (0600) only when the session launches and after the
/// policy has been checked (`policy::resolve`), never for `why` or
/// `--dry-run`.
fn missing_file(flag: &'static str, raw: &Path) -> Result<PathBuf> {
    if let Ok(target) = fs::read_link(raw) {
        bail!(
            "{flag} {}: a symbolic link to {}, which does not exist; nono creates no file \
             through a link (create the target first, or name it directly)",
            raw.display(),
            target.display()
        );
    }
    let name = raw
        .file_name()
        .filter(|n| *n != ".." && *n != ".")
        .with_context(|| format!("{flag} {}: not a file name", raw.display()))?;
    let parent = match raw.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(parent).map_err(|_| {
        anyhow::anyhow!(
            "{flag} {}: neither the file nor its directory {} exists (create the directory first)",
            raw.display(),
            parent.display()
        )
    })?;
    if !dir.is_dir() {
        bail!(
            "{flag} {}: {} is not a directory",
            raw.display(),
            parent.display()
        );
    }
    Ok(dir.join(name))
}

/// Create the missing files that writable single-file grants name, empty
/// and private (0600), never through a symbolic link. Returns them.
pub fn create_missing_files(grants: &[Grant]) -> Result<Vec<PathBuf>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut made = Vec::new();
    for g in grants.iter().filter(|g| {
        g.is_user()
            && g.kind == GrantKind::File
            && g.mode.writes()
            && fs::symlink_metadata(&g.path).is_err()
    }) {
        let flag = match g.source {
            Source::Flag(f) => f,
            _ => "--write-file",
        };
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&g.path)
            .with_context(|| format!("{flag} {}: cannot create it", g.path.display()))?;
        made.push(g.path.clone());
    }
    Ok(made)
}

/// The working directory: `--workdir` or the current directory, canonical.
pub fn workdir(args: &FsArgs) -> Result<PathBuf> {
    match &args.workdir {
        Some(w) => resolve_user("--workdir", w, GrantKind::Tree, AccessMode::Read),
        None => std::env::current_dir()
            .and_then(fs::canonicalize)
            .context("cannot determine the current directory"),
    }
}

/// The user's grants, in flag order.
pub fn user_grants(args: &FsArgs) -> Result<Vec<Grant>> {
    use AccessMode::{Read, ReadWrite, Write};
    use GrantKind::{File, Tree};
    let lists: [(&'static str, &Vec<PathBuf>, AccessMode, GrantKind); 6] = [
        ("--allow", &args.allow, ReadWrite, Tree),
        ("--read", &args.read, Read, Tree),
        ("--write", &args.write, Write, Tree),
        ("--allow-file", &args.allow_file, ReadWrite, File),
        ("--read-file", &args.read_file, Read, File),
        ("--write-file", &args.write_file, Write, File),
    ];
    let mut out = Vec::new();
    for (flag, paths, mode, kind) in lists {
        for raw in paths {
            let path = resolve_user(flag, raw, kind, mode)?;
            out.push(Grant {
                path,
                mode,
                kind,
                source: Source::Flag(flag),
            });
        }
    }
    Ok(out)
}

/// A built-in or profile grant: canonical if it exists, `None` if not
/// (built-in paths that are missing on this machine are skipped).
pub fn existing(path: &Path, mode: AccessMode, source: Source) -> Option<Grant> {
    let (path, dir) = crate::canon::canonicalize_kind(path).ok()?;
    if through_own_proc(&path) {
        return None;
    }
    let kind = if dir {
        GrantKind::Tree
    } else {
        GrantKind::File
    };
    Some(Grant {
        path,
        mode,
        kind,
        source,
    })
}

/// A built-in path that resolved through `/proc/self` into nono's own
/// entries (`/dev/fd` -> `/proc/<nono>/fd`): a grant there would name
/// nono's descriptors, never the command's, and the command sees a /proc of
/// its own. It reaches its own descriptors through `/proc/self`, which the
/// procfs group grants.
fn through_own_proc(path: &Path) -> bool {
    static OWN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    path.starts_with(OWN.get_or_init(|| format!("/proc/{}", std::process::id()).into()))
}

/// The terminals on descriptors 0-2, each as a single-file grant, so the
/// command can reopen its own terminal by name without reaching the others.
pub fn own_terminals() -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    for fd in [
        std::io::stdin().as_fd(),
        std::io::stdout().as_fd(),
        std::io::stderr().as_fd(),
    ] {
        if !nix::unistd::isatty(fd).unwrap_or(false) {
            continue;
        }
        let Ok(path) = nix::unistd::ttyname(fd) else {
            continue;
        };
        let Ok(path) = fs::canonicalize(path) else {
            continue;
        };
        if !out.iter().any(|g| g.path == path) {
            out.push(Grant {
                path,
                mode: AccessMode::ReadWrite,
                kind: GrantKind::File,
                source: Source::Terminal,
            });
        }
    }
    out
}

/// Build the capability set from resolved grants.
/// The rules the kernel gets. A `--dry-run` created no missing file for a
/// writable single-file grant, so that rule waits for the launch (the
/// listing shows it as "created at launch").
pub fn existing_or_created(rules: &[Grant], dry_run: bool) -> Vec<Grant> {
    rules
        .iter()
        .filter(|g| {
            !(dry_run && g.kind == GrantKind::File && fs::symlink_metadata(&g.path).is_err())
        })
        .cloned()
        .collect()
}

/// `skip_vanished`: a grant whose path is gone by now is left out (only
/// narrows) instead of failing.
pub fn capability_set(grants: &[Grant], skip_vanished: bool) -> Result<CapabilitySet> {
    let mut caps = CapabilitySet::new();
    caps.set_skip_vanished(skip_vanished);
    for g in grants {
        let r = match g.kind {
            GrantKind::Tree => caps.allow_tree(&g.path, g.mode).map(|_| ()),
            GrantKind::File => caps.allow_file(&g.path, g.mode).map(|_| ()),
        };
        if r.is_err() && skip_vanished && fs::symlink_metadata(&g.path).is_err() {
            continue;
        }
        r.with_context(|| format!("cannot grant {}", g.path.display()))?;
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_path_names_the_flag() {
        let args = FsArgs {
            read: vec!["/no/such/dir".into()],
            ..FsArgs::default()
        };
        let err = user_grants(&args).unwrap_err().to_string();
        assert!(err.contains("--read /no/such/dir"), "{err}");
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn file_flag_on_directory_is_refused() {
        let args = FsArgs {
            read_file: vec!["/usr".into()],
            ..FsArgs::default()
        };
        let err = user_grants(&args).unwrap_err().to_string();
        assert!(
            err.contains("--read-file") && err.contains("is a directory"),
            "{err}"
        );
    }

    #[test]
    fn relative_paths_become_canonical() {
        let dir = tempfile::tempdir().unwrap();
        let args = FsArgs {
            allow: vec![dir.path().join(".")],
            ..FsArgs::default()
        };
        let g = user_grants(&args).unwrap();
        assert_eq!(g[0].path, fs::canonicalize(dir.path()).unwrap());
        assert_eq!(g[0].mode, AccessMode::ReadWrite);
    }
}

//! Pathname unix-socket grants (`--allow-unix-socket*` flags and the
//! profile's `filesystem.allow_unix_socket*` fields): what the broker lets
//! the agent connect to or bind, and the filesystem access each implies.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipc::broker::{WireUnixGrant, WireUnixScope};
use sandbox::{AccessMode, GrantKind};

use crate::cli::UnixSocketArgs;
use crate::grants::{Grant, Source};
use crate::policy::decide::{UnixScope, ViewUnix};
use crate::policy::profile::Profile;
use crate::policy::vars::Vars;

struct Kind {
    flag: &'static str,
    scope: WireUnixScope,
    bind: bool,
}

const KINDS: [Kind; 6] = [
    Kind {
        flag: "allow-unix-socket",
        scope: WireUnixScope::Socket,
        bind: false,
    },
    Kind {
        flag: "allow-unix-socket-bind",
        scope: WireUnixScope::Socket,
        bind: true,
    },
    Kind {
        flag: "allow-unix-socket-dir",
        scope: WireUnixScope::Dir,
        bind: false,
    },
    Kind {
        flag: "allow-unix-socket-dir-bind",
        scope: WireUnixScope::Dir,
        bind: true,
    },
    Kind {
        flag: "allow-unix-socket-subtree",
        scope: WireUnixScope::Subtree,
        bind: false,
    },
    Kind {
        flag: "allow-unix-socket-subtree-bind",
        scope: WireUnixScope::Subtree,
        bind: true,
    },
];

fn lists<'a>(l: &'a UnixSocketArgs, p: &'a Profile) -> [(Vec<PathBuf>, &'a [String]); 6] {
    let f = &p.filesystem;
    [
        (l.allow_unix_socket.clone(), &f.allow_unix_socket[..]),
        (
            l.allow_unix_socket_bind.clone(),
            &f.allow_unix_socket_bind[..],
        ),
        (
            l.allow_unix_socket_dir.clone(),
            &f.allow_unix_socket_dir[..],
        ),
        (
            l.allow_unix_socket_dir_bind.clone(),
            &f.allow_unix_socket_dir_bind[..],
        ),
        (
            l.allow_unix_socket_subtree.clone(),
            &f.allow_unix_socket_subtree[..],
        ),
        (
            l.allow_unix_socket_subtree_bind.clone(),
            &f.allow_unix_socket_subtree_bind[..],
        ),
    ]
}

/// The canonical socket path (its parent must exist; the socket itself
/// only for connect-only grants).
fn canonical(path: &Path, k: &Kind) -> Result<PathBuf> {
    let what = format!("--{} {}", k.flag, path.display());
    if k.scope != WireUnixScope::Socket {
        let c =
            std::fs::canonicalize(path).with_context(|| format!("{what}: no such directory"))?;
        if !c.is_dir() {
            bail!("{what}: not a directory");
        }
        return Ok(c);
    }
    if let Ok(c) = std::fs::canonicalize(path) {
        return Ok(c);
    }
    if !k.bind {
        bail!("{what}: no such socket (use --allow-unix-socket-bind for a socket the command creates)");
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        bail!("{what}: not a socket path");
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let p = std::fs::canonicalize(parent)
        .with_context(|| format!("{what}: no such directory {}", parent.display()))?;
    Ok(p.join(name))
}

/// The filesystem access a grant implies (spec: read for connect; write on
/// the directory that receives a bound socket).
fn implied(path: &Path, k: &Kind) -> Grant {
    let (path, kind, mode) = match (k.scope, k.bind) {
        (WireUnixScope::Socket, false) => (path.to_path_buf(), GrantKind::File, AccessMode::Read),
        (WireUnixScope::Socket, true) => (
            path.parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/")),
            GrantKind::Tree,
            AccessMode::ReadWrite,
        ),
        (_, false) => (path.to_path_buf(), GrantKind::Tree, AccessMode::Read),
        (_, true) => (path.to_path_buf(), GrantKind::Tree, AccessMode::ReadWrite),
    };
    Grant {
        path,
        mode,
        kind,
        source: Source::Flag(k.flag),
    }
}

/// Every grant: its kind, canonical path and where it came from (the flag,
/// or the profile field).
fn each(
    l: &UnixSocketArgs,
    p: &Profile,
    vars: &Vars,
) -> Result<Vec<(&'static Kind, PathBuf, String)>> {
    let mut out = Vec::new();
    for (k, (flags, fields)) in KINDS.iter().zip(lists(l, p)) {
        let field = format!("profile filesystem.{}", k.flag.replace('-', "_"));
        let mut paths: Vec<(PathBuf, String)> = flags
            .into_iter()
            .map(|f| (f, format!("--{}", k.flag)))
            .collect();
        for raw in fields {
            if let Some(p) = vars.expand(raw).with_context(|| field.clone())? {
                paths.push((p, field.clone()));
            }
        }
        for (path, source) in paths {
            out.push((k, canonical(&path, k)?, source));
        }
    }
    Ok(out)
}

/// Whether the profile names unix sockets at all.
pub fn asked_by_profile(p: &Profile) -> bool {
    lists(&UnixSocketArgs::default(), p)
        .iter()
        .any(|(_, fields)| !fields.is_empty())
}

/// The broker's grants and the filesystem rules they imply.
pub fn plan(
    l: &UnixSocketArgs,
    p: &Profile,
    vars: &Vars,
) -> Result<(Vec<WireUnixGrant>, Vec<Grant>)> {
    let mut wire = Vec::new();
    let mut fs = Vec::new();
    for (k, c, _) in each(l, p, vars)? {
        fs.push(implied(&c, k));
        wire.push(WireUnixGrant {
            path: c.as_os_str().as_bytes().to_vec(),
            scope: k.scope,
            bind: k.bind,
        });
    }
    Ok((wire, fs))
}

/// The same grants as `why` sees them.
pub fn view(l: &UnixSocketArgs, p: &Profile, vars: &Vars) -> Result<Vec<ViewUnix>> {
    Ok(each(l, p, vars)?
        .into_iter()
        .map(|(k, path, source)| ViewUnix {
            path,
            scope: match k.scope {
                WireUnixScope::Socket => UnixScope::Socket,
                WireUnixScope::Dir => UnixScope::Dir,
                WireUnixScope::Subtree => UnixScope::Subtree,
            },
            bind: k.bind,
            source,
        })
        .collect())
}

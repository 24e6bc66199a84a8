//! `nono why --op connect|bind`: pathname unix sockets. Landlock does not
//! mediate connecting to one, so in `nono run` the broker judges every
//! pathname `connect(2)`/`bind(2)` against these grants (on the object the
//! address names, symlinks resolved as the kernel would) and performs the
//! granted ones itself. `nono wrap` has no broker and refuses them all.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::decide::{source_kind, Answer, UnixScope, View, ViewUnix};
use super::protect::canonical_lenient;

impl ViewUnix {
    /// The broker's rule, on the canonical socket path.
    fn covers(&self, p: &Path, bind: bool) -> bool {
        (self.bind || !bind)
            && match self.scope {
                UnixScope::Socket => p == self.path,
                UnixScope::Dir => p.parent() == Some(self.path.as_path()),
                UnixScope::Subtree => p.starts_with(&self.path),
            }
    }
}

/// The socket `raw` names: for connect the object itself (symlinks
/// followed); for bind the resolved directory plus the new name.
fn socket_path(raw: &Path, bind: bool) -> PathBuf {
    let abs = std::path::absolute(raw).unwrap_or_else(|_| raw.to_path_buf());
    match (bind, abs.parent(), abs.file_name()) {
        (true, Some(dir), Some(name)) => canonical_lenient(dir).join(name),
        _ => canonical_lenient(&abs),
    }
}

/// Whether `connect` (or `bind`) on the socket at `raw` is granted.
pub fn answer(view: &View, raw: &Path, bind: bool) -> Answer {
    let p = socket_path(raw, bind);
    let op = if bind { "bind" } else { "connect" };
    let base = Answer {
        status: "denied",
        reason: "unix_socket_not_granted",
        path: Some(p.clone()),
        op: Some(op),
        category: None,
        granted_by: None,
        details: String::new(),
        suggestion: None,
        suggested_flag: None,
        source: Some("default".into()),
    };
    if let Some(g) = view.unix.iter().find(|g| g.covers(&p, bind)) {
        return Answer {
            status: "allowed",
            reason: "granted_unix_socket",
            granted_by: Some(format!("{} {}", g.source, g.path.display())),
            details: format!(
                "{op} on {} is granted by {} {}; in nono run the broker performs it \
                 (nono wrap has no broker and refuses every pathname unix socket).",
                p.display(),
                g.source,
                g.path.display()
            ),
            source: Some(source_kind(&g.source)),
            ..base
        };
    }
    let flag = if bind {
        "--allow-unix-socket-bind"
    } else {
        "--allow-unix-socket"
    };
    let missing = !bind && !p.exists();
    let not_a_socket = !bind && std::fs::metadata(&p).is_ok_and(|m| !m.file_type().is_socket());
    if not_a_socket {
        return Answer {
            details: format!(
                "No grant helps: {} is not a socket, so connect(2) on it fails even where \
                 granted (the broker refuses it: not a granted unix socket).",
                p.display()
            ),
            ..base
        };
    }
    Answer {
        details: if missing {
            format!(
                "No unix-socket grant covers {}, and no socket exists there yet: \
                 --allow-unix-socket needs an existing socket (--allow-unix-socket-bind \
                 or --allow-unix-socket-dir for one created later).",
                p.display()
            )
        } else {
            format!(
                "No unix-socket grant covers {}: the broker refuses {op}(2) on it \
                 (profile field filesystem.allow_unix_socket{} or the flag below grants it).",
                p.display(),
                if bind { "_bind" } else { "" }
            )
        },
        suggestion: Some(format!("{flag} {}", p.display())),
        suggested_flag: (!missing).then(|| format!("{flag} {}", p.display())),
        ..base
    }
}

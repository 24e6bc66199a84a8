//! What a traced call means for the sandbox: a filesystem access (read or
//! write of a file, listing of a directory, a new or removed entry in a
//! directory), a network connection, a unix socket, a DNS answer.
//!
//! Only calls Landlock or the broker decide count: `stat`, `access`,
//! `readlink` and `chdir` are never restricted, `O_PATH` opens neither.

use std::path::{Path, PathBuf};

use super::parse::{self, Call};

pub use super::event::{Access, Event, Target};

/// The state one trace file (one thread) needs: its last known cwd.
pub struct Thread {
    pub cwd: PathBuf,
    /// Traced inside the sandbox (`--sandboxed`): a call refused with
    /// EACCES or EPERM (Landlock, seccomp, the broker) is what the command
    /// needed, so it counts as if it had succeeded.
    pub sandboxed: bool,
}

/// The errors a sandbox refusal gives.
const REFUSED: [&str; 2] = ["EACCES", "EPERM"];

const O_ACCMODE: [(&str, Access); 2] = [("O_WRONLY", Access::Write), ("O_RDWR", Access::Write)];

impl Thread {
    /// The events of one call (none for calls that failed or do not count).
    pub fn events(&mut self, c: &Call) -> Vec<Event> {
        if let Some(cwd) = c.args.first().filter(|a| a.starts_with("AT_FDCWD<")) {
            if let Some(p) = parse::fd_path(cwd) {
                self.cwd = p;
            }
        }
        let refused = self.sandboxed && c.errno.as_deref().is_some_and(|e| REFUSED.contains(&e));
        if c.ret < 0 && c.errno.as_deref() != Some("EINPROGRESS") && !refused {
            return Vec::new();
        }
        match c.name.as_str() {
            "open" | "creat" => self.open(c, 0),
            "openat" | "openat2" => self.open(c, 1),
            "execve" => self.node(c, 0, Access::Read),
            "execveat" => self.at_node(c, 0, Access::Read),
            "truncate" | "chmod" | "chown" | "lchown" | "utime" | "utimes" | "setxattr"
            | "lsetxattr" | "removexattr" | "lremovexattr" => self.node(c, 0, Access::Write),
            "fchmodat" | "fchownat" | "futimesat" | "utimensat" => {
                self.at_node(c, 0, Access::Write)
            }
            "fchmod" | "fchown" | "fsetxattr" | "fremovexattr" | "ftruncate" => c
                .args
                .first()
                .and_then(|a| parse::fd_path(a))
                .map(|path| fs(path, Access::Write, Target::Node))
                .into_iter()
                .collect(),
            "mkdir" | "rmdir" | "unlink" | "mknod" => self.entries(c, &[None]),
            "mkdirat" | "unlinkat" | "mknodat" => self.entries(c, &[Some(0)]),
            "rename" | "link" => self.entries(c, &[None, None]),
            "symlink" => self.entry_at(c, None, 1).into_iter().collect(),
            "symlinkat" => self.entry_at(c, Some(1), 2).into_iter().collect(),
            "renameat" | "renameat2" | "linkat" => self.entries(c, &[Some(0), Some(2)]),
            "connect" => super::net::connect(c),
            "bind" => super::net::bind(c),
            "recvfrom" | "recvmsg" => super::net::dns_answer(c),
            _ => Vec::new(),
        }
    }

    fn resolve(&self, dirfd: Option<&str>, raw: &Path) -> PathBuf {
        if raw.is_absolute() {
            return raw.to_path_buf();
        }
        let base = dirfd
            .and_then(parse::fd_path)
            .unwrap_or_else(|| self.cwd.clone());
        base.join(raw)
    }

    fn open(&self, c: &Call, path_arg: usize) -> Vec<Event> {
        let flags = c.args.get(path_arg + 1).map(String::as_str).unwrap_or("");
        let flags = if c.name == "creat" {
            "O_WRONLY|O_CREAT|O_TRUNC"
        } else {
            flags
        };
        if flags.contains("O_PATH") {
            return Vec::new();
        }
        let Some(raw) = c.args.get(path_arg).and_then(|a| parse::path(a)) else {
            return Vec::new();
        };
        let dirfd = (path_arg == 1).then(|| c.args[0].as_str());
        let path = c
            .ret_note
            .as_deref()
            .filter(|n| n.starts_with("\\x2f"))
            .map(|n| PathBuf::from(std::ffi::OsString::from(bytes_str(n))))
            .unwrap_or_else(|| self.resolve(dirfd, &raw));
        let write = O_ACCMODE.iter().any(|(f, _)| flags.contains(f));
        let mut out = vec![fs(
            path.clone(),
            if write { Access::Write } else { Access::Read },
            Target::Node,
        )];
        if flags.contains("O_RDWR") {
            out.push(fs(path.clone(), Access::Read, Target::Node));
        }
        // Opening a device or a fifo with O_CREAT (`> /dev/null`) creates nothing.
        let special = std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if flags.contains("O_CREAT") && !special {
            if let Some(parent) = path.parent() {
                out.push(fs(parent.to_path_buf(), Access::Write, Target::Entry));
            }
        }
        out
    }

    fn node(&self, c: &Call, i: usize, access: Access) -> Vec<Event> {
        c.args
            .get(i)
            .and_then(|a| parse::path(a))
            .map(|raw| fs(self.resolve(None, &raw), access, Target::Node))
            .into_iter()
            .collect()
    }

    /// `*at(dirfd, path, ...)`; an empty or NULL path names the descriptor.
    fn at_node(&self, c: &Call, i: usize, access: Access) -> Vec<Event> {
        let dirfd = c.args.get(i).map(String::as_str);
        let path = match c.args.get(i + 1).and_then(|a| parse::path(a)) {
            Some(raw) if !raw.as_os_str().is_empty() => self.resolve(dirfd, &raw),
            _ => match dirfd.and_then(parse::fd_path) {
                Some(p) => p,
                None => return Vec::new(),
            },
        };
        vec![fs(path, access, Target::Node)]
    }

    /// Entries named by `(dirfd index, path = dirfd index + 1)` pairs, or by
    /// cwd-relative paths (`None`, taken in order from the first argument).
    fn entries(&self, c: &Call, slots: &[Option<usize>]) -> Vec<Event> {
        slots
            .iter()
            .enumerate()
            .filter_map(|(n, slot)| match slot {
                Some(d) => self.entry_at(c, Some(*d), d + 1),
                None => self.entry_at(c, None, n),
            })
            .collect()
    }

    fn entry_at(&self, c: &Call, dirfd: Option<usize>, i: usize) -> Option<Event> {
        let raw = c.args.get(i).and_then(|a| parse::path(a))?;
        let dirfd = dirfd.and_then(|d| c.args.get(d)).map(String::as_str);
        let path = self.resolve(dirfd, &raw);
        let parent = lexical_parent(&path)?;
        Some(fs(parent, Access::Write, Target::Entry))
    }
}

fn fs(path: PathBuf, access: Access, target: Target) -> Event {
    Event::Fs {
        path,
        access,
        target,
    }
}

fn bytes_str(escaped: &str) -> String {
    String::from_utf8_lossy(&parse::unescape(escaped)).into_owned()
}

/// The parent of `p` with a trailing `/.` or `/` ignored.
fn lexical_parent(p: &Path) -> Option<PathBuf> {
    let clean: PathBuf = p.components().collect();
    clean.parent().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("\\x{b:02x}")).collect()
    }

    fn events(l: &str) -> Vec<Event> {
        traced(l, false)
    }

    fn traced(l: &str, sandboxed: bool) -> Vec<Event> {
        let mut t = Thread {
            cwd: PathBuf::from("/w"),
            sandboxed,
        };
        t.events(&parse::line(l).unwrap())
    }

    #[test]
    fn refusals_count_only_inside_the_sandbox() {
        let l = format!(
            "openat(AT_FDCWD<{}>, \"{}\", O_RDONLY) = -1 EACCES (Permission denied)",
            hex("/w"),
            hex("/h/.ssh/id")
        );
        assert!(traced(&l, false).is_empty());
        assert_eq!(
            traced(&l, true),
            vec![fs(PathBuf::from("/h/.ssh/id"), Access::Read, Target::Node)]
        );
        let missing = l.replace(
            "EACCES (Permission denied)",
            "ENOENT (No such file or directory)",
        );
        assert!(traced(&missing, true).is_empty());
    }

    #[test]
    fn opens_become_reads_writes_and_new_entries() {
        let l = format!(
            "openat(AT_FDCWD<{}>, \"{}\", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3<{}>",
            hex("/w"),
            hex("out.txt"),
            hex("/w/out.txt")
        );
        assert_eq!(
            events(&l),
            vec![
                fs("/w/out.txt".into(), Access::Write, Target::Node),
                fs("/w".into(), Access::Write, Target::Entry)
            ]
        );
        let l = format!(
            "openat(AT_FDCWD<{}>, \"{}\", O_RDONLY|O_PATH) = 3",
            hex("/w"),
            hex("x")
        );
        assert!(events(&l).is_empty());
        let l = format!("open(\"{}\", O_RDONLY) = -1 ENOENT (No)", hex("x"));
        assert!(events(&l).is_empty());
    }

    #[test]
    fn renames_touch_both_directories() {
        let l = format!(
            "renameat2(AT_FDCWD<{}>, \"{}\", AT_FDCWD<{}>, \"{}\", 0) = 0",
            hex("/w"),
            hex("a/tmp"),
            hex("/w"),
            hex("/b/final")
        );
        assert_eq!(
            events(&l),
            vec![
                fs("/w/a".into(), Access::Write, Target::Entry),
                fs("/b".into(), Access::Write, Target::Entry)
            ]
        );
        let l = format!("unlink(\"{}\") = 0", hex("gone"));
        assert_eq!(
            events(&l),
            vec![fs("/w".into(), Access::Write, Target::Entry)]
        );
    }
}

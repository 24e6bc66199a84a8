//! The broker's metadata services (chmod, chown, utimes) change regular
//! files, directories and symlinks only: never a device node, a FIFO or a
//! terminal, even one inside a write grant. Tried from inside `nono run`,
//! observed from outside.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nono_e2e::{is_root, nono_bin, run_sh, Ran, Scratch};

/// Mode, owner, group and modification time, as seen from outside.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    atime: (i64, i64),
}

fn meta(p: &Path) -> Meta {
    let m = std::fs::symlink_metadata(p).unwrap();
    Meta {
        mode: m.permissions().mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: (m.mtime(), m.mtime_nsec()),
        atime: (m.atime(), m.atime_nsec()),
    }
}

/// Puts a host object's metadata back if a test (against a broker that
/// lets it through) changed it.
struct Restore(PathBuf, Meta);

impl Drop for Restore {
    fn drop(&mut self) {
        let (p, m) = (&self.0, self.1);
        if !p.exists() || meta(p) == m {
            return;
        }
        eprintln!("restoring {} to {m:?}", p.display());
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(m.mode));
        let _ = std::os::unix::fs::lchown(p, Some(m.uid), Some(m.gid));
        let ts = |(s, ns): (i64, i64)| nix::sys::time::TimeSpec::new(s, ns);
        let _ = nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            p,
            &ts(m.atime),
            &ts(m.mtime),
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        );
    }
}

/// chmod, chown, touch, utime and fchmod (by descriptor) on `target`, each reporting
/// `<tag>-<n>=<status>`.
fn attempts(tag: &str, target: &Path) -> String {
    let t = target.display();
    format!(
        "chmod 0600 {t}; echo {tag}-chmod=$?; \
         chown 65534 {t} 2>/dev/null; echo {tag}-chown=$?; \
         touch -c -d 2001-01-01 {t}; echo {tag}-touch=$?; \
         python3 -c 'import os,sys; os.utime(sys.argv[1], (1, 1))' {t} 2>/dev/null; echo {tag}-utime=$?; \
         python3 -c 'import os,sys; os.fchmod(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK), 0o600)' {t} 2>/dev/null; echo {tag}-fchmod=$?; "
    )
}

fn refused_all(r: &Ran, tag: &str) {
    for op in ["chmod", "chown", "touch", "utime", "fchmod"] {
        let k = format!("{tag}-{op}=");
        let status = r
            .stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&k))
            .unwrap_or_else(|| panic!("{k} in {r:?}"));
        assert_ne!(status, "0", "{tag}: {op} must fail: {r:?}");
    }
}

#[test]
fn root_cannot_change_a_host_device_node() {
    if !is_root() {
        eprintln!("(not root: a user cannot change /dev/full anyway)");
        return;
    }
    let dev = Path::new("/dev/full");
    let before = meta(dev);
    let _restore = Restore(dev.to_path_buf(), before);
    // /dev/full is granted read-write by default (programs write to it).
    let r = run_sh(&[], &[], &attempts("full", dev));
    refused_all(&r, "full");
    assert_eq!(meta(dev), before, "/dev/full unchanged: {r:?}");
}

#[test]
fn fifos_and_device_nodes_inside_a_write_grant_keep_their_metadata() {
    let dir = Scratch::new();
    let (fifo, file) = (dir.join("fifo"), dir.join("file"));
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    std::fs::write(&file, "x").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut script = attempts("fifo", &fifo);
    let mut objects = vec![("fifo", fifo.clone())];
    if is_root() {
        // A second name for the host's /dev/full (char 1:7) inside the grant.
        let dev = dir.join("full");
        nix::sys::stat::mknod(
            &dev,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
            nix::sys::stat::makedev(1, 7),
        )
        .unwrap();
        script += &attempts("dev", &dev);
        objects.push(("dev", dev));
    }
    let before: Vec<Meta> = objects.iter().map(|(_, p)| meta(p)).collect();
    // The positive control: a regular file in the same grant changes.
    script += &format!("chmod 0600 {}; echo file-chmod=$?", file.display());
    let r = run_sh(&["--allow", &dir.s()], &[], &script);
    for (tag, _) in &objects {
        refused_all(&r, tag);
    }
    let after: Vec<Meta> = objects.iter().map(|(_, p)| meta(p)).collect();
    assert_eq!(after, before, "{objects:?} unchanged: {r:?}");
    assert!(r.stdout.contains("file-chmod=0"), "{r:?}");
    assert_eq!(meta(&file).mode, 0o600, "the regular file changed: {r:?}");
}

#[test]
fn the_terminal_the_session_was_given_cannot_be_chmodded() {
    let pty = nix::pty::openpty(None, None).unwrap();
    // The master stays open until after _restore (declared later) is dropped.
    let _master = pty.master;
    let slave = nix::unistd::ttyname(&pty.slave).unwrap();
    let before = meta(&slave);
    let _restore = Restore(slave.clone(), before);
    let dir = Scratch::new();
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    // The terminal is the session's stdin, so nono grants it (read-write,
    // that one file) for the command to reopen.
    let script = format!(
        "{}chmod 0600 {}; echo file-chmod=$?",
        attempts("tty", &slave),
        file.display()
    );
    let stdin: OwnedFd = pty.slave;
    let o = Command::new(nono_bin())
        .args(["run", "--allow", &dir.s(), "--", "/bin/sh", "-c", &script])
        .stdin(Stdio::from(stdin))
        .output()
        .unwrap();
    let r = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for op in ["chmod", "chown", "touch", "utime", "fchmod"] {
        assert!(
            !r.contains(&format!("tty-{op}=0")),
            "{} {op}: {r}",
            slave.display()
        );
    }
    assert_eq!(meta(&slave), before, "{} unchanged: {r}", slave.display());
    assert!(r.contains("file-chmod=0"), "{r}");
}

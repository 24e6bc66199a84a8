//! Metadata operations of the probe against the broker's metadata service:
//! glibc's `fchmodat(AT_SYMLINK_NOFOLLOW)` (which ends in
//! `chmod("/proc/self/fd/N")`), and a descriptor-swap race on that path (a
//! second thread `dup2()`s another file onto N while the main thread
//! changes the mode through `/proc/self/fd/N`), and a path-buffer race (a
//! second thread rewrites the path between the broker's copy and its act),
//! a descriptor race on `fchmod(N)` itself, and a directory-swap race (a
//! second thread exchanges a directory on the path with a symlink to a
//! directory outside, while the main thread changes a file under it);
//! inode flags (`chattr`) through a read-only descriptor, and opens with
//! access mode 3 (ioctls only), which Landlock checks no right for.
//!
//! Each prints `OK …` / `ERR errno …` and exits (0 / 10).

use std::ffi::CString;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{arg, fail, ok};

/// The descriptor number both racing threads fight over.
const RACE_FD: i32 = 201;

/// Run a metadata action; Some(..) never returns, None: not one of ours.
pub fn run(action: &str, args: &[String]) -> Option<std::convert::Infallible> {
    match action {
        "chmod-nofollow" => chmod_nofollow(arg(args, 2), arg(args, 3)),
        "race-proc-fd-chmod" => race_proc_fd(arg(args, 2), arg(args, 3), arg(args, 4)),
        "race-chmod-path" => race_path(arg(args, 2), arg(args, 3), arg(args, 4)),
        "race-fchmod" => race_fchmod(arg(args, 2), arg(args, 3), arg(args, 4)),
        "fchmod-opath" => fchmod_opath(arg(args, 2), arg(args, 3)),
        "threads-fchmod" => threads_fchmod(arg(args, 2), arg(args, 3), arg(args, 4)),
        "race-swap-dir-chmod" => race_swap_dir(arg(args, 2), arg(args, 3), arg(args, 4)),
        "set-nodump" => set_nodump(arg(args, 2)),
        "inode-flags" => inode_flags(arg(args, 2)),
        "file-setattr" => file_setattr(arg(args, 2)),
        "open-mode3" => open_mode3(arg(args, 2), arg(args, 3)),
        _ => None,
    }
}

fn mode_of(s: &str) -> libc::mode_t {
    libc::mode_t::from_str_radix(s, 8).unwrap_or_else(|_| exit(2))
}

/// `chmod-nofollow PATH MODE`: glibc's fchmodat(AT_FDCWD, PATH, MODE,
/// AT_SYMLINK_NOFOLLOW).
fn chmod_nofollow(path: &str, mode: &str) -> ! {
    let c = CString::new(path).unwrap_or_else(|_| exit(2));
    // SAFETY: c is a valid C string for the call's duration.
    let r = unsafe {
        libc::fchmodat(
            libc::AT_FDCWD,
            c.as_ptr(),
            mode_of(mode),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r < 0 {
        fail(std::io::Error::last_os_error())
    }
    ok("changed")
}

fn open_path(p: &str) -> i32 {
    let c = CString::new(p).unwrap_or_else(|_| exit(2));
    // SAFETY: c is a valid C string; O_PATH opens need no access to the file.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        fail(std::io::Error::last_os_error())
    }
    fd
}

/// Run `attempt` until `secs` have passed; prints the tries and how many
/// succeeded, after stopping the racing thread.
fn tally(
    secs: &str,
    stop: &AtomicBool,
    racer: std::thread::JoinHandle<()>,
    attempt: impl Fn() -> bool,
) -> ! {
    let end = Instant::now() + Duration::from_secs(secs.parse().unwrap_or(5));
    let (mut tries, mut changed) = (0u64, 0u64);
    while Instant::now() < end {
        tries += 1;
        if attempt() {
            changed += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = racer.join();
    ok(format!("tries={tries} changed={changed}"))
}

/// chmod `path` to 0777; true when it succeeded.
fn chmod_777(path: &std::ffi::CStr) -> bool {
    // SAFETY: path is a valid C string for the call's duration.
    unsafe { libc::chmod(path.as_ptr(), 0o777) == 0 }
}

/// `race-proc-fd-chmod INSIDE OUTSIDE SECONDS`: descriptor RACE_FD flips
/// between INSIDE and OUTSIDE (both opened O_PATH) on a second thread
/// while the main thread chmods `/proc/self/fd/RACE_FD` to 0777. Prints
/// the tries and how many succeeded; the test looks at OUTSIDE's mode.
fn race_proc_fd(inside: &str, outside: &str, secs: &str) -> ! {
    static STOP: AtomicBool = AtomicBool::new(false);
    let flipper = super::flip::flipping_fd(open_path(inside), open_path(outside), RACE_FD, &STOP);
    let via = CString::new(format!("/proc/self/fd/{RACE_FD}")).unwrap_or_default();
    tally(secs, &STOP, flipper, || chmod_777(&via))
}

/// `race-chmod-path INSIDE OUTSIDE SECONDS`: the main thread chmods the
/// path in a shared buffer to 0777 while a second thread rewrites that
/// buffer between INSIDE and OUTSIDE, byte by byte. Prints the tries and
/// how many succeeded; the test looks at OUTSIDE's mode.
fn race_path(inside: &str, outside: &str, secs: &str) -> ! {
    static STOP: AtomicBool = AtomicBool::new(false);
    let (addr, flipper) = super::flip::flipping(inside, outside, &STOP);
    tally(secs, &STOP, flipper, || {
        // SAFETY: addr is the leaked buffer; both contents are NUL-terminated within it.
        unsafe { libc::chmod(addr as *const libc::c_char, 0o777) == 0 }
    })
}

fn open_read(p: &str) -> i32 {
    let c = CString::new(p).unwrap_or_else(|_| exit(2));
    // SAFETY: c is a valid C string; the result is checked.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        fail(std::io::Error::last_os_error())
    }
    fd
}

/// `race-fchmod INSIDE OUTSIDE SECONDS`: descriptor RACE_FD flips between
/// INSIDE and OUTSIDE (both opened for reading, which is all fchmod needs)
/// on a second thread while the main thread calls `fchmod(RACE_FD, 0777)`.
fn race_fchmod(inside: &str, outside: &str, secs: &str) -> ! {
    static STOP: AtomicBool = AtomicBool::new(false);
    let flipper = super::flip::flipping_fd(open_read(inside), open_read(outside), RACE_FD, &STOP);
    tally(secs, &STOP, flipper, || {
        // SAFETY: fchmod takes a descriptor number and a mode.
        unsafe { libc::fchmod(RACE_FD, 0o777) == 0 }
    })
}

/// `race-swap-dir-chmod DIR OTHER SECONDS`: DIR/d is a directory holding
/// `f`; DIR/alt is a symlink to OTHER (which holds its own `f`). A second
/// thread keeps exchanging DIR/d and DIR/alt (renameat2 RENAME_EXCHANGE)
/// while the main thread chmods DIR/d/f (an absolute path of plain
/// components) to 0777: half the time that path leads through the
/// symlink to OTHER/f.
fn race_swap_dir(dir: &str, other: &str, secs: &str) -> ! {
    let d = format!("{dir}/d");
    let alt = CString::new(format!("{dir}/alt")).unwrap_or_else(|_| exit(2));
    let dc = CString::new(d.as_str()).unwrap_or_else(|_| exit(2));
    if std::fs::create_dir_all(&d)
        .and_then(|()| std::fs::write(format!("{d}/f"), "x"))
        .and_then(|()| std::os::unix::fs::symlink(other, format!("{dir}/alt")))
        .is_err()
    {
        fail(std::io::Error::last_os_error())
    }
    static STOP: AtomicBool = AtomicBool::new(false);
    let swapper = std::thread::spawn(move || {
        while !STOP.load(Ordering::Relaxed) {
            // SAFETY: both are valid C strings owned by this closure.
            unsafe {
                libc::renameat2(
                    libc::AT_FDCWD,
                    dc.as_ptr(),
                    libc::AT_FDCWD,
                    alt.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
        }
    });
    let f = CString::new(format!("{d}/f")).unwrap_or_else(|_| exit(2));
    tally(secs, &STOP, swapper, || chmod_777(&f))
}

/// `fchmod-opath PATH MODE`: fchmod on an `O_PATH` descriptor of PATH
/// (the kernel answers EBADF).
fn fchmod_opath(path: &str, mode: &str) -> ! {
    let fd = open_path(path);
    // SAFETY: fchmod takes a descriptor number and a mode.
    if unsafe { libc::fchmod(fd, mode_of(mode)) } < 0 {
        fail(std::io::Error::last_os_error())
    }
    ok("changed")
}

/// fchmod of a fresh read-only descriptor of `path`; true when it succeeded.
fn fchmod_fresh(path: &str, mode: libc::mode_t) -> bool {
    let fd = open_read(path);
    // SAFETY: fd is a descriptor this process just opened; closed right after.
    let changed = unsafe { libc::fchmod(fd, mode) } == 0;
    // SAFETY: as above.
    unsafe { libc::close(fd) };
    changed
}

/// `threads-fchmod INSIDE OUTSIDE N`: N threads, 16 at a time, each a new
/// thread with its own id, fchmod a descriptor of INSIDE (0600 or 0640
/// by turn) and one of OUTSIDE (0777); then a forked child does the same
/// from a thread of its own. Prints how many of each succeeded.
fn threads_fchmod(inside: &str, outside: &str, n: &str) -> ! {
    let n: usize = n.parse().unwrap_or(100);
    let one = |i: usize, inside: &str, outside: &str| {
        let mode = if i % 2 == 0 { 0o600 } else { 0o640 };
        (fchmod_fresh(inside, mode), fchmod_fresh(outside, 0o777))
    };
    let (mut ins, mut outs) = (0usize, 0usize);
    for batch in (0..n).collect::<Vec<_>>().chunks(16) {
        let handles: Vec<_> = batch
            .iter()
            .map(|&i| {
                let (a, b) = (inside.to_string(), outside.to_string());
                std::thread::spawn(move || one(i, &a, &b))
            })
            .collect();
        for h in handles {
            let (a, b) = h.join().unwrap_or((false, true));
            ins += usize::from(a);
            outs += usize::from(b);
        }
    }
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // SAFETY: every thread above has been joined: the probe is single-threaded here.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let (a, b) = (inside.to_string(), outside.to_string());
        let r = std::thread::spawn(move || one(0, &a, &b)).join();
        let code = match r {
            Ok((true, false)) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        };
        exit(code)
    }
    let mut status = 0;
    // SAFETY: status is a valid int to write the child's status into.
    if pid < 0 || unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        fail(std::io::Error::last_os_error())
    }
    let child = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    ok(format!(
        "inside={ins} outside={outs} child={}",
        u8::from(child)
    ))
}

/// `FS_IOC_GETFLAGS` / `FS_IOC_SETFLAGS` and the no-dump flag.
const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
const FS_IOC_SETFLAGS: libc::c_ulong = 0x4008_6602;
const FS_NODUMP_FL: libc::c_long = 0x40;

/// `set-nodump PATH`: open PATH read-only and add the no-dump inode flag
/// (`chattr +d`).
fn set_nodump(path: &str) -> ! {
    let c = CString::new(path).unwrap_or_else(|_| exit(2));
    // SAFETY: c is a valid C string; flags is a long the ioctls read and write; the descriptor is ours.
    unsafe {
        let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            fail(std::io::Error::last_os_error())
        }
        let mut flags: libc::c_long = 0;
        if libc::ioctl(fd, FS_IOC_GETFLAGS, &mut flags) != 0 {
            fail(std::io::Error::last_os_error())
        }
        flags |= FS_NODUMP_FL;
        if libc::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0 {
            fail(std::io::Error::last_os_error())
        }
    }
    ok("changed")
}

/// `struct file_attr` (Linux 6.17), its first version.
#[repr(C)]
#[derive(Default)]
struct FileAttr {
    xflags: u64,
    extsize: u32,
    nextents: u32,
    projid: u32,
    cowextsize: u32,
}
const SYS_FILE_GETATTR: libc::c_long = 468;
const SYS_FILE_SETATTR: libc::c_long = 469;
/// `FS_XFLAG_NODUMP`.
const XFLAG_NODUMP: u64 = 0x80;

/// `file-setattr PATH`: add the no-dump flag to PATH by path, with no
/// descriptor (`file_getattr`, then `file_setattr`).
fn file_setattr(path: &str) -> ! {
    let c = CString::new(path).unwrap_or_else(|_| exit(2));
    let mut fa = FileAttr::default();
    let size = std::mem::size_of::<FileAttr>();
    // SAFETY: c is a valid C string; fa is a file_attr of `size` bytes the kernel writes.
    let r = unsafe {
        libc::syscall(
            SYS_FILE_GETATTR,
            libc::AT_FDCWD,
            c.as_ptr(),
            &mut fa,
            size,
            0,
        )
    };
    if r != 0 {
        fail(std::io::Error::last_os_error())
    }
    fa.xflags |= XFLAG_NODUMP;
    // SAFETY: as above; the kernel only reads fa.
    let r = unsafe { libc::syscall(SYS_FILE_SETATTR, libc::AT_FDCWD, c.as_ptr(), &fa, size, 0) };
    if r != 0 {
        fail(std::io::Error::last_os_error())
    }
    ok("changed")
}

/// `inode-flags PATH`: PATH's inode flags (`FS_IOC_GETFLAGS`), in hex.
fn inode_flags(path: &str) -> ! {
    let c = CString::new(path).unwrap_or_else(|_| exit(2));
    let mut flags: libc::c_long = 0;
    // SAFETY: c is a valid C string; flags is a long the ioctl writes.
    let r = unsafe {
        let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            fail(std::io::Error::last_os_error())
        }
        libc::ioctl(fd, FS_IOC_GETFLAGS, &mut flags)
    };
    if r != 0 {
        fail(std::io::Error::last_os_error())
    }
    ok(format!("{flags:x}"))
}

/// `open-mode3 PATH open|openat`: open PATH with access mode 3 through
/// the `open` or the `openat` syscall.
fn open_mode3(path: &str, how: &str) -> ! {
    let c = CString::new(path).unwrap_or_else(|_| exit(2));
    let flags = libc::O_ACCMODE | libc::O_CLOEXEC;
    // SAFETY: c is a valid C string; the result is checked.
    let fd = unsafe {
        match how {
            "open" => libc::syscall(libc::SYS_open, c.as_ptr(), flags),
            _ => libc::syscall(libc::SYS_openat, libc::AT_FDCWD, c.as_ptr(), flags),
        }
    };
    if fd < 0 {
        fail(std::io::Error::last_os_error())
    }
    ok("opened")
}

//! Creations in an expanded directory (served by the broker) under attack:
//! a second thread rewrites the path buffer, or `dup2()`s another
//! directory onto the descriptor the path is relative to, between the
//! broker's judgement and its act. And a creation from a worker thread.
//!
//! Each prints `OK …` / `ERR errno …` and exits (0 / 10).

use std::ffi::CString;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::flip::flipping;
use super::{arg, fail, ok};

/// The descriptor number both racing threads fight over.
const RACE_FD: i32 = 202;

/// Run an action of this module; None: not one of ours.
pub fn run(action: &str, args: &[String]) -> Option<std::convert::Infallible> {
    match action {
        "race-parent-path" => race_path(arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5)),
        "race-parent-dirfd" => race_dirfd(arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5)),
        "create-in-thread" => create_in_thread(arg(args, 2)),
        "unlink" => unlink(arg(args, 2)),
        "openat2-create" => openat2_create(arg(args, 2), arg(args, 3), arg(args, 4)),
        "race-parent-rename" => race_rename(
            (arg(args, 2), arg(args, 3)),
            (arg(args, 4), arg(args, 5)),
            arg(args, 6),
        ),
        _ => None,
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| exit(2))
}

/// Create `path` the way the test asks: `open` (O_CREAT), `mkdir` or
/// `symlink`, or remove it (`unlink`).
/// True when it was created, opened or removed.
fn attempt(how: &str, dirfd: i32, path: *const libc::c_char) -> bool {
    // SAFETY: path points to a NUL-terminated buffer alive for the call.
    unsafe {
        if how == "unlink" {
            return libc::unlinkat(dirfd, path, 0) == 0;
        }
        if how == "mkdir" {
            return libc::mkdirat(dirfd, path, 0o700) == 0;
        }
        if how == "symlink" {
            return libc::symlinkat(c"planted".as_ptr(), dirfd, path) == 0;
        }
        let fd = libc::openat(
            dirfd,
            path,
            libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
            0o600,
        );
        if fd >= 0 {
            libc::close(fd);
        }
        fd >= 0
    }
}

/// `race-parent-rename SRC PROT_SRC DST PROT_DST SECONDS`: SRC is created,
/// then renamed to DST through two buffers a second thread flips (SRC ↔
/// PROT_SRC, DST ↔ PROT_DST; same lengths), and moved back from DST. The
/// test looks at the protected paths from outside.
fn race_rename(src: (&str, &str), dst: (&str, &str), secs: &str) -> ! {
    if let Err(e) = std::fs::write(src.0, "movable") {
        fail(e)
    }
    static STOP: AtomicBool = AtomicBool::new(false);
    let (from, _) = flipping(src.0, src.1, &STOP);
    let (to, _) = flipping(dst.0, dst.1, &STOP);
    let end = Instant::now() + Duration::from_secs(secs.parse().unwrap_or(5));
    let (mut tries, mut done) = (0u64, 0u64);
    while Instant::now() < end {
        tries += 1;
        // SAFETY: both buffers are leaked and NUL-terminated (flip.rs).
        if unsafe { libc::rename(from as *const libc::c_char, to as *const libc::c_char) } == 0 {
            done += 1;
            // Only ever back from the allowed destination.
            let _ = std::fs::rename(dst.0, src.0);
        }
    }
    STOP.store(true, Ordering::Relaxed);
    ok(format!("tries={tries} renamed={done}"))
}

/// `race-parent-path HOW ALLOWED PROTECTED SECONDS`: the main thread
/// creates (HOW: open, mkdir or symlink) or removes (unlink) the path in a shared buffer while a second
/// thread rewrites that buffer between ALLOWED and PROTECTED (same
/// length), byte by byte. Prints the tries and the successes; the test
/// looks at PROTECTED from outside.
fn race_path(how: &str, allowed: &str, protected: &str, secs: &str) -> ! {
    static STOP: AtomicBool = AtomicBool::new(false);
    let (addr, flipper) = flipping(allowed, protected, &STOP);
    let end = Instant::now() + Duration::from_secs(secs.parse().unwrap_or(5));
    let (mut tries, mut done) = (0u64, 0u64);
    while Instant::now() < end {
        tries += 1;
        // Removals need something to remove: the allowed name, made again
        // through a path no thread touches.
        if how == "unlink" && std::fs::write(allowed, "again").is_err() {
            break;
        }
        if attempt(how, libc::AT_FDCWD, addr as *const libc::c_char) {
            done += 1;
        }
    }
    STOP.store(true, Ordering::Relaxed);
    let _ = flipper.join();
    ok(format!("tries={tries} created={done}"))
}

fn open_path(p: &str) -> i32 {
    let c = cstr(p);
    // SAFETY: c is a valid C string; O_PATH opens need no access to the directory.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        fail(std::io::Error::last_os_error())
    }
    fd
}

/// `race-parent-dirfd HOW DIR OTHER SECONDS`: descriptor RACE_FD flips
/// between DIR and OTHER (both opened O_PATH) on a second thread while the
/// main thread creates `authorized_keys` relative to it. Prints the tries
/// and the successes; the test looks at OTHER from outside.
fn race_dirfd(how: &str, dir: &str, other: &str, secs: &str) -> ! {
    let (d, o) = (open_path(dir), open_path(other));
    static STOP: AtomicBool = AtomicBool::new(false);
    let flipper = super::flip::flipping_fd(d, o, RACE_FD, &STOP);
    let name = cstr("authorized_keys");
    let end = Instant::now() + Duration::from_secs(secs.parse().unwrap_or(5));
    let (mut tries, mut done) = (0u64, 0u64);
    while Instant::now() < end {
        tries += 1;
        if attempt(how, RACE_FD, name.as_ptr()) {
            done += 1;
        }
    }
    STOP.store(true, Ordering::Relaxed);
    let _ = flipper.join();
    ok(format!("tries={tries} created={done}"))
}

/// `create-in-thread PATH`: a second thread creates PATH (content
/// "thread") and the main thread reads it back.
fn create_in_thread(path: &str) -> ! {
    let p = path.to_string();
    let made = std::thread::spawn(move || std::fs::write(&p, "thread")).join();
    match made {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail(e),
        Err(_) => exit(3),
    }
    match std::fs::read_to_string(path) {
        Ok(s) => ok(s),
        Err(e) => fail(e),
    }
}

/// `unlink PATH`: unlink(2) of PATH exactly as given (a trailing `/`
/// included).
fn unlink(path: &str) -> ! {
    let c = cstr(path);
    // SAFETY: c is a valid C string.
    if unsafe { libc::unlink(c.as_ptr()) } == 0 {
        ok("unlinked")
    }
    fail(std::io::Error::last_os_error())
}

/// `openat2-create DIR PATH beneath|in-root`: openat2(2) relative to DIR
/// with O_CREAT and RESOLVE_BENEATH or RESOLVE_IN_ROOT: the caller's own
/// confinement of the lookup.
fn openat2_create(dir: &str, path: &str, how: &str) -> ! {
    const RESOLVE_BENEATH: u64 = 0x08;
    const RESOLVE_IN_ROOT: u64 = 0x10;
    let resolve = if how == "in-root" {
        RESOLVE_IN_ROOT
    } else {
        RESOLVE_BENEATH
    };
    let d = cstr(dir);
    // SAFETY: d is a valid C string.
    let dirfd = unsafe { libc::open(d.as_ptr(), libc::O_PATH | libc::O_DIRECTORY) };
    if dirfd < 0 {
        fail(std::io::Error::last_os_error())
    }
    let p = cstr(path);
    // struct open_how { flags, mode, resolve }
    let open_how: [u64; 3] = [
        (libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC) as u64,
        0o600,
        resolve,
    ];
    // SAFETY: p is a valid C string; open_how is a 24-byte struct open_how.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            p.as_ptr(),
            open_how.as_ptr(),
            std::mem::size_of_val(&open_how),
        )
    };
    if fd < 0 {
        fail(std::io::Error::last_os_error())
    }
    ok("created")
}

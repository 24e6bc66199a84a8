//! Elevated opens relative to a directory descriptor, as a tree walk makes
//! them: the broker keeps the paths of such descriptors between calls, so
//! these check that what it keeps never outlives the descriptor it named.
//! `reuse-dirfd` closes a directory and opens another at the same number;
//! `race-open-dirfd` has a second thread `dup2()` two directories in turn
//! onto one number while the main thread opens a name relative to it;
//! `threads-open-dirfd` has threads open their own directory, a name in
//! it and close it again, over and over, so descriptor numbers pass from
//! thread to thread; `lock-after-openat` checks that a directory's lock
//! ends with the agent's last descriptor of it (the broker holds none).
//!
//! Each prints `OK …` / `ERR errno …` and exits (0 / 10).

use std::ffi::CString;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{arg, fail, ok};

/// The descriptor number both racing threads fight over.
const RACE_FD: i32 = 202;

/// Run an elevation action; Some(..) never returns, None: not one of ours.
pub fn run(action: &str, args: &[String]) -> Option<std::convert::Infallible> {
    match action {
        "reuse-dirfd" => reuse(arg(args, 2), arg(args, 3), arg(args, 4)),
        "race-open-dirfd" => race(arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5)),
        "threads-open-dirfd" => threads(arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5)),
        "lock-after-openat" => lock_after_openat(arg(args, 2)),
        _ => None,
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| exit(2))
}

/// A directory descriptor: O_RDONLY as `find` opens them, or O_PATH
/// (which needs no access to the directory: a protected one too).
fn open_dir(p: &str, flags: i32) -> i32 {
    let c = cstr(p);
    // SAFETY: c is a valid C string for the call's duration.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        fail(std::io::Error::last_os_error())
    }
    fd
}

/// The first line of `name` opened relative to `dirfd`, or the errno.
fn read_at(dirfd: i32, name: &CString) -> Result<String, i32> {
    // SAFETY: name is a valid C string; the descriptor is closed below.
    let fd = unsafe { libc::openat(dirfd, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    let mut buf = [0u8; 64];
    // SAFETY: fd is ours; buf is 64 writable bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: fd is ours and closed once.
    unsafe { libc::close(fd) };
    let got = &buf[..usize::try_from(n).unwrap_or(0)];
    Ok(String::from_utf8_lossy(got)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// Put directory `p` at descriptor RACE_FD.
fn at_race_fd(p: &str) {
    let fd = open_dir(p, libc::O_RDONLY);
    // The original is closed at once.
    // SAFETY: dup2 and close of descriptors this process owns.
    unsafe {
        libc::dup2(fd, RACE_FD);
        libc::close(fd);
    }
}

/// `reuse-dirfd A B NAME`: NAME relative to A at descriptor RACE_FD, then
/// the same number closed and given to B, and NAME relative to it again.
/// Prints `OK first=<A's NAME> second=<B's NAME>` (or `ERR(errno)`).
fn reuse(a: &str, b: &str, name: &str) -> ! {
    let name = cstr(name);
    let show = |r: Result<String, i32>| r.unwrap_or_else(|e| format!("ERR({e})"));
    at_race_fd(a);
    let first = show(read_at(RACE_FD, &name));
    // SAFETY: the number is ours.
    unsafe { libc::close(RACE_FD) };
    at_race_fd(b);
    let second = show(read_at(RACE_FD, &name));
    ok(format!("first={first} second={second}"))
}

/// `race-open-dirfd ALLOWED PROTECTED NAME SECONDS`: descriptor RACE_FD
/// flips between directories ALLOWED and PROTECTED (O_PATH descriptors,
/// which the agent may hold for a protected directory) while the main thread
/// opens NAME relative to it. Counts the opens that succeeded and those
/// that read a first byte 'P' (the protected file's).
fn race(allowed: &str, protected: &str, name: &str, secs: &str) -> ! {
    static STOP: AtomicBool = AtomicBool::new(false);
    let (a, p) = (
        open_dir(allowed, libc::O_PATH),
        open_dir(protected, libc::O_PATH),
    );
    // SAFETY: dup2 of our own descriptor onto the number we use.
    unsafe { libc::dup2(a, RACE_FD) };
    let flipper = super::flip::flipping_fd(a, p, RACE_FD, &STOP);
    let name = cstr(name);
    let end = Instant::now() + Duration::from_secs(secs.parse().unwrap_or(5));
    let (mut tries, mut opened, mut leaked) = (0u64, 0u64, 0u64);
    while Instant::now() < end {
        tries += 1;
        if let Ok(first) = read_at(RACE_FD, &name) {
            opened += 1;
            if first.starts_with('P') {
                leaked += 1;
            }
        }
    }
    STOP.store(true, Ordering::Relaxed);
    let _ = flipper.join();
    ok(format!("tries={tries} opened={opened} leaked={leaked}"))
}

/// `threads-open-dirfd A B NAME THREADS`: THREADS threads each open A or
/// B in turn (starting with either), read NAME relative to it and close
/// it, 200 times; every read must be of the directory just opened. Prints
/// `OK reads=<n> wrong=<n>` (a refused open counts as wrong).
fn threads(a: &str, b: &str, name: &str, n: &str) -> ! {
    let n: usize = n.parse().unwrap_or(8);
    let expect = |d: &str| read_at(libc::AT_FDCWD, &cstr(&format!("{d}/{name}")));
    let dirs = match (expect(a), expect(b)) {
        (Ok(x), Ok(y)) if x != y => [(a.to_string(), x), (b.to_string(), y)],
        _ => exit(2),
    };
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (dirs, name) = (dirs.clone(), cstr(name));
            std::thread::spawn(move || {
                let mut wrong = 0u64;
                for j in 0..200 {
                    let (dir, want) = &dirs[(i + j) % 2];
                    let fd = open_dir(dir, libc::O_RDONLY);
                    if read_at(fd, &name).as_ref() != Ok(want) {
                        wrong += 1;
                    }
                    // SAFETY: fd is this thread's own, closed once.
                    unsafe { libc::close(fd) };
                }
                wrong
            })
        })
        .collect();
    let wrong: u64 = handles.into_iter().map(|h| h.join().unwrap_or(200)).sum();
    ok(format!("reads={} wrong={wrong}", n * 200))
}

/// `lock-after-openat DIR`: lock DIR (flock, exclusive) through a
/// descriptor, open a name relative to that descriptor, close it; then a
/// second descriptor of DIR tries the lock without waiting. Prints
/// `OK free` or `OK held`.
fn lock_after_openat(dir: &str) -> ! {
    let fd = open_dir(dir, libc::O_RDONLY);
    // SAFETY: flock and close of our own descriptor; the name is a C string.
    unsafe {
        if libc::flock(fd, libc::LOCK_EX) != 0 {
            fail(std::io::Error::last_os_error())
        }
        let _ = read_at(fd, &cstr("anything"));
        libc::close(fd);
    }
    let again = open_dir(dir, libc::O_RDONLY);
    // SAFETY: as above.
    let r = unsafe { libc::flock(again, libc::LOCK_EX | libc::LOCK_NB) };
    ok(if r == 0 { "free" } else { "held" })
}

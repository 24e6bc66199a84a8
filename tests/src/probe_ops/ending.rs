//! A command that ends right after a brokered call, for what the session
//! reports at its end: `chmod-exit PATH` makes one chmod (denied outside
//! the write grants) and exits at once; `open-loop-exit PATH MS KIDS`
//! forks KIDS children that open PATH over and over (elevated opens, each
//! a question to the front end) and exits with 3 after MS milliseconds,
//! so its end crosses questions and answers in flight.

use std::ffi::CString;
use std::process::exit;

use super::arg;

/// Run an ending action; Some(..) never returns, None: not one of ours.
pub fn run(action: &str, args: &[String]) -> Option<std::convert::Infallible> {
    match action {
        "chmod-exit" => chmod_exit(arg(args, 2)),
        "open-loop-exit" => open_loop_exit(arg(args, 2), arg(args, 3), arg(args, 4)),
        _ => None,
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| exit(2))
}

/// One chmod, whatever its result, then `_exit(0)` (no flushing, no
/// destructors: the end follows the call as closely as it can).
fn chmod_exit(path: &str) -> ! {
    let c = cstr(path);
    // The end follows the call with no flushing or destructors between.
    // SAFETY: c is a valid C string for the call; _exit takes no pointers.
    unsafe {
        libc::chmod(c.as_ptr(), 0o600);
        libc::_exit(0)
    }
}

fn open_loop_exit(path: &str, ms: &str, kids: &str) -> ! {
    let c = cstr(path);
    let ms: u64 = ms.parse().unwrap_or_else(|_| exit(2));
    let kids: u32 = kids.parse().unwrap_or_else(|_| exit(2));
    for _ in 0..kids {
        // The child loops in open/close until the session kills it.
        // SAFETY: after fork the child calls only async-signal-safe functions.
        unsafe {
            if libc::fork() == 0 {
                loop {
                    let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    if fd >= 0 {
                        libc::close(fd);
                    }
                }
            }
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(ms));
    // SAFETY: ends this process at once; the children end with the session.
    unsafe { libc::_exit(3) }
}

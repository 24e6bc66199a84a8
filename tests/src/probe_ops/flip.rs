//! The attacks the race probes share: a path in a buffer that a second
//! thread rewrites, byte by byte, between two contents while the main
//! thread hands the buffer to a system call; a descriptor number that a
//! second thread keeps pointing at one object and then another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Room for either path and its terminating NUL.
const LEN: usize = 512;

fn buffer(p: &str) -> [u8; LEN] {
    let mut b = [0u8; LEN];
    let n = p.len().min(LEN - 1);
    b[..n].copy_from_slice(&p.as_bytes()[..n]);
    b
}

/// A leaked buffer holding `a`, and the thread that flips it between `a`
/// and `b` until `stop` (paths longer than 511 bytes are cut). The address
/// is a NUL-terminated C string at every moment the flipper is between
/// bytes of equal-length paths.
pub fn flipping(a: &str, b: &str, stop: &'static AtomicBool) -> (usize, JoinHandle<()>) {
    let (a, b) = (buffer(a), buffer(b));
    // Written without synchronisation on purpose: that is the attack.
    let buf: &'static mut [u8; LEN] = Box::leak(Box::new(a));
    let addr = buf.as_mut_ptr() as usize;
    let flipper = std::thread::spawn(move || {
        let mut flip = false;
        while !stop.load(Ordering::Relaxed) {
            let src = if flip { &b } else { &a };
            for (i, x) in src.iter().enumerate() {
                // SAFETY: addr is a leaked LEN-byte buffer alive for the rest of the process; volatile byte writes race with the reader by design.
                unsafe { std::ptr::write_volatile((addr as *mut u8).add(i), *x) };
            }
            flip = !flip;
        }
    });
    (addr, flipper)
}

/// A second thread that keeps `dup2()`ing `a` and `b` in turn onto
/// descriptor `target` until `stop` is set.
pub fn flipping_fd(a: i32, b: i32, target: i32, stop: &'static AtomicBool) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut flip = false;
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: dup2 of descriptors this process owns onto a number it reserved.
            unsafe { libc::dup2(if flip { b } else { a }, target) };
            flip = !flip;
        }
    })
}

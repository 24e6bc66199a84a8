//! Messages to the user. Errors always print; warnings unless `--silent`;
//! info at `-v` and up. Everything goes to stderr so the command's own
//! stdout stays clean.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// Set from the global flags: 0 silent, 1 normal, 2+ verbose.
pub fn init(silent: bool, verbose: u8) {
    let level = if silent { 0 } else { 1 + verbose };
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    LEVEL.load(Ordering::Relaxed).saturating_sub(1)
}

pub fn error(msg: impl std::fmt::Display) {
    eprintln!("nono: {msg}");
}

pub fn warn(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        eprintln!("nono: warning: {msg}");
    }
}

pub fn info(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 2 {
        eprintln!("nono: {msg}");
    }
}

/// True with `--silent`.
pub fn verbosity_silent() -> bool {
    LEVEL.load(Ordering::Relaxed) == 0
}

//! Messages to the user. Errors always print; warnings and notes unless
//! `--silent`; info at `-v` and up. Everything goes to stderr so the
//! command's own stdout stays clean, through [`crate::stderr`], which never
//! panics or stalls on a closed or slow stderr.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::stderr;

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
    stderr::line(&format!("nono: {msg}"));
}

pub fn warn(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        stderr::line(&format!("nono: warning: {msg}"));
    }
}

/// A plain status line (e.g. "wrote FILE"), unless `--silent`.
pub fn note(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        stderr::line(&msg.to_string());
    }
}

pub fn info(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 2 {
        stderr::line(&format!("nono: {msg}"));
    }
}

/// True with `--silent`.
pub fn verbosity_silent() -> bool {
    LEVEL.load(Ordering::Relaxed) == 0
}

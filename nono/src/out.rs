//! Output of the informational commands (stdout), without panics.
//!
//! Rust ignores SIGPIPE, so a reader that went away (`nono profile guide |
//! head -1`) shows up as EPIPE. Output then stops quietly, the command
//! finishes, and nono exits with [`EXIT_BROKEN_PIPE`] (141, the status a
//! shell reports for `git log | head -1` when git is ended by SIGPIPE).
//! Any other write error is reported once and nono exits with 1.

use std::io::{self, Write};
use std::sync::Mutex;

/// Exit code for nono's own errors (bad arguments, sandbox failure).
pub const EXIT_NONO_ERROR: i32 = 1;

/// Exit status after the reader of stdout went away: 128 + SIGPIPE.
pub const EXIT_BROKEN_PIPE: i32 = 128 + 13;

/// How stdout has fared so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    Broken,
    Failed,
}

static STATE: Mutex<State> = Mutex::new(State::Open);

fn state() -> State {
    *STATE.lock().unwrap_or_else(|p| p.into_inner())
}

fn fail(e: &io::Error) {
    let mut s = STATE.lock().unwrap_or_else(|p| p.into_inner());
    if *s != State::Open {
        return;
    }
    if e.kind() == io::ErrorKind::BrokenPipe {
        *s = State::Broken;
    } else {
        *s = State::Failed;
        drop(s);
        crate::ui::error(format!("cannot write to standard output: {e}"));
    }
}

/// Write formatted text to stdout; after a failure, nothing more is written.
/// Control characters but line breaks and tabs are written escaped
/// ([`crate::ui::terminal_safe`]): what these commands list (files the
/// command created, hosts it asked for) is the command's choice.
pub fn write(args: std::fmt::Arguments<'_>) {
    if state() != State::Open {
        return;
    }
    let text = args.to_string();
    let text = crate::ui::terminal_safe(&text);
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        fail(&e);
    }
}

/// Record the outcome of a write made elsewhere (clap's help text).
pub fn record(r: io::Result<()>) {
    if let Err(e) = r {
        fail(&e);
    }
}

/// The exit status to use: `code`, unless stdout could not be written.
pub fn exit_status(code: i32) -> i32 {
    if state() == State::Open {
        if let Err(e) = io::stdout().flush() {
            fail(&e);
        }
    }
    match state() {
        State::Open => code,
        State::Broken => EXIT_BROKEN_PIPE,
        State::Failed => EXIT_NONO_ERROR,
    }
}

/// `print!` that never panics (see the module header).
macro_rules! out {
    ($($arg:tt)*) => { $crate::out::write(format_args!($($arg)*)) };
}

/// `println!` that never panics (see the module header).
macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {out, outln};

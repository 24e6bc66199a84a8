//! Questions on the user's terminal: written to and answered on `/dev/tty`
//! (never stdin, which may be the command's input), one line per answer.
//! Used by the working-directory consent, the keystore unlock, elevation
//! requests and the save prompt.

use std::io::{BufRead, Write};
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::{Context, Result};

/// What came back from the terminal.
pub enum Reply {
    /// There is no terminal to ask on.
    NoTerminal,
    /// No answer within the wait (the line given for it was written).
    TimedOut,
    /// The line typed, without surrounding blanks.
    Answer(String),
}

impl Reply {
    /// "y", "Y" or "yes".
    pub fn is_yes(&self) -> bool {
        matches!(self, Reply::Answer(a) if matches!(a.as_str(), "y" | "Y" | "yes"))
    }
}

/// Ask `question` and read one line. `wait`: at most this many
/// milliseconds, then the given line is written and the reply is
/// `TimedOut`. Errors: the question could not be written or the answer
/// not read.
pub fn ask(question: &str, wait: Option<(u32, &str)>) -> Result<Reply> {
    ask_unless(question, wait, None)
}

/// [`ask`], abandoned as `TimedOut` (with the given line written) as soon
/// as `cancel` is readable: the question no longer matters, e.g. the
/// session it was asked for has ended.
pub fn ask_unless(
    question: &str,
    wait: Option<(u32, &str)>,
    cancel: Option<(BorrowedFd<'_>, &str)>,
) -> Result<Reply> {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Ok(Reply::NoTerminal);
    };
    let mut w = &tty;
    let question = crate::ui::terminal_safe(question);
    w.write_all(question.as_bytes()).context("cannot prompt")?;
    if wait.is_some() || cancel.is_some() {
        if let Some(line) = no_answer(&tty, wait, cancel) {
            let _ = writeln!(w, "{line}");
            return Ok(Reply::TimedOut);
        }
    }
    let mut answer = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(Reply::Answer(answer.trim().to_string()))
}

/// Wait for a line on `tty`; the line to write when none will come (the
/// wait ran out, or `cancel` became readable first).
fn no_answer<'a>(
    tty: &std::fs::File,
    wait: Option<(u32, &'a str)>,
    cancel: Option<(BorrowedFd<'_>, &'a str)>,
) -> Option<&'a str> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = vec![PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
    if let Some((fd, _)) = cancel {
        fds.push(PollFd::new(fd, PollFlags::POLLIN));
    }
    let timeout = match wait {
        Some((ms, _)) => PollTimeout::try_from(ms).unwrap_or(PollTimeout::ZERO),
        None => PollTimeout::NONE,
    };
    let ready = poll(&mut fds, timeout).unwrap_or(0);
    if fds[0].any().unwrap_or(false) {
        return None; // a line to read
    }
    if fds.get(1).is_some_and(|f| f.any().unwrap_or(false)) {
        return cancel.map(|(_, line)| line);
    }
    // Nothing ready (or poll failed): the wait ran out.
    (ready == 0).then_some(wait.map(|(_, line)| line)).flatten()
}

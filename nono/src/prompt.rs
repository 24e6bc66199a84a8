//! Questions on the user's terminal: written to and answered on `/dev/tty`
//! (never stdin, which may be the command's input), one line per answer.
//! Used by the working-directory consent, the keystore unlock, elevation
//! requests and the save prompt.

use std::io::{BufRead, Write};

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
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Ok(Reply::NoTerminal);
    };
    let mut w = &tty;
    w.write_all(question.as_bytes()).context("cannot prompt")?;
    if let Some((ms, gave_up)) = wait {
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&tty),
            nix::poll::PollFlags::POLLIN,
        )];
        let timeout = nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::ZERO);
        if nix::poll::poll(&mut fds, timeout).unwrap_or(0) == 0 {
            let _ = writeln!(w, "{gave_up}");
            return Ok(Reply::TimedOut);
        }
    }
    let mut answer = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(Reply::Answer(answer.trim().to_string()))
}

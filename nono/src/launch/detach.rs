//! `nono run --detached`: the session runs in the background, away from
//! this terminal. nono starts itself again (same arguments, without
//! `--detached`) in a session of its own with no terminal; that copy
//! supervises as usual, gives the agent a pseudo-terminal nobody holds
//! (output kept for `nono logs`, `nono attach` to take it over) and
//! reports on a pipe once the agent runs. This process waits for that (at
//! most `--detach-timeout` / `NONO_DETACH_STARTUP_TIMEOUT` seconds),
//! prints the session's id and the attach command, and exits.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::out::outln;
use crate::sessions::Live;
use crate::sys;

/// The variable naming the readiness pipe in the background copy.
const READY_FD: &str = "NONO_DETACH_READY_FD";
/// Where the background copy finds the pipe.
const READY_AT: i32 = 3;

/// Whether this process is the background copy of a detached start.
pub fn is_child() -> bool {
    std::env::var(READY_FD).is_ok_and(|v| v == READY_AT.to_string())
}

/// In the background copy: the readiness pipe, close-on-exec from now on
/// (no helper inherits it).
pub fn take_ready() -> Option<OwnedFd> {
    if !is_child() {
        return None;
    }
    std::env::remove_var(READY_FD);
    // Taken once, here: the parent placed it for this purpose.
    let fd = sys::adopt_fd(READY_AT)?;
    fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).ok()?;
    Some(fd)
}

/// In the background copy, once the agent runs: tell the parent.
pub fn ready(pipe: OwnedFd, live: &Live) {
    let line = format!("{} {}\n", live.record.id, live.record.name);
    let _ = nix::unistd::write(&pipe, line.as_bytes());
}

fn args_without_detached() -> Vec<OsString> {
    let mut out = Vec::new();
    let mut removed = false;
    let mut after_separator = false;
    for a in std::env::args_os().skip(1) {
        if !after_separator && !removed && a == "--detached" {
            removed = true;
            continue;
        }
        after_separator |= a == "--";
        out.push(a);
    }
    out
}

/// Start the session in the background and report it.
pub fn start(timeout: u64) -> Result<i32> {
    let exe = std::env::current_exe().context("cannot find nono's own executable")?;
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    let mut cmd = Command::new(exe);
    cmd.args(args_without_detached())
        .env(READY_FD, READY_AT.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    sys::place_fds(&mut cmd, vec![(ready_w, READY_AT)]);
    sys::own_session(&mut cmd);
    let mut child = cmd.spawn().context("cannot start the background session")?;
    drop(cmd);
    let mut stderr = child.stderr.take().context("stderr")?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut said = Vec::new();
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            bail!(
                "the detached session did not become ready within {timeout} s and was stopped \
                 (--detach-timeout or NONO_DETACH_STARTUP_TIMEOUT give slow programs longer)"
            );
        }
        let ms = left.as_millis().min(1000) as u16;
        let mut fds = [
            PollFd::new(ready_r.as_fd(), PollFlags::POLLIN),
            PollFd::new(stderr.as_fd(), PollFlags::POLLIN),
        ];
        let _ = poll(&mut fds, PollTimeout::from(ms));
        let (r0, r1) = (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false));
        if r1 {
            let mut buf = [0u8; 4096];
            if let Ok(n) = stderr.read(&mut buf) {
                said.extend_from_slice(&buf[..n]);
            }
        }
        if r0 {
            let mut buf = [0u8; 256];
            let n = nix::unistd::read(&ready_r, &mut buf).unwrap_or(0);
            line.extend_from_slice(&buf[..n]);
            if n == 0 || line.ends_with(b"\n") {
                break;
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            eprint_lossy(&said);
            return Ok(st.code().unwrap_or(1));
        }
    }
    let text = String::from_utf8_lossy(&line).trim().to_string();
    let Some((id, name)) = text.split_once(' ') else {
        eprint_lossy(&said);
        let st = child.wait()?;
        return Ok(st.code().unwrap_or(1));
    };
    eprint_lossy(&said);
    outln!("Started session {id} ({name}) in the background.");
    outln!("Attach with: nono attach {id}");
    Ok(0)
}

fn eprint_lossy(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for l in text.lines() {
        crate::stderr::line(l);
    }
}

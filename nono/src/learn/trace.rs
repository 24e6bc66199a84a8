//! Running the command under strace, unconfined: every process and thread
//! followed (`-f`, one output file per thread with `-ff`, so no line is
//! ever split), strings hex-escaped and descriptors annotated (`-xx -yy`).
//!
//! nono stays the parent of strace and a subreaper: `--timeout` and the
//! terminating signals nono receives end strace (which signals the command
//! it started and detaches the rest), then every process left is killed, so
//! nothing the command started outlives `nono learn`.

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use crate::ui;

/// The calls the analysis reads (see `events`).
const CALLS: &str = "open,openat,openat2,creat,execve,execveat,truncate,ftruncate,\
chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,utime,utimes,utimensat,futimesat,\
setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr,\
mkdir,mkdirat,rmdir,unlink,unlinkat,mknod,mknodat,rename,renameat,renameat2,\
link,linkat,symlink,symlinkat,connect,bind,recvfrom,recvmsg";

/// How long the command gets to end after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// A finished trace: one file per traced thread in `dir`.
pub struct Trace {
    pub dir: tempfile::TempDir,
    /// The command's exit status (None when the timeout or a signal ended it).
    pub code: Option<i32>,
    pub timed_out: bool,
}

impl Trace {
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        files_in(self.dir.path())
    }
}

/// The trace files strace wrote into `dir` (one per thread), sorted.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).context("cannot list the trace")? {
        out.push(e.context("cannot list the trace")?.path());
    }
    out.sort();
    Ok(out)
}

/// strace's options before `--` and the command: every process and
/// thread, one file per thread named `out.<tid>`.
pub fn options(out: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = [
        "-f",
        "-ff",
        "-qq",
        "-xx",
        "-yy",
        "-s",
        "4096",
        "-e",
        "signal=none",
        "-e",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    v.push(format!("trace={CALLS}").into());
    v.push("-o".into());
    v.push(out.into());
    v
}

/// strace from PATH, with a message saying how to get it.
pub fn strace() -> Result<PathBuf> {
    tool("strace").context("nono learn needs strace, which is not installed (apt install strace)")
}

/// A program from PATH.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Run `cmd` under strace. `stdout_to_stderr`: the command's stdout goes to
/// nono's stderr (so `--json` output stays parseable).
pub fn run(cmd: &[OsString], timeout: Option<Duration>, stdout_to_stderr: bool) -> Result<Trace> {
    let strace = strace()?;
    let dir = tempfile::Builder::new()
        .prefix("nono-learn-")
        .tempdir()
        .context("cannot create a directory for the trace")?;
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        mask.add(s);
    }
    mask.thread_block().context("cannot block signals")?;
    sandbox::reap::become_subreaper().map_err(anyhow::Error::msg)?;
    let mut c = Command::new(&strace);
    c.args(options(&dir.path().join("t"))).arg("--").args(cmd);
    if stdout_to_stderr {
        c.stdout(Stdio::from(
            std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .context("cannot duplicate stderr")?,
        ));
    }
    let child = c
        .spawn()
        .with_context(|| format!("cannot start {}", strace.display()))?;
    let (code, timed_out) = wait(child, timeout, &mask)?;
    // Whatever the command left running (daemons, detached children).
    let left = sandbox::reap::kill_all();
    if left > 0 {
        ui::info(format!(
            "stopped {left} process(es) the command left behind"
        ));
    }
    Ok(Trace {
        dir,
        code,
        timed_out,
    })
}

fn wait(mut child: Child, timeout: Option<Duration>, mask: &SigSet) -> Result<(Option<i32>, bool)> {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    let start = Instant::now();
    let mut stopping: Option<Instant> = None;
    let mut timed_out = false;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Ok((code_of(st, timed_out), timed_out)),
            Ok(None) => {}
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => return Ok((None, timed_out)),
            Err(e) => return Err(e).context("cannot wait for strace"),
        }
        let now = Instant::now();
        if stopping.is_none() && timeout.is_some_and(|t| now - start >= t) {
            ui::note(format!(
                "nono learn: --timeout reached after {}s; stopping the command",
                timeout.unwrap_or_default().as_secs()
            ));
            timed_out = true;
            stopping = Some(now);
            terminate(&child, Signal::SIGTERM);
        }
        if stopping.is_some_and(|s| now - s >= GRACE) {
            terminate(&child, Signal::SIGKILL);
        }
        let mut fds = [PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u8)) {
            Ok(n) if n > 0 => {
                if let Some(info) = sfd.read_signal().context("signalfd")? {
                    // Terminal signals already reached the command (same
                    // process group); others are passed on.
                    if info.ssi_code != 0x80 {
                        let sig =
                            Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM);
                        terminate(&child, sig);
                    }
                    stopping.get_or_insert(now);
                }
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => bail!("poll: {e}"),
        }
    }
}

/// Signal strace (it passes the signal to the command it started) and its
/// other descendants, which strace only detaches.
fn terminate(child: &Child, sig: Signal) {
    let pid = child.id() as i32;
    for p in descendants(pid) {
        let _ = kill(Pid::from_raw(p), sig);
    }
    let _ = kill(Pid::from_raw(pid), sig);
}

fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let path = format!("/proc/{p}/task/{p}/children");
        let kids: Vec<i32> = std::fs::read_to_string(Path::new(&path))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        out.extend(&kids);
        todo.extend(kids);
    }
    out
}

/// strace exits with the command's status (128 + N for a signal).
fn code_of(st: std::process::ExitStatus, timed_out: bool) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    if timed_out {
        return None;
    }
    st.code().or_else(|| st.signal().map(|s| 128 + s))
}

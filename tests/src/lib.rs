//! Harness for the end-to-end tests: locate the real binaries, run the probe
//! inside a real sandbox (or outside, as a positive control), and make
//! canaries and scratch directories.
//!
//! Binaries are looked up in `NONO_BIN_DIR` when set (the unprivileged run
//! copies them to a directory that user can read), otherwise next to the
//! test executable's target directory.

pub mod bench_floor;
pub mod bench_ops;
pub mod probe_net_ipc;
pub mod probe_ops;
pub mod probe_tunnel;
pub mod term;
pub mod upstream;
pub mod whydiff;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Directory holding `nono`, the helpers and `nono-probe`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("NONO_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

pub fn nono_bin() -> PathBuf {
    bin_dir().join("nono")
}

pub fn probe_bin() -> PathBuf {
    bin_dir().join("nono-probe")
}

/// Standard base64 with padding (for the tests and `nono-upstream`).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A unique marker that must never appear where it is not allowed.
pub fn canary(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "NONO-CANARY-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory, canonical (so it matches what nono grants).
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("nono-e2e-")
            .tempdir()
            .expect("tempdir");
        let path = std::fs::canonicalize(dir.path()).expect("canonicalize");
        Scratch { _dir: dir, path }
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.path.join(p)
    }

    pub fn s(&self) -> String {
        self.path.display().to_string()
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

/// The result of one command.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(o: Output) -> Ran {
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Ran {
    /// The probe succeeded.
    pub fn is_ok(&self) -> bool {
        self.code == Some(0) && self.stdout.starts_with("OK")
    }

    /// The probe was refused with `errno` (any errno when `None`).
    pub fn is_err(&self, errno: Option<i32>) -> bool {
        let Some(rest) = self.stdout.strip_prefix("ERR ") else {
            return false;
        };
        let got: Option<i32> = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        self.code == Some(10) && errno.is_none_or(|e| got == Some(e))
    }
}

/// Run `nono <mode> <flags> --read-file <probe> -- <probe> <args>`.
pub fn sandboxed(mode: &str, flags: &[&str], probe_args: &[&str]) -> Ran {
    let mut cmd = sandboxed_cmd(mode, flags, probe_args);
    Ran::from(cmd.stdin(Stdio::null()).output().expect("spawn nono"))
}

/// The command `sandboxed` runs, for tests that need to adjust it.
pub fn sandboxed_cmd(mode: &str, flags: &[&str], probe_args: &[&str]) -> Command {
    let probe = probe_bin();
    let mut cmd = Command::new(nono_bin());
    cmd.arg(mode)
        .args(flags)
        .arg("--read-file")
        .arg(&probe)
        .arg("--")
        .arg(&probe)
        .args(probe_args);
    cmd
}

/// `nono run` with the probe.
pub fn run(flags: &[&str], probe_args: &[&str]) -> Ran {
    sandboxed("run", flags, probe_args)
}

/// `nono run FLAGS -- /bin/sh -c SCRIPT`, with `env` added to nono's own
/// environment (the agent inherits it, filtered as usual).
pub fn run_sh(flags: &[&str], env: &[(&str, &str)], script: &str) -> Ran {
    let mut cmd = Command::new(nono_bin());
    cmd.arg("run")
        .args(flags)
        .args(["--", "/bin/sh", "-c", script])
        .envs(env.iter().copied());
    Ran::from(cmd.stdin(Stdio::null()).output().expect("spawn nono"))
}

/// The probe without any sandbox: the positive control.
pub fn unsandboxed(probe_args: &[&str]) -> Ran {
    Ran::from(
        Command::new(probe_bin())
            .args(probe_args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn probe"),
    )
}

/// Run nono with arbitrary arguments.
pub fn nono(args: &[&str]) -> Ran {
    Ran::from(
        Command::new(nono_bin())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn nono"),
    )
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub const EPERM: i32 = libc::EPERM;
pub const EACCES: i32 = libc::EACCES;
pub const EXDEV: i32 = libc::EXDEV;
pub const ENOSYS: i32 = libc::ENOSYS;

/// Reading other processes' state from /proc, as the tests observe it.
pub mod procfs {
    /// Direct children of `pid`.
    pub fn children(pid: u32) -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// The agent of the `nono run` with pid `nono`: the first process
    /// below nono's `nono-broker` chain (the relay, then the broker that is
    /// pid 1 of the session's PID namespace; or one broker where the
    /// kernel refused the namespace).
    pub fn agent_of(nono: u32) -> Option<u32> {
        let mut at = children(nono)
            .into_iter()
            .find(|p| comm(*p) == "nono-broker")?;
        loop {
            let next = *children(at).first()?;
            if comm(next) != "nono-broker" {
                return Some(next);
            }
            at = next;
        }
    }

    /// The command name of `pid`.
    pub fn comm(pid: u32) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// The first value of a `/proc/<pid>/status` line starting with `key` (e.g. "Seccomp:").
    pub fn status_field(pid: u32, key: &str) -> String {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("")
            .to_string()
    }
}

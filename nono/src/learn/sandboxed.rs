//! `nono learn --sandboxed`: nothing runs unconfined. The command runs
//! under `nono run` (broker, Landlock, seccomp) with a record-mode policy
//! — read everything but the protected paths, write only the working
//! directory and a scratch directory, network only through the proxy,
//! which lets every host through on ports 80 and 443 and reports each
//! request — and strace runs *inside* that sandbox, as the command's
//! parent, writing its trace into the scratch directory. seccomp leaves
//! `ptrace` open for this session only (`CapabilitySet::set_self_trace`);
//! Landlock lets a sandboxed process trace only processes of its own
//! domain, which is the command.
//!
//! Calls the sandbox refused (EACCES, EPERM) count as needs; the proxy's
//! decisions are collected through two one-line hooks in
//! `launch/proxy.rs` (`seen.rs`).

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Parser;

use super::analyse::Dest;
use super::events::Event;
use super::seen::{seen, Seen};
use super::trace;
use crate::cli::{Cli, Command, LearnArgs, RunArgs};

/// The outcome of a sandboxed trace.
pub struct Recorded {
    pub events: Vec<Event>,
    /// Destinations the proxy saw, and whether it let them through.
    pub proxied: Vec<(Dest, bool)>,
    pub code: i32,
    pub timed_out: bool,
}

/// Run the command sandboxed under strace; read what it did.
pub fn record(args: &LearnArgs) -> Result<Recorded> {
    let strace = trace::strace()?;
    let scratch = tempfile::Builder::new()
        .prefix("nono-learn-")
        .tempdir()
        .context("cannot create a scratch directory for the trace")?;
    let out = scratch.path().join("trace");
    std::fs::create_dir(&out).context("cannot create the trace directory")?;
    let workdir = crate::grants::workdir(&crate::cli::FsArgs {
        workdir: args.workdir.clone(),
        ..Default::default()
    })?;
    if workdir.parent().is_none() {
        bail!(
            "nono learn --sandboxed makes the working directory writable; run it from the \
             command's project directory (or pass --workdir DIR), not from /"
        );
    }
    let run = run_args(args, &workdir, scratch.path(), &strace, &out)?;
    *seen() = Some(Seen::default());
    let redirect = args.json.then(StdoutToStderr::start).transpose()?;
    let start = std::time::Instant::now();
    let code = crate::launch::launch(run, crate::launch::Mode::Run);
    drop(redirect);
    let got = seen().take().unwrap_or_default();
    let code = code?;
    let timed_out = args
        .timeout
        .is_some_and(|t| start.elapsed().as_secs() >= t && TIMED_OUT.contains(&code));
    if timed_out {
        crate::ui::note(format!(
            "nono learn: --timeout reached after {}s; the command was stopped",
            args.timeout.unwrap_or_default()
        ));
    }
    let files = trace::files_in(&out)?;
    if files.is_empty() {
        bail!(
            "strace inside the sandbox wrote no trace (exit status {code}); \
             nono learn --sandboxed cannot report anything"
        );
    }
    let mut events = super::read_files(&files, true)?;
    if let Some(port) = got.proxy_port {
        events.retain(|e| !to_proxy(e, port));
    }
    Ok(Recorded {
        events,
        proxied: got.hosts.into_iter().map(dest).collect(),
        code,
        timed_out,
    })
}

/// With `--json`, the command's stdout goes to nono's stderr (the fragment
/// alone is printed on stdout): fd 1 is stderr while the session runs.
struct StdoutToStderr(std::os::fd::OwnedFd);

impl StdoutToStderr {
    fn start() -> Result<StdoutToStderr> {
        let saved = nix::unistd::dup(std::io::stdout()).context("cannot duplicate stdout")?;
        nix::unistd::dup2_stdout(std::io::stderr()).context("cannot point stdout at stderr")?;
        Ok(StdoutToStderr(saved))
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        let _ = nix::unistd::dup2_stdout(&self.0);
    }
}

/// timeout(1)'s status when the time ran out: 124, or 137 when the
/// command needed its SIGKILL.
const TIMED_OUT: [i32; 2] = [124, 137];

fn to_proxy(e: &Event, port: u16) -> bool {
    matches!(e, Event::Connect { addr, .. } if addr.ip().is_loopback() && addr.port() == port)
}

fn dest(((host, port), allowed): ((String, u16), bool)) -> (Dest, bool) {
    let addr = host
        .parse::<IpAddr>()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    (Dest { host, port, addr }, allowed)
}

/// `nono run` with the record-mode policy and strace in front of the
/// command (timeout(1) in front of both with `--timeout`).
fn run_args(
    args: &LearnArgs,
    workdir: &Path,
    scratch: &Path,
    strace: &Path,
    out: &Path,
) -> Result<RunArgs> {
    let mut v: Vec<OsString> = ["nono", "run", "--no-diagnostics", "--no-audit"]
        .iter()
        .map(OsString::from)
        .collect();
    v.extend(["--profile", "default", "--read", "/"].map(OsString::from));
    for dir in [workdir, scratch] {
        v.push("--allow".into());
        v.push(dir.into());
    }
    v.push("--workdir".into());
    v.push(workdir.into());
    for h in &args.allow_domain {
        v.push("--allow-domain".into());
        v.push(h.into());
    }
    v.push("--".into());
    if let Some(t) = args.timeout {
        let timeout = trace::tool("timeout").context(
            "nono learn --sandboxed --timeout needs timeout(1) (coreutils), which is not installed",
        )?;
        v.push(timeout.into());
        v.extend(["--foreground", "-k", "3"].map(OsString::from));
        v.push(t.to_string().into());
    }
    v.push(strace.into());
    v.extend(trace::options(&out.join("t")));
    v.push("--".into());
    v.extend(args.command.iter().cloned());
    let cli = Cli::try_parse_from(v).context("cannot build the record-mode run")?;
    let Command::Run(mut run) = cli.command else {
        bail!("cannot build the record-mode run");
    };
    run.proxy.record_all = true;
    run.learn = true;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::super::seen::{proxy_event, proxy_port};
    use super::*;
    use ipc::proxy::ProxyEvent;

    #[test]
    fn proxy_events_are_kept_only_while_recording() {
        let ev = |host: &str, port, allowed| ProxyEvent {
            allowed,
            kind: "CONNECT".into(),
            host: host.into(),
            port,
            path: String::new(),
            reason: ipc::proxy::ProxyReason::Allowed,
        };
        proxy_event(&ev("a.test", 443, true));
        assert!(seen().is_none());
        *seen() = Some(Seen::default());
        proxy_port(8080);
        proxy_event(&ev("a.test", 443, false));
        proxy_event(&ev("a.test", 443, true));
        proxy_event(&ev("127.0.0.1", 9, false));
        let got = seen().take().unwrap();
        assert_eq!(got.proxy_port, Some(8080));
        let list: Vec<(Dest, bool)> = got.hosts.into_iter().map(dest).collect();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].0.rule(), "a.test", "{list:?}");
        assert!(list[1].1);
        assert_eq!(list[0].0.rule(), "127.0.0.1:9");
        assert!(!list[0].1);
    }

    #[test]
    fn the_run_is_record_mode_with_strace_in_front() {
        let cli = Cli::try_parse_from([
            "nono",
            "learn",
            "--sandboxed",
            "--allow-domain",
            "127.0.0.1:9",
            "--",
            "prog",
            "-x",
        ])
        .unwrap();
        let Command::Learn(args) = cli.command else {
            panic!("not learn");
        };
        let run = run_args(
            &args,
            Path::new("/w"),
            Path::new("/s"),
            Path::new("/usr/bin/strace"),
            Path::new("/s/trace"),
        )
        .unwrap();
        assert!(run.learn && run.proxy.record_all && run.no_diagnostics && run.record.no_audit);
        assert_eq!(run.policy.fs.read, vec![std::path::PathBuf::from("/")]);
        assert_eq!(run.proxy.allow_domain, vec!["127.0.0.1:9".to_string()]);
        assert_eq!(
            run.command.first(),
            Some(&OsString::from("/usr/bin/strace"))
        );
        assert_eq!(
            run.command[run.command.len() - 2..],
            ["prog", "-x"].map(OsString::from)
        );
    }
}

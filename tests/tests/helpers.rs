//! The privilege-separated process tree of `nono run`: helper hardening,
//! isolation of the helpers from the agent, and teardown when any process
//! of the session is killed.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nono_e2e::procfs::{children, comm, status_field};
use nono_e2e::{is_root, nono_bin, probe_bin, sandboxed_cmd};

/// A running `nono run -- probe sleep 30`: (nono, broker pid, agent pid).
/// The broker is the one serving the agent (pid 1 of the session's PID
/// namespace; nono's own child only relays its exit).
/// The caller waits for nono; only a failed start (a failed test) leaves it.
#[allow(clippy::zombie_processes)]
fn session() -> (Child, u32, u32) {
    let child = sandboxed_cmd("run", &[], &["sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(agent) = nono_e2e::procfs::agent_of(child.id()) {
            if status_field(agent, "Seccomp:") == "2" && comm(agent) == "nono-probe" {
                let broker = status_field(agent, "PPid:").parse().unwrap();
                return (child, broker, agent);
            }
        }
        assert!(Instant::now() < deadline, "session did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .map(|r| r.trim_start().starts_with('Z'))
            .unwrap_or(true),
    }
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    gone(pid)
}

#[test]
fn the_broker_is_hardened_and_confined() {
    let (mut nono, broker, _agent) = session();
    assert_eq!(comm(broker), "nono-broker");
    assert_eq!(status_field(broker, "NoNewPrivs:"), "1");
    assert_eq!(status_field(broker, "Seccomp:"), "2");
    assert_eq!(status_field(broker, "CapEff:"), "0000000000000000");
    // The relay nono started holds no privilege either, and nothing but
    // stderr.
    let relay = children(nono.id())[0];
    assert_eq!(status_field(relay, "NoNewPrivs:"), "1");
    assert_eq!(status_field(relay, "CapEff:"), "0000000000000000");
    assert_eq!(status_field(relay, "CapPrm:"), "0000000000000000");
    if is_root() {
        // (Unprivileged, its /proc files belong to root: it is not dumpable.)
        let fds: Vec<String> = std::fs::read_dir(format!("/proc/{relay}/fd"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(fds, ["2"], "the relay's descriptors");
    }
    if !is_root() {
        // A non-dumpable process's /proc files belong to root.
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(format!("/proc/{broker}/environ"))
                .unwrap()
                .uid(),
            0,
            "broker must be non-dumpable"
        );
    }
    // Its environment is empty: nothing of the user's leaks into the helper.
    nono.kill().unwrap();
    nono.wait().unwrap();
}

#[test]
fn the_agent_cannot_touch_the_broker_or_nono() {
    let probe = probe_bin().display().to_string();
    // The broker is the command's parent (pid 1 of the session's PID
    // namespace); nono, like every process outside, cannot even be named
    // from inside: this test's own pid stands for them.
    let outside = std::process::id();
    let script = format!(
        "B=$PPID; N={outside}; \
         for t in $B $N; do \
           {probe} kill $t 9; {probe} kill $t 15; {probe} ptrace-attach $t; \
           {probe} read /proc/$t/environ; {probe} read /proc/$t/mem; {probe} vm-read $t 0x400000; \
         done; exit 0"
    );
    let out = Command::new(nono_bin())
        .args(["run", "--read-file", &probe, "--", "/bin/sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.lines().count(), 12, "{s}");
    assert!(
        s.lines().all(|l| l.starts_with("ERR")),
        "every attempt must fail:\n{s}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "nono and the broker survived: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn killing_the_broker_ends_the_session_and_the_agent() {
    let (nono, broker, agent) = session();
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(broker as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = nono.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nono-broker") && err.contains("stopped"),
        "{err}"
    );
    assert!(
        wait_gone(agent, Duration::from_secs(1)),
        "the agent must be gone"
    );
}

#[test]
fn killing_nono_ends_the_broker_and_the_agent() {
    let (mut nono, broker, agent) = session();
    nono.kill().unwrap();
    nono.wait().unwrap();
    assert!(
        wait_gone(broker, Duration::from_secs(1)),
        "the broker must be gone"
    );
    assert!(
        wait_gone(agent, Duration::from_secs(1)),
        "the agent must be gone"
    );
}

#[test]
fn killing_the_agent_reports_its_signal() {
    let (nono, _broker, agent) = session();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = nono.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
}

#[test]
fn a_helper_refuses_to_start_outside_nono() {
    let broker = nono_bin().with_file_name("nono-broker");
    let out = Command::new(&broker).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only nono starts the broker"));
    let out = Command::new(&broker)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

//! Signals, exit statuses, pipes and sizes: the sandboxed command ends as
//! the bare command would (SIGPIPE at its default, 128+N for a signal
//! death); nono never panics or stalls on a closed or unread stdout/stderr;
//! large environments and policies start.

use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nono_e2e::{nono_bin, probe_bin, Scratch};

/// Every command here must end well within this.
const DEADLINE: Duration = Duration::from_secs(60);

/// The status as a shell reports it: the exit code, or 128 + the signal.
fn shell_status(s: ExitStatus) -> i32 {
    s.code()
        .or_else(|| s.signal().map(|n| 128 + n))
        .expect("exit code or signal")
}

/// Wait for `child` at most [`DEADLINE`]; kill it and panic after that.
fn wait_bounded(mut child: Child, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Read all of `r` on a thread, so a full pipe never blocks the child.
fn drain(mut r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    rx
}

/// A pipe whose reader is already gone: every write to it is EPIPE.
fn closed_pipe() -> Stdio {
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe().expect("pipe");
    drop(r);
    Stdio::from(w)
}

/// Spawn `cmd` with stdout piped, read one line, close the pipe, and
/// return the status as the shell reports it, and stderr.
fn first_line_then_close(mut cmd: Command) -> (String, i32, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let err = drain(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut line).expect("read a line");
    drop(out);
    let status = wait_bounded(child, "the writer");
    let stderr = err.recv_timeout(DEADLINE).expect("stderr");
    (line, shell_status(status), stderr)
}

fn nono_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(nono_bin());
    c.args(args);
    c
}

#[test]
fn yes_into_a_closed_pipe_ends_as_bare_with_141() {
    let (line, bare, _) = first_line_then_close(Command::new("yes"));
    assert_eq!((line.as_str(), bare), ("y\n", 141));
    for mode in ["run", "wrap"] {
        let (line, status, stderr) = first_line_then_close(nono_cmd(&[mode, "--", "yes"]));
        assert_eq!(line, "y\n", "{mode}");
        assert_eq!(status, bare, "nono {mode}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "nono {mode}: {stderr}");
    }
}

#[test]
fn the_command_starts_with_default_sigpipe_and_no_blocked_signal() {
    for mode in ["run", "wrap"] {
        let out = nono_cmd(&[
            mode,
            "--",
            "grep",
            "-E",
            "^Sig(Blk|Ign)",
            "/proc/self/status",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("spawn nono");
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |k: &str| {
            let line = text.lines().find(|l| l.starts_with(k)).unwrap_or("");
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap_or("x"), 16)
                .unwrap_or_else(|_| panic!("nono {mode}: no {k} in {text}"))
        };
        assert_eq!(field("SigBlk:"), 0, "nono {mode}: {text}");
        assert_eq!(
            field("SigIgn:") & (1 << (libc::SIGPIPE - 1)),
            0,
            "nono {mode}: {text}"
        );
    }
}

#[test]
fn a_signal_death_is_reported_as_128_plus_the_signal() {
    for (sig, want) in [("PIPE", 141), ("TERM", 143), ("KILL", 137)] {
        let script = format!("kill -{sig} $$; sleep 5");
        let bare = Command::new("sh")
            .args(["-c", &script])
            .status()
            .expect("sh");
        assert_eq!(shell_status(bare), want, "bare SIG{sig}");
        for mode in ["run", "wrap"] {
            let child = nono_cmd(&[mode, "--", "sh", "-c", &script])
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn nono");
            let status = wait_bounded(child, "nono");
            assert_eq!(shell_status(status), want, "nono {mode}, SIG{sig}");
        }
    }
}

/// Every informational command, with its arguments.
const INFORMATIONAL: &[&[&str]] = &[
    &["--help"],
    &["--version"],
    &["run", "--help"],
    &["profile", "guide"],
    &["profile", "schema"],
    &["profile", "list"],
    &["profile", "show", "default"],
    &["profile", "show", "--json", "default"],
    &["profile", "diff", "default", "codex"],
    &["profile", "groups"],
    &["profile", "init", "x"],
    &["why", "--path", "/etc/passwd", "--op", "read"],
    &["why", "--json", "--path", "/etc/passwd", "--op", "read"],
    &["setup"],
    &["setup", "--check-only"],
    &["run", "--dry-run", "-v", "--", "true"],
    &["wrap", "--dry-run", "--", "true"],
];

#[test]
fn informational_commands_end_quietly_with_141_on_a_closed_stdout() {
    for args in INFORMATIONAL {
        let out = nono_cmd(args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .output()
            .expect("spawn nono");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "nono {args:?}: {stderr}");
        // Nothing about the closed pipe: no panic, no error; only `-v`
        // runs may say what they decided.
        let verbose = args.contains(&"-v");
        assert!(
            (stderr.is_empty() || verbose)
                && stderr.lines().all(|l| l.starts_with("nono: "))
                && !stderr.contains("anicked")
                && !stderr.to_lowercase().contains("broken pipe"),
            "nono {args:?} said: {stderr}"
        );
        // The same commands still succeed when stdout is read.
        let ok = nono_cmd(args).stdin(Stdio::null()).output().expect("spawn");
        assert!(!ok.stdout.is_empty(), "nono {args:?} printed nothing");
    }
}

#[test]
fn a_closed_stderr_does_not_stop_nono_or_the_command() {
    for mode in ["run", "wrap"] {
        let out = nono_cmd(&["-v", mode, "--", "echo", "done"])
            .stdin(Stdio::null())
            .stderr(closed_pipe())
            .output()
            .expect("spawn nono");
        assert_eq!(out.status.code(), Some(0), "nono {mode}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "done\n",
            "nono {mode}"
        );
    }
}

#[test]
fn a_stderr_nobody_reads_does_not_stall_thousands_of_denials() {
    let s = Scratch::new();
    let target = s.join("file");
    std::fs::write(&target, "x").unwrap();
    // -v: one line per brokered denial, ~100 bytes each, far beyond a pipe.
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe().expect("pipe");
    let probe = probe_bin();
    let child = nono_cmd(&["-v", "run", "--read", &s.s(), "--read-file"])
        .arg(&probe)
        .arg("--")
        .arg(&probe)
        .args(["chmod-loop", &target.display().to_string(), "6000"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(w))
        .spawn()
        .expect("spawn nono");
    let start = Instant::now();
    let mut child = child;
    let out = drain(child.stdout.take().expect("stdout"));
    let status = wait_bounded(child, "nono with an unread stderr");
    let stdout = out.recv_timeout(DEADLINE).expect("stdout");
    assert_eq!(
        stdout.trim(),
        "OK failed=6000",
        "after {:?}",
        start.elapsed()
    );
    assert_eq!(status.code(), Some(0));
    // What did reach stderr is whole lines from nono.
    let mut seen = vec![0u8; 4096];
    let n = nix::unistd::read(&r, &mut seen).expect("read stderr");
    let first = String::from_utf8_lossy(&seen[..n]);
    assert!(first.starts_with("nono: "), "{first}");
    assert!(!first.contains("panicked"), "{first}");
}

/// `count` variables of `len` bytes each.
fn big_env(count: usize, len: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| (format!("NONO_E2E_BIG_{i}"), "v".repeat(len)))
        .collect()
}

#[test]
fn a_megabyte_of_environment_reaches_the_command() {
    // 12 x 100 KB: over 1 MiB in all, each below the kernel's 128 KiB per string.
    let env = big_env(12, 100_000);
    for mode in ["run", "wrap"] {
        let probe = probe_bin();
        let out = nono_cmd(&[mode, "--read-file"])
            .arg(&probe)
            .arg("--")
            .arg(&probe)
            .arg("env")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .expect("spawn nono");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "nono {mode}: {stderr}");
        for (k, v) in &env {
            assert!(
                stdout.lines().any(|l| l == format!("{k}={v}")),
                "nono {mode}: {k} missing or cut"
            );
        }
    }
}

#[test]
fn twenty_thousand_grants_start_and_hold() {
    // A home-like tree with a protected entry: `--allow` of it becomes one
    // rule per other entry (20,000), far beyond one frame of the protocol.
    let s = Scratch::new();
    let home = s.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_test"), "secret").unwrap();
    for i in 0..20_000 {
        std::fs::write(home.join(format!("f{i}")), format!("content {i}")).unwrap();
    }
    let probe = probe_bin();
    let run = |args: &[&str]| {
        let start = Instant::now();
        let child = nono_cmd(&["run", "--allow"])
            .arg(&home)
            .arg("--read-file")
            .arg(&probe)
            .arg("--")
            .arg(&probe)
            .args(args)
            .env("HOME", &home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nono");
        let mut child = child;
        let out = drain(child.stdout.take().expect("stdout"));
        let err = drain(child.stderr.take().expect("stderr"));
        wait_bounded(child, "nono with 20,000 grants");
        let r = (out.recv().unwrap(), err.recv().unwrap());
        (r, start.elapsed())
    };
    let last = home.join("f19999").display().to_string();
    let ((stdout, stderr), took) = run(&["read", &last]);
    assert_eq!(stdout.trim(), "OK content 19999", "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let key = home.join(".ssh/id_test").display().to_string();
    let ((stdout, _), _) = run(&["read", &key]);
    assert!(stdout.starts_with("ERR "), "{stdout}");
}

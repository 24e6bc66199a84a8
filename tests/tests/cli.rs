//! Command-line behaviour: exit codes, dry runs, errors, process trees,
//! signal forwarding, environment and descriptor hygiene.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nono_e2e::{canary, nono, nono_bin, probe_bin, run, sandboxed, sandboxed_cmd, Scratch};

#[test]
fn exit_codes_pass_through() {
    assert_eq!(run(&[], &["exit", "0"]).code, Some(0));
    assert_eq!(run(&[], &["exit", "42"]).code, Some(42));
    assert_eq!(sandboxed("wrap", &[], &["exit", "42"]).code, Some(42));
}

#[test]
fn killed_command_reports_128_plus_signal() {
    let r = nono(&["run", "--", "sh", "-c", "kill -9 $$"]);
    assert_eq!(r.code, Some(137), "{r:?}");
}

#[test]
fn missing_command_is_127_and_non_executable_is_126() {
    let r = nono(&["run", "--", "no-such-command-nono-e2e"]);
    assert_eq!(r.code, Some(127));
    assert!(r.stderr.contains("command not found"), "{r:?}");
    let d = Scratch::new();
    std::fs::write(d.join("plain"), "not a program").unwrap();
    let r = nono(&[
        "run",
        "--allow",
        &d.s(),
        "--",
        d.join("plain").to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(126), "{r:?}");
    // An executable outside the grants cannot be executed inside: 126 with a hint.
    let exe = d.join("tool");
    // Copied by another process (no write descriptor here to leak into a
    // concurrent test's fork: ETXTBSY).
    assert!(std::process::Command::new("cp")
        .arg(probe_bin())
        .arg(&exe)
        .status()
        .unwrap()
        .success());
    let r = nono(&["run", "--", exe.to_str().unwrap(), "exit", "0"]);
    assert_eq!(r.code, Some(126), "{r:?}");
    assert!(r.stderr.contains(&format!("--read {}", d.s())), "{r:?}");
    for mode in ["run", "wrap"] {
        assert_eq!(
            nono(&[mode, "--", "no-such-command-nono-e2e"]).code,
            Some(127)
        );
    }
}

#[test]
fn nono_errors_exit_1_and_name_the_flag() {
    let r = nono(&["run", "--read", "/no/such/path/nono", "--", "true"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("--read /no/such/path/nono") && r.stderr.contains("does not exist"),
        "{r:?}"
    );
    let r = nono(&["run", "--allow-file", "/usr", "--", "true"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("--allow-file") && r.stderr.contains("directory"),
        "{r:?}"
    );
    let r = nono(&["run", "--bogus-flag", "--", "true"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let r = nono(&["run"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let r = nono(&["frobnicate"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(nono(&["--help"]).code, Some(0));
}

#[test]
fn dry_run_lists_grants_and_executes_nothing() {
    let d = Scratch::new();
    let target = d.join("created-by-dry-run");
    for mode in ["run", "wrap"] {
        let r = nono(&[
            mode,
            "--dry-run",
            "--allow",
            &d.s(),
            "--block-net",
            "--",
            "touch",
            target.to_str().unwrap(),
        ]);
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(
            r.stdout.contains("Capabilities that would be granted:"),
            "{r:?}"
        );
        assert!(r.stdout.contains(&format!("[rw] {}", d.s())), "{r:?}");
        assert!(r.stdout.contains("[net] blocked"), "{r:?}");
        assert!(r.stdout.contains("Would execute: touch"), "{r:?}");
        assert!(!target.exists());
    }
    let r = nono(&["run", "--dry-run", "-v", "--read", &d.s(), "--", "true"]);
    assert!(r.stdout.contains(&format!("[r-] {}", d.s())), "{r:?}");
    assert!(r.stdout.contains("Landlock: kernel ABI"), "{r:?}");
    assert!(r.stdout.contains("(group system_read_linux)"), "{r:?}");
}

#[test]
fn allow_cwd_shares_the_workdir_read_only() {
    let d = Scratch::new();
    std::fs::write(d.join("f"), "cwd").unwrap();
    let probe = probe_bin();
    let out = Command::new(nono_bin())
        .current_dir(&d.path)
        .args(["run", "--allow-cwd", "--read-file"])
        .arg(&probe)
        .arg("--")
        .arg(&probe)
        .args(["read", "f"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK cwd"));
    let r = run(
        &["--allow-cwd", "--workdir", &d.s()],
        &["write", d.join("g").to_str().unwrap(), "x"],
    );
    assert!(r.is_err(Some(libc::EACCES)), "{r:?}");
    assert!(!d.join("g").exists());
}

#[test]
fn run_keeps_a_supervisor_and_wrap_leaves_none() {
    // run: nono -> nono-broker (the relay) -> nono-broker (pid 1 of the
    // session's PID namespace) -> command.
    let child = sandboxed_cmd("run", &[], &["sleep", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let nono_pid = child.id();
    std::thread::sleep(Duration::from_millis(300));
    let relays = nono_e2e::procfs::children(nono_pid);
    assert_eq!(relays.len(), 1, "nono has one child");
    assert_eq!(nono_e2e::procfs::comm(relays[0]), "nono-broker");
    let brokers = nono_e2e::procfs::children(relays[0]);
    assert_eq!(brokers.len(), 1, "the relay has one child");
    assert_eq!(nono_e2e::procfs::comm(brokers[0]), "nono-broker");
    let agents = nono_e2e::procfs::children(brokers[0]);
    assert_eq!(agents.len(), 1, "the broker has one child");
    assert_eq!(nono_e2e::procfs::comm(agents[0]), "nono-probe");
    child.wait_with_output().unwrap();

    // wrap: the probe *is* the process we spawned (nono exec'd into it), and
    // its parent is this test process.
    let child = sandboxed_cmd("wrap", &[], &["pids"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains(&format!("pid={pid} ppid={}", std::process::id())),
        "{s}"
    );
}

#[test]
fn run_forwards_termination_signals() {
    for (sig, code) in [
        (libc::SIGTERM, 143),
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
    ] {
        let mut child = sandboxed_cmd("run", &[], &["sleep", "30"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        // SAFETY: kill takes integers only.
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {sig}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn injection_variables_are_removed_and_others_kept() {
    let keep = canary("keep");
    let out = sandboxed_cmd("run", &[], &["env"])
        .env("LD_PRELOAD", "/nonexistent/evil.so")
        .env("BASH_ENV", "/nonexistent/evil.sh")
        .env("NODE_OPTIONS", "--require /nonexistent/evil.js")
        .env("PYTHONSTARTUP", "/nonexistent/evil.py")
        .env("NONO_E2E_KEEP", &keep)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for gone in [
        "LD_PRELOAD=",
        "BASH_ENV=",
        "NODE_OPTIONS=",
        "PYTHONSTARTUP=",
    ] {
        assert!(
            !s.lines().any(|l| l.starts_with(gone)),
            "{gone} leaked: {s}"
        );
    }
    assert!(s.contains(&format!("NONO_E2E_KEEP={keep}")));
}

#[test]
fn only_stdio_descriptors_reach_the_command() {
    let d = Scratch::new();
    let marker = d.join("inherited-marker");
    std::fs::write(&marker, "").unwrap();
    let extra = std::fs::File::open(&marker).unwrap();
    let fd = extra.as_raw_fd();
    for mode in ["run", "wrap"] {
        let mut cmd = sandboxed_cmd(mode, &[], &["fds"]);
        // SAFETY: fcntl on a descriptor we own, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Clear close-on-exec so nono itself inherits the descriptor.
                libc::fcntl(fd, libc::F_SETFD, 0);
                Ok(())
            });
        }
        let out = cmd.stdin(Stdio::piped()).output().unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.starts_with("OK 0->"), "{mode}: {s}");
        assert!(
            !s.contains("inherited-marker"),
            "{mode}: descriptor leaked: {s}"
        );
        // 0, 1, 2 and the directory handle used to list /proc/self/fd.
        assert_eq!(s.trim().split(',').count(), 4, "{mode}: {s}");
    }
}

#[test]
fn setup_check_only_reports_the_kernel() {
    let r = nono(&["setup", "--check-only"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    for want in [
        "Platform:  linux",
        "Kernel:",
        "Landlock:  ABI",
        "TCP bind/connect rules",
        "Status: ready",
    ] {
        assert!(r.stdout.contains(want), "missing {want}: {}", r.stdout);
    }
}

#[test]
fn broker_and_proxy_flags_are_refused_by_wrap_and_run_nothing() {
    let d = Scratch::new();
    let marker = d.join("ran");
    let m = marker.to_str().unwrap();
    let r = nono(&[
        "wrap",
        "--allow-domain",
        "api.example.com",
        "--",
        "touch",
        m,
    ]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("nono wrap does not support proxy flags")
            && r.stderr.contains("Use nono run instead"),
        "{r:?}"
    );
    let r = nono(&[
        "wrap",
        "--allow-unix-socket",
        "/tmp/x.sock",
        "--",
        "touch",
        m,
    ]);
    assert!(
        r.code == Some(1) && r.stderr.contains("Use nono run instead"),
        "{r:?}"
    );
    let r = nono(&["wrap", "--capability-elevation", "--", "touch", m]);
    assert!(
        r.code == Some(1) && r.stderr.contains("Use nono run instead"),
        "{r:?}"
    );
    assert!(!marker.exists());
}

#[test]
fn wrap_refuses_every_helper_flag_in_one_message() {
    let d = Scratch::new();
    let marker = d.join("ran");
    let m = marker.to_str().unwrap();
    let r = nono(&[
        "wrap",
        "--allow-domain",
        "api.example.com",
        "--allow-unix-socket",
        "/nonexistent/x.sock",
        "--capability-elevation",
        "--rollback",
        "--",
        "touch",
        m,
    ]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let first = r.stderr.lines().next().unwrap_or_default();
    for flag in [
        "--allow-domain",
        "--allow-unix-socket",
        "--capability-elevation",
        "--rollback",
        "Use nono run instead",
    ] {
        assert!(first.contains(flag), "{flag} not named: {r:?}");
    }
    assert!(!marker.exists());
}

/// `nono ARGS` in `dir` with `XDG_CONFIG_HOME` there (user profiles).
fn nono_in(dir: &Scratch, args: &[&str]) -> nono_e2e::Ran {
    let o = Command::new(nono_bin())
        .args(args)
        .current_dir(&dir.path)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env_remove("NONO_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    nono_e2e::Ran {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// One bad input: exit 1 and one short line on stderr containing `want`.
fn refused(r: &nono_e2e::Ran, want: &str) {
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains(want), "wanted {want:?}: {r:?}");
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.len() < 600, "{} bytes: {first}", first.len());
}

#[test]
fn deep_and_circular_extends_fail_in_one_short_line() {
    let d = Scratch::new();
    for i in 0..2000 {
        std::fs::write(
            d.join(&format!("p{i}.json")),
            format!("{{\"extends\": \"p{}.json\"}}", i + 1),
        )
        .unwrap();
    }
    std::fs::write(d.join("p2000.json"), "{}").unwrap();
    let deep = d.join("p0.json").display().to_string();
    for args in [
        vec!["run", "--profile", &deep, "--", "true"],
        vec!["profile", "validate", &deep],
        vec!["profile", "show", &deep],
        vec!["why", "--profile", &deep, "--path", "/tmp"],
    ] {
        let r = nono_in(&d, &args);
        refused(&r, "extends chain too deep");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {r:?}");
    }
    std::fs::write(d.join("a.json"), "{\"extends\": \"b.json\"}").unwrap();
    std::fs::write(d.join("b.json"), "{\"extends\": \"a.json\"}").unwrap();
    let r = nono_in(&d, &["profile", "validate", "a.json"]);
    refused(&r, "circular extends");
}

#[test]
fn bad_profiles_name_their_own_file_and_validate_matches_run() {
    let d = Scratch::new();
    let users = d.join("cfg/nono/profiles");
    std::fs::create_dir_all(&users).unwrap();
    let mine = users.join("mine.json");
    std::fs::write(
        &mine,
        "{\n  \"extends\": \"python-dev\",\n  \"filesystem\": {\"allow\": [\"$HOMEDIR/x\"]}\n}\n",
    )
    .unwrap();
    let r = nono_in(&d, &["run", "--profile", "mine", "--", "true"]);
    refused(&r, &format!("{}:3:", mine.display()));
    assert!(!r.stderr.contains("python-dev"), "blamed the parent: {r:?}");
    // A credential field run refuses: validate refuses it too, with the line.
    std::fs::write(
        d.join("cred.json"),
        "{\"extends\": \"default\",\n \"env_credentials\": {\"acct\": \"PATH\"}}",
    )
    .unwrap();
    for args in [
        vec!["profile", "validate", "cred.json"],
        vec!["run", "--profile", "./cred.json", "--", "true"],
    ] {
        refused(&nono_in(&d, &args), "cred.json:2:");
    }
    // TOML without the suffix; a directory; jargon.
    std::fs::write(d.join("plain"), "[meta]\nname = \"plain\"\n").unwrap();
    let r = nono_in(
        &d,
        &["run", "--profile", "./plain", "--dry-run", "--", "true"],
    );
    assert!(
        r.code == Some(0) && r.stdout.contains("profile: plain"),
        "{r:?}"
    );
    refused(
        &nono_in(&d, &["run", "--profile", "plain", "--", "true"]),
        "give ./plain",
    );
    std::fs::create_dir(d.join("adir")).unwrap();
    refused(
        &nono_in(&d, &["run", "--profile", "./adir", "--", "true"]),
        "is a directory",
    );
    std::fs::write(d.join("num.json"), "{\"extends\": 3}").unwrap();
    let r = nono_in(&d, &["profile", "validate", "num.json"]);
    refused(&r, "a profile name or path");
    assert!(!r.stderr.contains("enum"), "{r:?}");
}

#[test]
fn relative_extends_never_reaches_into_the_working_directory() {
    let d = Scratch::new();
    let users = d.join("cfg/nono/profiles");
    std::fs::create_dir_all(&users).unwrap();
    std::fs::write(users.join("mine.json"), "{\"extends\": \"base.json\"}").unwrap();
    // The project plants a base.json widening the grants.
    std::fs::write(
        d.join("base.json"),
        "{\"filesystem\": {\"allow\": [\"/etc\"]}}",
    )
    .unwrap();
    refused(
        &nono_in(&d, &["run", "--profile", "mine", "--", "true"]),
        "base.json does not exist",
    );
    // Next to the profile, it is the one used.
    std::fs::write(
        users.join("base.json"),
        "{\"filesystem\": {\"read\": [\"/usr\"]}}",
    )
    .unwrap();
    let r = nono_in(
        &d,
        &[
            "why",
            "--profile",
            "mine",
            "--path",
            "/etc/hostname",
            "--op",
            "write",
        ],
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("DENIED"), "{r:?}");
}

#[test]
fn bad_flags_are_refused_and_repeated_switches_are_not() {
    let d = Scratch::new();
    let r = nono_in(&d, &["run", "--block-net", "--block-net", "--", "true"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    refused(
        &nono_in(&d, &["run", "--listen-port", "3000", "--", "true"]),
        "--listen-port 3000 only applies in proxy mode",
    );
    refused(
        &nono_in(&d, &["run", "--proxy-port", "3000", "--", "true"]),
        "--proxy-port 3000 only applies in proxy mode",
    );
    let r = nono_in(&d, &["why", "--host", ""]);
    refused(&r, "no host name");
    assert!(!r.stdout.contains("ALLOWED"), "{r:?}");
    for var in [
        "PATH",
        "HOME",
        "PYTHONPATH",
        "NODE_PATH",
        "LD_PRELOAD",
        "NONO_SANDBOX_POLICY",
    ] {
        refused(
            &nono_in(
                &d,
                &[
                    "run",
                    "--dry-run",
                    "--env-credential-map",
                    "env://X",
                    var,
                    "--",
                    "true",
                ],
            ),
            &format!("{var} cannot carry a credential"),
        );
    }
    // NAME=VAR is accepted as the help says (the dry run fetches nothing).
    let r = nono_in(
        &d,
        &[
            "run",
            "--dry-run",
            "--env-credential",
            "acct=GH_TOKEN",
            "--",
            "true",
        ],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
}

/// Argument errors clap finds read like nono's own: one line, naming the
/// flag and the help of the command it belongs to, exit 1.
#[test]
fn argument_errors_are_one_line_with_the_commands_help() {
    for (args, says, help) in [
        (
            &["run", "--allow"][..],
            "a value is required for '--allow <DIR>'",
            "nono run --help",
        ),
        (
            &["run", "--startup-timeout", "abc", "--", "true"][..],
            "invalid value 'abc'",
            "nono run --help",
        ),
        (
            &["-v", "trust", "verify"][..],
            "required arguments were not provided: <FILES>",
            "nono trust verify --help",
        ),
        (
            &["learn", "--timeout", "-1", "--", "true"][..],
            "'--timeout <SECONDS>'",
            "nono learn --help",
        ),
        (
            &["bogus"][..],
            "unrecognized subcommand 'bogus'",
            "nono --help",
        ),
    ] {
        let r = nono(args);
        assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {r:?}");
        assert!(lines[0].starts_with("nono: "), "{args:?}: {r:?}");
        assert!(lines[0].contains(says), "{args:?}: {r:?}");
        assert!(
            lines[0].ends_with(&format!("see '{help}'")),
            "{args:?}: {r:?}"
        );
    }
}

//! `nono run` on a terminal: the agent gets a pseudo-terminal of its own,
//! relayed by nono; the user's terminal never reaches it and is restored
//! afterwards. Keys, window size and job control behave as on a bare
//! terminal. Each test drives nono through a real pseudo-terminal.

use std::process::Command;
use std::time::Duration;

use nono_e2e::term::Term;
use nono_e2e::upstream::Upstream;
use nono_e2e::{nono_bin, Scratch};

const LIMIT: Duration = Duration::from_secs(20);

fn nono(args: &[&str]) -> Command {
    let mut c = Command::new(nono_bin());
    c.arg("run").arg("-s").args(args);
    c
}

#[test]
fn the_agent_gets_its_own_terminal_not_the_users() {
    let mut t = Term::spawn_telling(
        nono(&[
            "--",
            "/bin/sh",
            "-c",
            "echo tty=$(tty); echo size=$(stty size); \
             (: > \"$(tty)\") && echo own=opened; \
             (: > \"$USER_TTY\") 2>/dev/null && echo user=opened || echo user=denied; \
             echo DONE",
        ]),
        Some("USER_TTY"),
    );
    t.expect("DONE", LIMIT);
    let user = t.path.clone();
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("size=33 101"), "{screen}");
    let own = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("tty="))
        .expect("tty line")
        .to_string();
    assert!(own.starts_with("/dev/pts/") && own != user, "{screen}");
    assert!(screen.contains("own=opened"), "{screen}");
    assert!(screen.contains("user=denied"), "{screen}");
}

#[test]
fn the_users_terminal_is_restored() {
    let t = Term::spawn(nono(&["--", "/bin/sh", "-c", "sleep 0.2"]));
    assert!(t.cooked());
    let mut t = t;
    std::thread::sleep(Duration::from_millis(100));
    assert!(!t.cooked(), "raw while the agent runs");
    t.expect("", LIMIT);
    let start = std::time::Instant::now();
    while t.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < LIMIT);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(t.cooked(), "not restored");
}

#[test]
fn window_size_changes_reach_the_agent() {
    let dir = Scratch::new();
    let script = dir.join("winch.sh");
    std::fs::write(
        &script,
        "trap 'echo winch=$(stty size)' WINCH\necho READY\nsleep 1\nsleep 1\necho END\n",
    )
    .unwrap();
    let mut t = Term::spawn(nono(&[
        "--read",
        &dir.s(),
        "--",
        "/bin/sh",
        script.to_str().unwrap(),
    ]));
    t.expect("READY", LIMIT);
    t.resize(40, 120);
    t.expect("winch=40 120", LIMIT);
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
}

#[test]
fn interactive_bash_has_job_control_and_its_exit_status() {
    let mut t = Term::spawn(nono(&["--allow-cwd", "--", "/bin/bash", "--norc", "-i"]));
    t.expect("bash", LIMIT);
    t.type_in(b"echo $((6*7)); sleep 30 & jobs; kill %1; exit 3\r");
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(3), "{screen}");
    assert!(screen.contains("42"), "{screen}");
    assert!(screen.contains("Running"), "{screen}");
    assert!(!screen.contains("no job control"), "{screen}");
}

/// Ctrl-C is a key the agent's terminal turns into SIGINT for the agent's
/// foreground group only: the agent handles it and still uses the proxy.
#[test]
fn ctrl_c_reaches_only_the_agent_and_the_proxy_keeps_serving() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "ctrlc", None);
    let script = format!(
        "import signal, time, urllib.request\n\
         got = []\n\
         signal.signal(signal.SIGINT, lambda *a: got.append(1))\n\
         print('READY', flush=True)\n\
         end = time.time() + 10\n\
         while not got and time.time() < end: time.sleep(0.05)\n\
         r = urllib.request.urlopen('http://127.0.0.1:{}/after-ctrl-c', timeout=10)\n\
         print('interrupted', len(got), 'status', r.status, flush=True)\n",
        up.port
    );
    let allow = format!("127.0.0.1:{}", up.port);
    let mut t = Term::spawn(nono(&[
        "--allow-domain",
        &allow,
        "--",
        "/usr/bin/python3",
        "-c",
        &script,
    ]));
    t.expect("READY", LIMIT);
    t.type_in(b"\x03");
    t.expect("interrupted 1 status 200", LIMIT);
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("ended unexpectedly"), "{screen}");
}

#[test]
fn nono_shell_starts_the_users_shell_with_a_marked_prompt() {
    for shell in ["/bin/bash", "/bin/sh"] {
        let mut c = Command::new(nono_bin());
        c.args(["shell", "-s", "--allow-cwd"]).env("SHELL", shell);
        let mut t = Term::spawn(c);
        t.expect("(nono) ", LIMIT);
        t.type_in(b"echo inside=$NONO_SHELL; exit 4\r");
        let (code, screen) = t.finish(LIMIT);
        assert_eq!(code, Some(4), "{shell}: {screen}");
        assert!(screen.contains("inside=1"), "{shell}: {screen}");
    }
    // --shell overrides $SHELL; a command is refused.
    let mut c = Command::new(nono_bin());
    c.args(["shell", "-s", "--shell", "/bin/sh"])
        .env("SHELL", "/bin/false");
    let mut t = Term::spawn(c);
    t.expect("(nono) $ ", LIMIT);
    t.type_in(b"exit 0\r");
    assert_eq!(t.finish(LIMIT).0, Some(0));
    let r = nono_e2e::nono(&["shell", "--", "true"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("nono shell takes no command"), "{r:?}");
}

#[test]
fn startup_timeout_stops_a_command_that_never_draws_its_interface() {
    // A banner is not an interface: stopped after 1 s (SIGTERM: 143).
    let mut c = nono(&[
        "--startup-timeout",
        "1",
        "--",
        "/bin/sh",
        "-c",
        "echo banner; sleep 30",
    ]);
    c.env_remove("NONO_STARTUP_TIMEOUT");
    let t = Term::spawn(c);
    let start = std::time::Instant::now();
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(143), "{screen}");
    assert!(start.elapsed() < Duration::from_secs(10), "{screen}");
    // nono -s is silent; without it the message names the flag.
    let mut c = Command::new(nono_bin());
    c.args(["run", "--", "/bin/sh", "-c", "sleep 30"])
        .env("NONO_STARTUP_TIMEOUT", "1");
    let (code, screen) = Term::spawn(c).finish(LIMIT);
    assert_eq!(code, Some(143), "{screen}");
    assert!(screen.contains("--startup-timeout"), "{screen}");
    // Entering the alternate screen in time disarms it.
    let mut c = nono(&[
        "--startup-timeout",
        "1",
        "--",
        "/bin/sh",
        "-c",
        "printf '\\033[?1049h'; sleep 2; printf '\\033[?1049l'; echo survived",
    ]);
    c.env_remove("NONO_STARTUP_TIMEOUT");
    let (code, screen) = Term::spawn(c).finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("survived"), "{screen}");
}

/// Ctrl-Z stops the agent and nono with it, as the user's shell sees a
/// bare command's job; `fg` continues both and the agent reads on.
#[test]
fn ctrl_z_then_fg_suspends_and_continues_the_session() {
    let nono = nono_bin();
    let mut t = Term::spawn(shell());
    t.type_in(b"PS1='$ '; PROMPT_COMMAND='echo status=$?'; set -m\r");
    let line = format!(
        "{} run -s -- /bin/sh -c 'echo READY $$ END$((6*7)); read x; echo got=$x'\r",
        nono.display()
    );
    t.type_in(line.as_bytes());
    t.expect("END42", LIMIT);
    // `$$` is the agent's pid in the session's PID namespace; from here it
    // is the `sh` running this very script.
    let agent = running_script("END$((6*7)); read x").expect("the agent's pid");
    t.type_in(b"\x1a");
    t.expect("Stopped", LIMIT);
    assert_eq!(state(agent), 'T', "the agent is stopped: {}", t.screen);
    // The shell has its terminal back.
    t.type_in(b"echo shell=$((2+3))\r");
    t.expect("shell=5", LIMIT);
    t.type_in(b"fg\r");
    // nono takes the terminal again, then continues the agent.
    let start = std::time::Instant::now();
    while state(agent) == 'T' {
        assert!(start.elapsed() < LIMIT, "not continued: {}", t.screen);
        std::thread::sleep(Duration::from_millis(20));
    }
    t.type_in(b"hello\r");
    // nono's exit status, as the shell saw it when the job ended.
    t.expect_after("got=hello", "status=0", LIMIT);
    t.type_in(b"exit\r");
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
}

/// Without a terminal of its own (stdin redirected) the agent leads a
/// session of its own in the session's PID namespace: nono forwards the
/// Ctrl-Z, the agent stops, nono stops after it (the shell reports 148),
/// and `fg` continues both. The agent is observed stopped from here.
#[test]
fn ctrl_z_then_fg_without_a_terminal_of_its_own() {
    let mut t = Term::spawn(shell());
    t.type_in(b"PS1='$ '; PROMPT_COMMAND='echo status=$?'; set -m\r");
    let line = format!(
        "{} run -s -- /bin/sh -c 'echo READY $$ END$((6*7)); sleep 1; echo woke=$((1+1))' </dev/null\r",
        nono_bin().display()
    );
    t.type_in(line.as_bytes());
    t.expect("END42", LIMIT);
    let agent = running_script("sleep 1; echo woke").expect("the agent's pid");
    // Past its vfork: the script waits for `sleep` (a shell in the middle
    // of a vfork shows 'D' until its child has exec'd).
    let start = std::time::Instant::now();
    while !nono_e2e::procfs::children(agent as u32)
        .iter()
        .any(|c| nono_e2e::procfs::comm(*c) == "sleep")
    {
        assert!(start.elapsed() < LIMIT, "sleep never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    t.type_in(b"\x1a");
    t.expect("Stopped", LIMIT);
    t.expect_after("Stopped", "status=148", LIMIT);
    assert_eq!(state(agent), 'T', "the agent is stopped: {}", t.screen);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(state(agent), 'T', "the agent stays stopped: {}", t.screen);
    t.type_in(b"fg\r");
    t.expect("woke=2", LIMIT);
    t.expect_after("woke=2", "status=0", LIMIT);
    t.type_in(b"exit\r");
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
}

/// An interactive shell as the user's, with job control.
fn shell() -> Command {
    let mut c = Command::new("/bin/bash");
    c.args(["--norc", "--noprofile", "-i"]).env("TERM", "dumb");
    c
}

/// The pid (as seen here) of the `sh` whose command line holds `marker`.
fn running_script(marker: &str) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "sh" && String::from_utf8_lossy(&cmd).contains(marker)).then_some(pid)
    })
}

/// A process's state letter (`T` stopped, `S` sleeping, …).
fn state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

/// Declining the working-directory prompt says what the command gets
/// instead, and the command indeed runs without it.
#[test]
fn declining_the_working_directory_prompt_says_so() {
    let dir = Scratch::new();
    let profile = dir.join("p.json");
    std::fs::write(&profile, r#"{"workdir":{"access":"readwrite"}}"#).unwrap();
    let mut c = Command::new(nono_bin());
    c.current_dir(&dir.path)
        .args(["run", "--profile"])
        .arg(&profile)
        .args([
            "--",
            "/bin/sh",
            "-c",
            "ls . >/dev/null 2>&1 && echo can-list || echo cannot-list",
        ]);
    let mut t = Term::spawn(c);
    t.expect("Allow? [y/N]", LIMIT);
    t.type_in(b"n\r");
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("not shared: the command runs without access to"),
        "{screen}"
    );
    assert!(screen.contains("cannot-list"), "{screen}");
}

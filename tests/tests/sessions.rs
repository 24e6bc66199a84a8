//! Supervised sessions: ids and names, `nono ps`, detached start, `logs`,
//! `attach` (through a real pseudo-terminal), `inspect`, `stop`; and no
//! process or record left behind. Each test keeps its session records in
//! a scratch state directory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nono_e2e::term::Term;
use nono_e2e::{nono_bin, Scratch};

const LIMIT: Duration = Duration::from_secs(20);

fn nono(state: &Scratch, args: &[&str]) -> Command {
    let mut c = Command::new(nono_bin());
    c.args(args)
        .env("XDG_STATE_HOME", state.path.as_os_str())
        .env_remove("NONO_STARTUP_TIMEOUT")
        .stdin(Stdio::null());
    c
}

fn output(state: &Scratch, args: &[&str]) -> (Option<i32>, String, String) {
    let o = nono(state, args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < LIMIT, "{what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `pid` exists and is not a zombie waiting for its parent.
fn running(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s[s.rfind(')').unwrap() + 2..].chars().next();
            !matches!(state, Some('Z' | 'X'))
        })
        .unwrap_or(false)
}

const TICKER: &str = "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done";

#[test]
fn detached_start_ps_logs_attach_stop_leaves_nothing() {
    let state = Scratch::new();
    let (code, out, err) = output(
        &state,
        &[
            "run",
            "--detached",
            "--name",
            "ticker",
            "--",
            "/bin/sh",
            "-c",
            TICKER,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("Attach with: nono attach "))
        .expect("attach line")
        .to_string();
    let (_, ps, _) = output(&state, &["ps"]);
    assert!(
        ps.contains(&id) && ps.contains("ticker") && ps.contains("detached"),
        "{ps}"
    );
    let (_, json, _) = output(&state, &["ps", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let pid = v[0]["pid"].as_i64().unwrap();
    wait_for("output", || {
        output(&state, &["logs", "ticker"]).1.contains("tick-3")
    });
    let (_, inspect, _) = output(&state, &["inspect", "--json", &id]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["state"], "detached", "{inspect}");
    assert!(
        v["helpers"].to_string().contains("nono-broker"),
        "{inspect}"
    );
    // Attach, see fresh output, detach with Ctrl-]: the session runs on.
    let mut t = Term::spawn(nono(&state, &["attach", "ticker"]));
    let start = output(&state, &["logs", "ticker"])
        .1
        .matches("tick-")
        .count();
    t.expect(&format!("tick-{}", start + 3), LIMIT);
    t.type_in(b"\x1d");
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert!(output(&state, &["ps"]).1.contains("ticker"));
    // A name is unique among live sessions.
    let (code, _, err) = output(&state, &["run", "--name", "ticker", "--", "true"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("already has that name"), "{err}");
    // Stop ends it, every process with it, and its record.
    let (code, _, err) = output(&state, &["stop", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!running(pid), "the supervisor runs on");
    assert_eq!(output(&state, &["ps"]).1.trim(), "no live sessions");
    let leftovers: Vec<_> = std::fs::read_dir(state.join("nono/sessions"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn attach_types_into_the_session_and_ends_with_its_status() {
    let state = Scratch::new();
    let (code, out, err) = output(
        &state,
        &[
            "run",
            "--detached",
            "--name",
            "asker",
            "--",
            "/bin/sh",
            "-c",
            "echo question; read x; echo got=$x; exit 7",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let mut t = Term::spawn(nono(&state, &["attach", "asker"]));
    t.expect("question", LIMIT);
    t.type_in(b"hello\r");
    t.expect("got=hello", LIMIT);
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(7), "{screen}");
    wait_for("the record to go", || {
        output(&state, &["ps"]).1.trim() == "no live sessions"
    });
}

#[test]
fn a_foreground_session_is_listed_and_refuses_a_second_terminal() {
    let state = Scratch::new();
    let mut fg = Term::spawn(nono(
        &state,
        &[
            "run",
            "--name",
            "fg",
            "--",
            "/bin/sh",
            "-c",
            "echo up; sleep 30",
        ],
    ));
    fg.expect("up", LIMIT);
    let (_, ps, _) = output(&state, &["ps"]);
    assert!(ps.contains("fg") && ps.contains("running"), "{ps}");
    let (code, _, err) = output(&state, &["attach", "fg"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("attached to its own terminal"), "{err}");
    // Output on a terminal is kept for logs too.
    assert!(output(&state, &["logs", "fg"]).1.contains("up"));
    let (code, _, err) = output(&state, &["stop", "fg"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _) = fg.finish(LIMIT);
    assert_eq!(code, Some(143));
    assert_eq!(output(&state, &["ps"]).1.trim(), "no live sessions");
}

#[test]
fn a_crashed_supervisor_leaves_no_live_session() {
    let state = Scratch::new();
    let mut c = nono(
        &state,
        &["run", "--name", "crash", "--", "/bin/sh", "-c", "sleep 30"],
    );
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the session", || {
        output(&state, &["ps"]).1.contains("crash")
    });
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    wait_for("ps to notice", || {
        output(&state, &["ps"]).1.trim() == "no live sessions"
    });
    assert!(std::fs::read_dir(state.join("nono/sessions"))
        .map(|d| d.count() == 0)
        .unwrap_or(true));
}

/// The records live in nono's protected state directory: even with the
/// whole state directory granted, the agent can neither read nor write them.
#[test]
fn the_agent_cannot_reach_session_records() {
    let state = Scratch::new();
    let (code, out, err) = output(
        &state,
        &[
            "run",
            "--detached",
            "--name",
            "secret",
            "--",
            "/bin/sh",
            "-c",
            "sleep 20",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let sessions = state.join("nono/sessions");
    let script = format!(
        "ls {s} >/dev/null 2>&1 && echo listed; \
         cat {s}/*/session.json 2>/dev/null && echo read; \
         (echo x > {s}/planted) 2>/dev/null && echo wrote; echo done",
        s = sessions.display()
    );
    let (code, out, err) = output(
        &state,
        &[
            "run",
            "-s",
            "--allow",
            &state.s(),
            "--",
            "/bin/sh",
            "-c",
            &script,
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "done", "{out}");
    assert!(!sessions.join("planted").exists());
    assert_eq!(output(&state, &["stop", "secret"]).0, Some(0));
}

/// The session record (and so `ps`) carries the command redacted.
#[test]
fn a_token_in_the_command_is_redacted_in_the_record() {
    let state = Scratch::new();
    let secret = nono_e2e::canary("session-token");
    let (code, out, err) = output(
        &state,
        &[
            "run",
            "--detached",
            "--name",
            "tok",
            "--",
            "/bin/sh",
            "-c",
            "sleep 20",
            "--token",
            &secret,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (_, ps, _) = output(&state, &["ps", "--json"]);
    assert!(ps.contains("--token") && !ps.contains(&secret), "{ps}");
    for e in std::fs::read_dir(state.join("nono/sessions"))
        .unwrap()
        .flatten()
    {
        let record = std::fs::read_to_string(e.path().join("session.json")).unwrap();
        assert!(!record.contains(&secret), "{record}");
    }
    assert_eq!(output(&state, &["stop", "tok"]).0, Some(0));
}

/// `nono inspect` of a live session shows its proxy's decisions so far,
/// per destination, and never a request's path or query.
#[test]
fn inspect_shows_the_live_proxy_summary() {
    let state = Scratch::new();
    let dir = Scratch::new();
    let up = nono_e2e::upstream::Upstream::start(&dir, "inspect", None);
    let script = format!(
        "import time, urllib.request, urllib.error\n\
         urllib.request.urlopen('http://127.0.0.1:{}/ok?token=QSECRET', timeout=10).read()\n\
         try: urllib.request.urlopen('http://denied.invalid/no', timeout=10)\n\
         except urllib.error.HTTPError as e: print('refused', e.code, flush=True)\n\
         print('done', flush=True)\n\
         time.sleep(60)\n",
        up.port
    );
    let allow = format!("127.0.0.1:{}", up.port);
    let (code, out, err) = output(
        &state,
        &[
            "run",
            "--detached",
            "--name",
            "fetcher",
            "--allow-domain",
            &allow,
            "--",
            "/usr/bin/python3",
            "-c",
            &script,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    wait_for("the requests", || {
        output(&state, &["logs", "fetcher"]).1.contains("done")
    });
    let (code, text, err) = output(&state, &["inspect", "fetcher"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("Proxy:    1 allowed, 1 denied"), "{text}");
    assert!(
        text.contains(&format!("GET 127.0.0.1:{}: 1 allowed, 0 denied", up.port)),
        "{text}"
    );
    assert!(text.contains("denied.invalid"), "{text}");
    let proxy = &text[text.find("Proxy:").unwrap()..text.find("Policy:").unwrap()];
    assert!(
        !proxy.contains("/ok") && !text.contains("QSECRET"),
        "{text}"
    );
    let (_, json, _) = output(&state, &["inspect", "--json", "fetcher"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["proxy"]["allowed"], 1, "{json}");
    let (code, _, err) = output(&state, &["stop", "fetcher"]);
    assert_eq!(code, Some(0), "{err}");
}

//! The real agent CLIs do real work under their built-in profiles: Claude
//! Code (`claude -p`), Codex (`codex exec`) and OpenCode (`opencode run`,
//! openai provider) run under `nono run` with
//! `--allow-cwd` and `--credential`, talking to a local fake model API
//! (tests/fixtures/fake_model_api.py) through nono's proxy. The fake scripts
//! one shell tool call (write a file in the project, then record what the
//! agent can see: its environment and every readable /proc/*/environ) and
//! then a final answer.
//!
//! The credential's upstream is pointed at the fake by a test profile that
//! extends the built-in one and redefines the credential
//! (`network.custom_credentials`), with the real key read from `env://`.
//! The real key (a canary) must reach the fake and appear nowhere the agent
//! can read; the phantom key the agent holds must never reach the fake.
//!
//! The agents must be installed (tests/tests/agents.rs installs them); a
//! missing agent fails the test.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nono_e2e::{canary, nono_bin, Scratch};

const MARKER: &str = "NONO-E2E-FINAL-ANSWER-7f3a";
const FILE: &str = "hello-from-agent.txt";
const CONTENT: &str = "written-by-the-agent";
/// What the tool call records from inside the sandbox, into the project.
const PROBE: &str = r#"env > seen-env.txt
for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f"; done > seen-environs.txt 2>/dev/null
if [ -n "$CODEX_HOME" ]; then cat "$CODEX_HOME/config.toml" > seen-codex-config.txt; fi
if cat "$HOME/other.txt" > /dev/null 2>&1; then echo READ-OK; else echo READ-DENIED; fi > seen-home.txt
if (echo more >> "$HOME/other.txt") 2>/dev/null; then echo WRITE-OK; else echo WRITE-DENIED; fi >> seen-home.txt
if (: > "$HOME/created-by-agent.txt") 2>/dev/null; then echo CREATE-OK; else echo CREATE-DENIED; fi >> seen-home.txt
"#;
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn fixtures() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var("NONO_E2E_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("fixtures"))
}

fn in_path(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

fn agent(cmd: &str) -> PathBuf {
    in_path(cmd).unwrap_or_else(|| {
        panic!("{cmd} is not installed (in PATH): this test runs the real agent; `cargo test --test agents` installs it")
    })
}

/// The fake model API, killed when dropped.
struct Fake {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Fake {
    fn start(dir: &Path, project: &Path) -> Fake {
        let port_file = dir.join("port");
        let log = dir.join("requests.jsonl");
        let python = in_path("python3").expect("python3 is needed for the fake model API");
        let child = Command::new(python)
            .arg(fixtures().join("fake_model_api.py"))
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(["--file", FILE, "--content", CONTENT, "--marker", MARKER])
            .arg("--project")
            .arg(project)
            .args(["--command", PROBE])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the fake model API");
        let mut fake = Fake {
            child,
            port: 0,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(s) = std::fs::read_to_string(&port_file) {
                fake.port = s.trim().parse().expect("port");
                return fake;
            }
            if let Ok(Some(st)) = fake.child.try_wait() {
                panic!("the fake model API exited: {st}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the fake model API did not start within 20 s");
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("log line"))
            .collect()
    }

    fn raw_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `cmd` with a bounded wait; killed (it is our child) on timeout.
fn run_bounded(mut cmd: Command) -> Outcome {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nono");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Every file under `dir` (not following symlinks) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                if let Ok(bytes) = std::fs::read(&p) {
                    if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                        hits.push(p);
                    }
                }
            }
        }
    }
    hits
}

/// The value of `var` in an `env` dump.
fn env_value(dump: &str, var: &str) -> Option<String> {
    dump.lines()
        .find_map(|l| l.strip_prefix(&format!("{var}=")).map(String::from))
}

struct Case {
    profile: &'static str,
    /// The agent's command.
    cmd: &'static str,
    credential: &'static str,
    /// Redefinition of the built-in credential, pointed at the fake.
    credential_def: fn(port: u16) -> String,
    key_var: &'static str,
    /// The header the fake must see, and its value for a key.
    header: &'static str,
    header_value: fn(&str) -> String,
    model_path: &'static str,
    argv: fn(&Path) -> Vec<String>,
}

struct Session {
    _work: Scratch,
    project: Scratch,
    home: Scratch,
    fake: Fake,
    key: String,
    home_secret: String,
    profile_file: PathBuf,
}

impl Session {
    fn new(case: &Case) -> Session {
        let work = Scratch::new();
        let project = Scratch::new();
        let home = Scratch::new();
        let fake = Fake::start(&work.path, &project.path);
        let key = canary("real-api-key");
        let home_secret = canary("home-other-file");
        std::fs::write(home.join("other.txt"), &home_secret).unwrap();
        let profile_file = work.join(&format!("{}-e2e.toml", case.profile));
        std::fs::write(
            &profile_file,
            format!(
                "extends = \"{}\"\n\n[meta]\nname = \"{}-e2e\"\n\n{}",
                case.profile,
                case.profile,
                (case.credential_def)(fake.port)
            ),
        )
        .unwrap();
        Session {
            _work: work,
            project,
            home,
            fake,
            key,
            home_secret,
            profile_file,
        }
    }

    fn run(&self, case: &Case, extra: &[&str]) -> Outcome {
        let bin = agent(case.cmd);
        let mut c = Command::new(nono_bin());
        // As a shell would start it: OpenCode takes its directory from $PWD.
        c.current_dir(&self.project.path)
            .env("PWD", &self.project.path)
            .env("HOME", &self.home.path)
            .env("E2E_REAL_KEY", &self.key)
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .arg("run")
            .arg("--profile")
            .arg(&self.profile_file)
            .args(["--allow-cwd", "--credential", case.credential, "--"])
            .arg(bin)
            .args((case.argv)(&self.project.path))
            .args(extra);
        run_bounded(c)
    }
}

fn context(name: &str, s: &Session, o: &Outcome) -> String {
    format!(
        "{name}: exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- fake's request log (paths)\n{}",
        o.code,
        o.stdout,
        o.stderr,
        s.fake
            .requests()
            .iter()
            .map(|r| format!("{} {}", r["method"], r["path"]))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Everything issue item 1 requires of one finished agent run.
fn check_run(case: &Case, s: &Session, o: &Outcome) {
    let ctx = context(case.profile, s, o);
    assert_eq!(o.code, Some(0), "the agent did not finish: {ctx}");
    assert!(
        o.stdout.contains(MARKER),
        "no final answer (marker) in the agent's output: {ctx}"
    );
    let written = std::fs::read_to_string(s.project.join(FILE))
        .unwrap_or_else(|e| panic!("the agent's file is missing from the project ({e}): {ctx}"));
    assert_eq!(written, CONTENT, "{ctx}");

    // What the agent saw, recorded from inside by its own tool call.
    let env = std::fs::read_to_string(s.project.join("seen-env.txt"))
        .unwrap_or_else(|e| panic!("the tool call's environment dump is missing ({e}): {ctx}"));
    let environs = std::fs::read_to_string(s.project.join("seen-environs.txt")).unwrap();
    let phantom = env_value(&env, case.key_var)
        .unwrap_or_else(|| panic!("{} is not in the agent's environment: {ctx}", case.key_var));
    assert!(phantom.len() >= 16, "phantom key too short: {ctx}");
    assert_ne!(phantom, s.key);
    assert!(
        environs.contains(&format!("{}={phantom}", case.key_var)),
        "the /proc/*/environ dump did not see the agent's own environment: {ctx}"
    );

    // The fake got the real key on every model request, never the phantom.
    let reqs = s.fake.requests();
    let model: Vec<_> = reqs
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.split('?').next() == Some(case.model_path))
        })
        .collect();
    assert!(
        model.len() >= 2,
        "expected a tool-call turn and a final turn: {ctx}"
    );
    let want = (case.header_value)(&s.key);
    for r in &model {
        let got: Vec<&str> = r["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(case.header))
            .map(|h| h[1].as_str().unwrap())
            .collect();
        assert_eq!(
            got,
            vec![want.as_str()],
            "{} on a model request is not the real key: {ctx}",
            case.header
        );
    }
    let log = s.fake.raw_log();
    assert!(
        !log.contains(&phantom),
        "the phantom key reached the upstream: {ctx}"
    );
    assert!(
        !log.contains(&s.home_secret),
        "a file of $HOME outside the grants reached the model: {ctx}"
    );

    // The real key is nowhere the agent could read.
    for dir in [&s.project, &s.home] {
        let hits = files_containing(&dir.path, &s.key);
        assert!(
            hits.is_empty(),
            "the real key is in files the agent can read: {hits:?}: {ctx}"
        );
    }
    assert!(!env.contains(&s.key), "real key in the agent's env: {ctx}");
    assert!(
        !environs.contains(&s.key),
        "real key in a readable /proc/*/environ: {ctx}"
    );

    // The rest of $HOME stays closed.
    let home = std::fs::read_to_string(s.project.join("seen-home.txt")).unwrap();
    assert_eq!(
        home.split_whitespace().collect::<Vec<_>>(),
        ["READ-DENIED", "WRITE-DENIED", "CREATE-DENIED"],
        "{ctx}"
    );
    assert_eq!(
        std::fs::read_to_string(s.home.join("other.txt")).unwrap(),
        s.home_secret
    );
    assert!(!s.home.join("created-by-agent.txt").exists());
}

const CLAUDE: Case = Case {
    profile: "claude-code",
    cmd: "claude",
    credential: "anthropic",
    credential_def: |port| {
        format!(
            "[network.custom_credentials.anthropic]\n\
             upstream = \"http://127.0.0.1:{port}\"\n\
             inject_header = \"x-api-key\"\n\
             credential_format = \"{{}}\"\n\
             credential_key = \"env://E2E_REAL_KEY\"\n\
             env_var = \"ANTHROPIC_API_KEY\"\n"
        )
    },
    key_var: "ANTHROPIC_API_KEY",
    header: "x-api-key",
    header_value: |k| k.to_string(),
    model_path: "/v1/messages",
    argv: |_| {
        [
            "-p",
            &format!("Create the file {FILE} in the current directory."),
            "--allowedTools",
            "Bash",
        ]
        .map(String::from)
        .to_vec()
    },
};

const CODEX: Case = Case {
    profile: "codex",
    cmd: "codex",
    credential: "openai",
    credential_def: |port| {
        format!(
            "[network.custom_credentials.openai]\n\
             upstream = \"http://127.0.0.1:{port}/v1\"\n\
             inject_header = \"Authorization\"\n\
             credential_format = \"Bearer {{}}\"\n\
             credential_key = \"env://E2E_REAL_KEY\"\n\
             env_var = \"OPENAI_API_KEY\"\n"
        )
    },
    key_var: "OPENAI_API_KEY",
    header: "authorization",
    header_value: |k| format!("Bearer {k}"),
    model_path: "/v1/responses",
    argv: |_| {
        [
            "exec",
            "--skip-git-repo-check",
            &format!("Create the file {FILE} in the current directory."),
        ]
        .map(String::from)
        .to_vec()
    },
};

/// OpenCode's openai provider honours OPENAI_BASE_URL and speaks the
/// Responses API. (With `--credential anthropic` it would not work against
/// the real API: OpenCode expects ANTHROPIC_BASE_URL to end in `/v1` and
/// requests `<base>/messages`, while the route's upstream is the bare host,
/// as Claude Code expects.)
const OPENCODE: Case = Case {
    profile: "opencode",
    cmd: "opencode",
    key_var: "OPENAI_API_KEY",
    argv: |_| {
        [
            "run",
            "-m",
            "openai/gpt-5",
            &format!("Create the file {FILE} in the current directory."),
        ]
        .map(String::from)
        .to_vec()
    },
    ..CODEX
};

#[test]
fn claude_code_completes_a_tool_task_through_the_proxy() {
    let s = Session::new(&CLAUDE);
    let o = s.run(&CLAUDE, &[]);
    check_run(&CLAUDE, &s, &o);
}

#[test]
fn codex_completes_a_tool_task_routed_by_its_profile() {
    let s = Session::new(&CODEX);
    let o = s.run(&CODEX, &[]);
    check_run(&CODEX, &s, &o);
    // The profile routed Codex: its per-session config names the proxy
    // route and the phantom variable, and Codex's own sandbox is off
    // because nono is the external one.
    let cfg = std::fs::read_to_string(s.project.join("seen-codex-config.txt")).unwrap();
    assert!(cfg.contains("model_provider = \"nono-openai\""), "{cfg}");
    assert!(cfg.contains("env_key = \"OPENAI_API_KEY\""), "{cfg}");
    assert!(cfg.contains("/openai"), "{cfg}");
    assert!(
        cfg.contains("sandbox_mode = \"danger-full-access\""),
        "{cfg}"
    );
    // Nothing of the user's Codex directory was edited.
    assert!(!s.home.join(".codex/config.toml").exists());
}

#[test]
fn opencode_completes_a_tool_task_through_the_proxy() {
    let s = Session::new(&OPENCODE);
    let o = s.run(&OPENCODE, &[]);
    check_run(&OPENCODE, &s, &o);
}

#[test]
fn claude_code_keeps_its_state_on_a_fresh_home() {
    let s = Session::new(&CLAUDE);
    let first = s.run(&CLAUDE, &[]);
    check_run(&CLAUDE, &s, &first);
    // Claude's global state, saved in its config dir and mirrored to the
    // user's ~/.claude.json after the run.
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: {}",
                p.display(),
                context("claude-code", &s, &first)
            )
        }))
        .unwrap()
    };
    let (state, user_file) = (
        s.home.join(".claude/.claude.json"),
        s.home.join(".claude.json"),
    );
    let before = json(&state);
    assert!(before["userID"].is_string(), "{before}");
    assert_eq!(
        json(&user_file),
        before,
        "not copied back to ~/.claude.json"
    );
    // A change made outside nono (newer) reaches the next session.
    let mut edited = before.clone();
    edited["nonoE2eOutside"] = serde_json::json!(true);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&user_file, edited.to_string()).unwrap();
    let requests_before = s.fake.requests().len();

    // The second run continues the first conversation: only possible if
    // Claude's state (global and per project) persisted.
    let second = s.run(&CLAUDE, &["--continue"]);
    let ctx = context("claude-code (second run)", &s, &second);
    assert_eq!(second.code, Some(0), "{ctx}");
    assert!(second.stdout.contains(MARKER), "{ctx}");
    let after = json(&state);
    assert_eq!(
        after["userID"], before["userID"],
        "Claude started from scratch: its state did not persist"
    );
    assert_eq!(
        after["nonoE2eOutside"], true,
        "the outside change was not seen"
    );
    assert_eq!(
        json(&user_file),
        after,
        "the second run was not copied back"
    );
    let continued = s.fake.requests()[requests_before..].iter().any(|r| {
        r["path"].as_str().unwrap_or("").starts_with("/v1/messages")
            && r["body"]["messages"].to_string().contains("tool_result")
    });
    assert!(
        continued,
        "the second run did not carry the first conversation: {ctx}"
    );
    // Nothing but Claude's own directory was written in $HOME.
    let mut names: Vec<_> = std::fs::read_dir(&s.home.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // ($HOME/.local/state/nono is nono's own session records, written by
    // nono outside the sandbox and closed to the agent.)
    assert_eq!(
        names,
        [".claude", ".claude.json", ".local", "other.txt"],
        "{ctx}"
    );
    let local: Vec<_> = walk(&s.home.join(".local"));
    let nono_state = s.home.join(".local/state/nono");
    assert!(
        local
            .iter()
            .all(|p| p.starts_with(&nono_state) || nono_state.starts_with(p)),
        "{local:?}"
    );
}

/// Every path under `dir` (directories included).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

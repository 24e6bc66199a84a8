//! `nono learn --sandboxed`: the program (and strace) run inside the
//! sandbox. A Python program reads a config outside the working
//! directory, tries a protected key, writes into the working directory,
//! tries to write outside it and fetches a loopback URL through the proxy.
//! The report names all of it; from outside we check what it could not do:
//! the key's content never reached it and the outside file was not made.
//! `ptrace` stays denied in plain `nono run`, and even inside learn's
//! sandbox nothing outside it can be traced.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use nono_e2e::{canary, nono_bin, Scratch};

const APP: &str = r#"
import os, sys, urllib.request
conf, port, outside = sys.argv[1], int(sys.argv[2]), sys.argv[3]
setting = open(conf).read().strip()
try:
    print("key:", open(os.path.expanduser("~/.ssh/id_canary")).read())
except OSError as e:
    print("key refused:", e.errno)
try:
    open(outside, "w").write("escaped")
except OSError as e:
    print("outside refused:", e.errno)
os.makedirs("out", exist_ok=True)
with open("out/result.txt", "w") as f:
    f.write(setting)
body = urllib.request.urlopen(f"http://127.0.0.1:{port}/fetch", timeout=10).read()
print("fetched:", body.decode())
"#;

/// A loopback HTTP server that records each request line.
fn server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut line = String::new();
            let mut r = BufReader::new(c.try_clone().unwrap());
            let _ = r.read_line(&mut line);
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
            }
            log.lock().unwrap().push(line.trim().to_string());
            let _ = c.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\npong",
            );
        }
    });
    (port, seen)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn learn(home: &Scratch, work: &Scratch, args: &[&str], cmd: &[&str]) -> Output {
    Command::new(nono_bin())
        .arg("learn")
        .args(args)
        .arg("--")
        .args(cmd)
        .current_dir(&work.path)
        .env("HOME", &home.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NONO_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn sandboxed_learn_reports_what_the_confined_program_did() {
    let secret = canary("learn-key");
    let home = Scratch::new();
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_canary"), &secret).unwrap();
    let work = Scratch::new();
    std::fs::write(work.join("app.py"), APP).unwrap();
    let conf_dir = Scratch::new();
    let conf = conf_dir.join("app.ini").display().to_string();
    std::fs::write(&conf, "setting=42").unwrap();
    let outside = conf_dir.join("escaped.txt");
    let (port, requests) = server();
    let rule = format!("127.0.0.1:{port}");
    let out = learn(
        &home,
        &work,
        &[
            "--sandboxed",
            "--json",
            "--timeout",
            "60",
            "--allow-domain",
            &rule,
        ],
        &[
            "/usr/bin/python3",
            "app.py",
            &conf,
            &port.to_string(),
            &outside.display().to_string(),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Confined, observed from outside: the key never reached the program
    // (nor any output), the file outside the grants was not created.
    assert!(stderr.contains("key refused: 13"), "{stderr}");
    assert!(!stderr.contains(&secret) && !stdout.contains(&secret));
    assert!(stderr.contains("outside refused: 13"), "{stderr}");
    assert!(!outside.exists(), "a write outside the grants went through");
    assert!(!stderr.contains("WITHOUT a sandbox"), "{stderr}");
    // What it did inside: the write in the working directory, the fetch.
    assert_eq!(
        std::fs::read_to_string(work.join("out/result.txt")).unwrap(),
        "setting=42"
    );
    assert!(stderr.contains("fetched: pong"), "{stderr}");
    assert_eq!(
        requests.lock().unwrap().as_slice(),
        ["GET /fetch HTTP/1.1"],
        "the server saw the program's request"
    );
    // The fragment: the config, the working directory, the write outside
    // (refused, so needed), the loopback destination; the key is protected.
    let v: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    let list = |a: &str, b: &str| -> Vec<String> {
        v[a][b]
            .as_array()
            .map(|x| x.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert!(list("filesystem", "read_file").contains(&conf), "{stdout}");
    assert_eq!(list("filesystem", "allow"), vec!["$WORKDIR"], "{stdout}");
    let wrote_outside = ["write_file", "allow_file", "write"]
        .iter()
        .flat_map(|f| list("filesystem", f))
        .any(|p| p.starts_with(&conf_dir.path.display().to_string()));
    assert!(wrote_outside, "{stdout}");
    assert_eq!(list("network", "allow_domain"), vec![rule], "{stdout}");
    assert!(!stdout.contains(".ssh"), "{stdout}");
    assert!(
        stderr.contains("~/.ssh/id_canary") && stderr.contains("protected"),
        "{stderr}"
    );
    // The fragment, given to nono run, grants what the program needed.
    let frag = conf_dir.join("fragment.json");
    std::fs::write(&frag, &stdout).unwrap();
    let ok = Command::new(nono_bin())
        .args(["run", "--profile", &frag.display().to_string(), "--"])
        .args(["/usr/bin/python3", "app.py", &conf, &port.to_string()])
        .arg(&outside)
        .current_dir(&work.path)
        .env("HOME", &home.path)
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let ok_out = text(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(ok_out.contains("fetched: pong"), "{ok_out}");
    assert!(outside.exists(), "the fragment grants the write outside");
    assert!(ok_out.contains("key refused: 13"), "{ok_out}");
}

#[test]
fn sandboxed_learn_reports_hosts_the_proxy_refused() {
    let home = Scratch::new();
    let work = Scratch::new();
    let (port, requests) = server();
    let url = format!("http://127.0.0.1:{port}/x");
    let script = format!(
        "import urllib.request\ntry:\n    urllib.request.urlopen('{url}', timeout=10)\nexcept Exception as e:\n    print('refused', e)\n"
    );
    let out = learn(
        &home,
        &work,
        &["--sandboxed"],
        &["/usr/bin/python3", "-c", &script],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("refused"), "{stdout}");
    assert!(
        requests.lock().unwrap().is_empty(),
        "loopback needs --allow-domain"
    );
    assert!(
        stdout.contains(&format!(
            "the proxy refused 127.0.0.1:{port} while recording"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("--allow-domain 127.0.0.1:{port}")),
        "{stdout}"
    );
}

#[test]
fn ptrace_opens_only_for_learn_and_only_inside_the_sandbox() {
    let home = Scratch::new();
    let work = Scratch::new();
    // Plain run: seccomp denies ptrace, so strace cannot even start its command.
    let run = Command::new(nono_bin())
        .args(["run", "--", "strace", "-o", "/dev/null", "/bin/true"])
        .current_dir(&work.path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(run.status.code(), Some(0));
    assert!(
        text(&run.stderr).contains("Operation not permitted"),
        "{}",
        text(&run.stderr)
    );
    // Inside learn's sandbox, a process outside it (this test) cannot be traced.
    let me = std::process::id().to_string();
    let out = learn(
        &home,
        &work,
        &["--sandboxed", "--timeout", "20"],
        &["strace", "-o", "/dev/null", "-p", &me],
    );
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

#[test]
fn sandboxed_timeout_ends_the_command_and_its_children() {
    let home = Scratch::new();
    let work = Scratch::new();
    let start = std::time::Instant::now();
    let out = learn(
        &home,
        &work,
        &["--sandboxed", "--timeout", "1"],
        &["/bin/sh", "-c", "sleep 3017.5 & echo started > pid; wait"],
    );
    let stderr = text(&out.stderr);
    assert!(start.elapsed().as_secs() < 15, "{:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("--timeout reached"), "{stderr}");
    assert!(work.join("pid").exists(), "the child never started");
    // `$!` inside names the session's PID namespace; look from here by
    // command line instead.
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x003017.5\x00")
        })
        .count();
    assert_eq!(left, 0, "the command's child outlived nono learn");
}

#[test]
fn help_says_which_mode_runs_what_unconfined() {
    let help = text(
        &Command::new(nono_bin())
            .args(["learn", "--help"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(help.contains("WITHOUT sandbox restrictions"), "{help}");
    assert!(
        help.contains("--sandboxed runs nothing unconfined"),
        "{help}"
    );
    assert!(help.contains("ptrace"), "{help}");
}

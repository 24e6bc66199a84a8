//! `nono learn`: a small Python program reads a config outside the
//! working directory, tries a protected key, writes into the working
//! directory and talks to a loopback server. The report and the fragment
//! must name exactly that; the fragment given to `nono run --profile` must
//! make the program succeed where the default profile makes it fail.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nono_e2e::{nono_bin, Scratch};

const APP: &str = r#"
import os, socket, sys
conf, port = sys.argv[1], int(sys.argv[2])
setting = open(conf).read().strip()
try:
    open(os.path.expanduser("~/.ssh/id_rsa")).read()
except OSError:
    pass
os.makedirs("out", exist_ok=True)
with open("out/result.txt", "w") as f:
    f.write(setting)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"ping")
assert s.recv(4) == b"pong"
print("done")
"#;

/// A loopback server answering "pong" to every connection, forever.
fn server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let mut b = [0u8; 4];
            let _ = c.read_exact(&mut b);
            let _ = c.write_all(b"pong");
        }
    });
    port
}

struct World {
    home: Scratch,
    work: Scratch,
    conf_dir: Scratch,
    port: u16,
}

impl World {
    fn new() -> World {
        let home = Scratch::new();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::write(home.join(".ssh/id_rsa"), "KEY").unwrap();
        let work = Scratch::new();
        std::fs::write(work.join("app.py"), APP).unwrap();
        let conf_dir = Scratch::new();
        std::fs::write(conf_dir.join("app.ini"), "setting=42").unwrap();
        World {
            home,
            work,
            conf_dir,
            port: server(),
        }
    }

    fn conf(&self) -> String {
        self.conf_dir.join("app.ini").display().to_string()
    }

    fn nono(&self, args: &[&str]) -> Output {
        let port = self.port.to_string();
        Command::new(nono_bin())
            .args(args)
            .args(["--", "/usr/bin/python3", "app.py", &self.conf(), &port])
            .current_dir(&self.work.path)
            .env("HOME", &self.home.path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NONO_PROFILE")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn learn_json_is_a_profile_that_makes_the_program_work() {
    let w = World::new();
    let out = w.nono(&["learn", "--json", "--timeout", "60"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("WITHOUT a sandbox"), "{stderr}");
    assert!(
        stderr.contains("done"),
        "the command's stdout goes to stderr: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    let list = |a: &str, b: &str| -> Vec<String> {
        v[a][b]
            .as_array()
            .map(|x| x.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert!(
        list("filesystem", "read_file").contains(&w.conf()),
        "{stdout}"
    );
    assert_eq!(list("filesystem", "allow"), vec!["$WORKDIR"], "{stdout}");
    assert_eq!(
        list("network", "allow_domain"),
        vec![format!("127.0.0.1:{}", w.port)],
        "{stdout}"
    );
    assert!(
        !stdout.contains(".ssh"),
        "protected path in the fragment: {stdout}"
    );
    assert!(
        stderr.contains("~/.ssh/id_rsa") && stderr.contains("--bypass-protection"),
        "{stderr}"
    );

    let frag = w.conf_dir.join("fragment.json");
    std::fs::write(&frag, &stdout).unwrap();
    let frag = frag.display().to_string();
    let valid = Command::new(nono_bin())
        .args(["profile", "validate", &frag])
        .output()
        .unwrap();
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid.stderr));

    // Without the fragment the program fails (its config is not granted)...
    std::fs::remove_dir_all(w.work.join("out")).unwrap();
    let denied = w.nono(&["run", "--allow-cwd"]);
    assert_ne!(denied.status.code(), Some(0));
    assert!(!w.work.join("out/result.txt").exists());
    // ... with it, it does everything it did under learn.
    let ok = w.nono(&["run", "--profile", &frag]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("done"));
    assert_eq!(
        std::fs::read_to_string(w.work.join("out/result.txt")).unwrap(),
        "setting=42"
    );
}

#[test]
fn learn_report_names_paths_destinations_and_protections() {
    let w = World::new();
    let out = w.nono(&["learn"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(&w.conf()), "{stdout}");
    assert!(stdout.contains("$WORKDIR"), "{stdout}");
    assert!(
        stdout.contains(&format!("127.0.0.1:{}", w.port)),
        "{stdout}"
    );
    assert!(stdout.contains("Protected"), "{stdout}");
    assert!(stdout.contains("~/.ssh/id_rsa"), "{stdout}");
    // Nothing the default profile grants (the interpreter in /usr) is listed.
    assert!(!stdout.contains("] /usr/"), "{stdout}");
    // --all lists what is granted already, too.
    let all = text(&w.nono(&["learn", "--all"]).stdout);
    assert!(all.contains("] /usr/"), "{all}");
}

#[test]
fn learn_profile_shows_only_what_it_lacks() {
    let w = World::new();
    let base = w.conf_dir.join("base.json");
    std::fs::write(
        &base,
        format!(
            r#"{{"filesystem": {{"read_file": ["{}"]}}, "workdir": {{"access": "readwrite"}}}}"#,
            w.conf()
        ),
    )
    .unwrap();
    let out = w.nono(&["learn", "--json", "--profile", &base.display().to_string()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    assert!(!stdout.contains("app.ini"), "{stdout}");
    assert!(v["filesystem"].get("allow").is_none(), "{stdout}");
    assert_eq!(
        v["extends"].as_str(),
        Some(base.display().to_string().as_str())
    );
}

#[test]
fn learn_timeout_ends_the_command_and_its_children() {
    let dir = Scratch::new();
    let marker = dir.join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", marker.display());
    let start = Instant::now();
    let out = Command::new(nono_bin())
        .args(["learn", "--timeout", "1", "--", "/bin/sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--timeout"),
        "{}",
        text(&out.stderr)
    );
    let pid = std::fs::read_to_string(&marker).unwrap();
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the command's child outlived nono learn"
    );
}

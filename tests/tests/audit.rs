//! The audit trail on the real kernel: every `nono run` leaves a record in
//! a scratch HOME's state directory; verification names tampered events
//! and fields; attestations pin the signing key; secrets never reach disk;
//! the agent cannot read or change the records from inside.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nono_e2e::{canary, nono_bin, Ran, Scratch};

struct Env {
    _dir: Scratch,
    home: PathBuf,
    proj: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = Scratch::new();
        let (home, proj) = (dir.join("home"), dir.join("proj"));
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&proj).unwrap();
        fs::write(proj.join("a.txt"), "alpha\n").unwrap();
        Env {
            _dir: dir,
            home,
            proj,
        }
    }

    fn state(&self) -> PathBuf {
        self.home.join(".local/state/nono")
    }

    fn nono(&self, args: &[&str]) -> Ran {
        let o = Command::new(nono_bin())
            .args(args)
            .current_dir(&self.proj)
            .env("HOME", &self.home)
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NONO_PROFILE")
            .env_remove("NONO_ALLOW")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// `nono run FLAGS --allow proj -- sh -c SCRIPT`; the session id.
    fn session(&self, flags: &[&str], script: &str) -> String {
        let p = self.proj.display().to_string();
        let mut args = vec!["run", "--allow", &p];
        args.extend_from_slice(flags);
        args.extend(["--", "/bin/sh", "-c", script]);
        let r = self.nono(&args);
        assert_eq!(r.code, Some(0), "{r:?}");
        self.last_id()
    }

    fn last_id(&self) -> String {
        let r = self.nono(&["audit", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn events(&self, id: &str) -> PathBuf {
        self.state()
            .join("audit")
            .join(id)
            .join("audit-events.ndjson")
    }
}

fn lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn put(p: &Path, l: &[String]) {
    fs::write(p, l.join("\n") + "\n").unwrap();
}

#[test]
fn every_run_is_recorded_and_verifies() {
    let e = Env::new();
    let id = e.session(&["--audit-integrity"], "echo x > b.txt");
    let show = e.nono(&["audit", "show", &id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(v["session"]["id"], id.as_str());
    assert!(v["session"]["integrity"]["merkle_root"].is_string());
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "fs_state").count(),
        2,
        "{kinds:?}"
    );
    let r = e.nono(&["audit", "verify", &id]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("OK"), "{r:?}");
}

#[test]
fn exit_status_is_recorded() {
    let e = Env::new();
    let p = e.proj.display().to_string();
    let r = e.nono(&["run", "--allow", &p, "--", "/bin/sh", "-c", "exit 7"]);
    assert_eq!(r.code, Some(7));
    let v: serde_json::Value =
        serde_json::from_str(&e.nono(&["audit", "show", &e.last_id(), "--json"]).stdout).unwrap();
    assert_eq!(v["session"]["exit_status"], 7);
}

#[test]
fn edited_deleted_and_reordered_events_are_named() {
    let e = Env::new();
    let id = e.session(&["--audit-integrity"], "echo x > b.txt");
    let path = e.events(&id);
    let orig = lines(&path);
    assert!(orig.len() >= 2, "{orig:?}");

    // The "before" filesystem-state event (earlier events, such as the
    // trust scan's, may precede it).
    let i = orig
        .iter()
        .position(|l| l.contains("\"phase\":\"before\""))
        .expect("a before event");
    let mut l = orig.clone();
    l[i] = l[i].replace("\"phase\":\"before\"", "\"phase\":\"later\"");
    assert_ne!(l[i], orig[i]);
    put(&path, &l);
    let r = e.nono(&["audit", "verify", &id]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("event {i}, field data.phase: was edited")),
        "{r:?}"
    );

    let mut l = orig.clone();
    l.remove(0);
    put(&path, &l);
    let r = e.nono(&["audit", "verify", &id]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.contains("event 0: is missing"), "{r:?}");

    let mut l = orig.clone();
    l.swap(0, 1);
    put(&path, &l);
    let r = e.nono(&["audit", "verify", &id]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.contains("out of order"), "{r:?}");

    put(&path, &orig);
    assert_eq!(e.nono(&["audit", "verify", &id]).code, Some(0));
}

#[test]
fn attestation_verifies_only_with_the_signing_key() {
    let e = Env::new();
    let keys = e.home.join("keys");
    fs::create_dir_all(&keys).unwrap();
    for k in ["right", "wrong"] {
        let kr = format!("file://{}/{k}.pem", keys.display());
        assert_eq!(e.nono(&["trust", "keygen", "--keyref", &kr]).code, Some(0));
        let pem = e.nono(&["trust", "export-key", "--keyref", &kr, "--pem"]);
        fs::write(keys.join(format!("{k}.pub")), pem.stdout).unwrap();
    }
    let kr = format!("file://{}/right.pem", keys.display());
    let id = e.session(&["--audit-sign-key", &kr], "true");
    assert!(e
        .state()
        .join("audit")
        .join(&id)
        .join("audit-attestation.bundle")
        .exists());
    let right = keys.join("right.pub").display().to_string();
    let r = e.nono(&["audit", "verify", &id, "--public-key-file", &right]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("signed by the pinned key"), "{r:?}");
    let wrong = keys.join("wrong.pub").display().to_string();
    let r = e.nono(&["audit", "verify", &id, "--public-key-file", &wrong]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("not by the pinned public key"), "{r:?}");
}

#[test]
fn secrets_never_reach_disk() {
    let e = Env::new();
    let (flag, query, header) = (canary("flag"), canary("query"), canary("header"));
    let url = format!("https://example.invalid/cb?state=1&token={query}");
    let hdr = format!("Authorization: Bearer {header}");
    let p = e.proj.display().to_string();
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--rollback",
        "--no-rollback-prompt",
        "--",
        "/bin/sh",
        "-c",
        "echo changed > a.txt",
        "agent",
        "--token",
        &flag,
        &url,
        "-H",
        &hdr,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let hits = grep(&e.state(), &[&flag, &query, &header]);
    assert!(hits.is_empty(), "secrets on disk: {hits:?}");
    assert!(!grep(&e.state(), &["[REDACTED]"]).is_empty());
}

/// Files under `dir` containing any of `needles`.
fn grep(dir: &Path, needles: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for ent in fs::read_dir(&d).unwrap().flatten() {
            let p = ent.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = fs::read(&p) {
                let text = String::from_utf8_lossy(&bytes);
                if needles.iter().any(|n| text.contains(n)) {
                    out.push(p);
                }
            }
        }
    }
    out
}

#[test]
fn the_agent_cannot_read_or_change_the_records() {
    let e = Env::new();
    let first = e.session(&[], "true");
    let dir = e.state().join("audit").join(&first);
    let before = fs::read(dir.join("session.json")).unwrap();
    let marker = e.proj.join("agent-ran");
    let script = format!(
        "touch {m}; cat {d}/session.json && echo READ; ls {s} && echo LISTED; \
         echo x >> {d}/audit-events.ndjson && echo WROTE; rm -rf {s} && echo REMOVED; \
         mkdir -p {s}/audit/x && echo CREATED; true",
        m = marker.display(),
        d = dir.display(),
        s = e.state().display()
    );
    // The whole HOME is granted: the state directory must still be denied.
    let (h, p) = (e.home.display().to_string(), e.proj.display().to_string());
    let r = e.nono(&[
        "run", "--allow", &h, "--allow", &p, "--", "/bin/sh", "-c", &script,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(marker.exists(), "the agent did not run: {r:?}");
    for word in ["READ", "LISTED", "WROTE", "REMOVED", "CREATED"] {
        assert!(!r.stdout.contains(word), "{word}: {r:?}");
    }
    assert_eq!(fs::read(dir.join("session.json")).unwrap(), before);
    assert_eq!(e.nono(&["audit", "verify", &first]).code, Some(0));
}

#[test]
fn opting_out_and_conflicts() {
    let e = Env::new();
    let p = e.proj.display().to_string();
    let r = e.nono(&["run", "--allow", &p, "--no-audit", "--", "/bin/true"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!e.state().join("audit").exists());
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--no-audit",
        "--audit-integrity",
        "--",
        "/bin/true",
    ]);
    assert_eq!(r.code, Some(1));
    let r = e.nono(&["wrap", "--allow", &p, "--rollback", "--", "/bin/true"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("no supervisor") || r.stderr.contains("has none"),
        "{r:?}"
    );
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--no-audit-integrity",
        "--",
        "/bin/true",
    ]);
    assert_eq!(r.code, Some(0));
    let v = e.nono(&["audit", "verify", &e.last_id()]);
    assert_eq!(v.code, Some(0), "{v:?}");
    assert!(v.stdout.contains("no integrity layer"), "{v:?}");
}

#[test]
fn helper_outcomes_are_recorded() {
    let e = Env::new();
    let id = e.session(&["--allow-domain", "example.invalid"], "true");
    let p = e.state().join("audit").join(&id).join("session.json");
    let s: serde_json::Value = serde_json::from_slice(&fs::read(p).unwrap()).unwrap();
    assert_eq!(
        s["helpers"]["broker"], "ended; the command's status 0",
        "{s}"
    );
    assert_eq!(s["helpers"]["proxy"], "ended", "{s}");
}

#[test]
fn a_record_whose_supervisor_was_killed_is_incomplete_but_its_chain_checks() {
    let e = Env::new();
    let p = e.proj.display().to_string();
    let marker = e.proj.join("started");
    let script = format!("touch {}; sleep 30", marker.display());
    let mut child = Command::new(nono_bin())
        .args(["run", "--allow", &p, "--", "/bin/sh", "-c", &script])
        .current_dir(&e.proj)
        .env("HOME", &e.home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..2000 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(marker.exists(), "the command never started");
    // The opening record is on disk before the command starts.
    let opened: Vec<_> = fs::read_dir(e.state().join("audit"))
        .unwrap()
        .flatten()
        .map(|d| d.path().join("session.json"))
        .filter(|p| p.exists())
        .collect();
    assert_eq!(opened.len(), 1, "{opened:?}");
    let rec: serde_json::Value = serde_json::from_slice(&fs::read(&opened[0]).unwrap()).unwrap();
    assert!(
        rec["started"].is_string() && rec["ended"].is_null(),
        "{rec}"
    );
    child.kill().unwrap(); // SIGKILL: nothing is sealed
    child.wait().unwrap();
    let id = e.last_id();
    let r = e.nono(&["audit", "verify", &id]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stdout
            .contains("incomplete: the supervisor ended before sealing the record"),
        "{r:?}"
    );
    assert!(r.stdout.contains("intact up to the last event"), "{r:?}");
    assert!(!r.stdout.contains("TAMPERED"), "{r:?}");
    // An edit inside the chain is still found.
    let path = e.events(&id);
    let mut l = lines(&path);
    assert!(!l.is_empty());
    l[0] = l[0].replacen("\"time\":\"", "\"time\":\"1", 1);
    put(&path, &l);
    let r = e.nono(&["audit", "verify", &id]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("TAMPERED: event 0"), "{r:?}");
    assert!(r.stdout.contains("incomplete"), "{r:?}");
}

//! Rollback on the real kernel: an agent in a sandbox changes a project in
//! every way it can; `nono rollback restore` puts it back exactly, leaves
//! excluded paths alone, and a killed snapshot leaves the store consistent.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, Ran, Scratch};

struct Env {
    dir: Scratch,
    home: PathBuf,
    proj: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = Scratch::new();
        let (home, proj) = (dir.join("home"), dir.join("proj"));
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(proj.join("src/deep")).unwrap();
        fs::create_dir_all(proj.join("node_modules/pkg")).unwrap();
        fs::write(proj.join("a.txt"), "alpha\n").unwrap();
        fs::write(proj.join("src/lib.rs"), "fn main() {}\n").unwrap();
        fs::write(proj.join("src/deep/run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            proj.join("src/deep/run.sh"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::write(proj.join("gone.txt"), "delete me\n").unwrap();
        fs::write(proj.join("old-name"), "renamed\n").unwrap();
        fs::write(proj.join("node_modules/pkg/index.js"), "v1\n").unwrap();
        fs::write(proj.join("build.log"), "log v1\n").unwrap();
        symlink("a.txt", proj.join("link")).unwrap();
        Env { dir, home, proj }
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

    fn last_id(&self) -> String {
        let r = self.nono(&["rollback", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Every path under `root`: kind, mode, content or link target.
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let v = if m.file_type().is_symlink() {
                format!("link {}", fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("dir {:o}", m.permissions().mode() & 0o7777)
            } else {
                format!(
                    "file {:o} {}",
                    m.permissions().mode() & 0o7777,
                    fs::read_to_string(&p).unwrap()
                )
            };
            out.insert(rel, v);
        }
    }
    out
}

const AGENT: &str =
    "echo changed > a.txt; echo new > new.txt; mkdir -p newdir/x; echo y > newdir/x/y; \
    rm gone.txt; mv old-name new-name; chmod 600 src/lib.rs; chmod 700 src/deep; \
    rm link; ln -s /etc/passwd link; rm -r src/deep/run.sh; \
    echo v2 > node_modules/pkg/index.js; echo log v2 > build.log";

#[test]
fn restore_undoes_modify_create_delete_rename_chmod_symlink() {
    let e = Env::new();
    let before = tree(&e.proj);
    let p = e.proj.display().to_string();
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--rollback",
        "--no-rollback-prompt",
        "--rollback-exclude",
        "*.log",
        "--",
        "/bin/sh",
        "-c",
        AGENT,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let after = tree(&e.proj);
    assert_ne!(before, after);
    let id = e.last_id();
    let show = e.nono(&["rollback", "show", &id]);
    assert!(
        show.stdout.contains("created") && show.stdout.contains("deleted"),
        "{show:?}"
    );
    assert_eq!(e.nono(&["rollback", "verify", &id]).code, Some(0));
    let r = e.nono(&["rollback", "restore", &id]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let mut restored = tree(&e.proj);
    // Excluded paths keep what the agent wrote.
    assert_eq!(
        restored.remove("build.log").as_deref(),
        Some("file 644 log v2\n")
    );
    assert_eq!(
        restored.remove("node_modules/pkg/index.js").as_deref(),
        Some("file 644 v2\n")
    );
    let mut expected = before.clone();
    expected.remove("build.log");
    expected.remove("node_modules/pkg/index.js");
    assert_eq!(restored, expected);
    // The audit record carries the commitments.
    let a = e.nono(&["audit", "show", &id, "--json"]);
    assert!(
        a.stdout.contains("rollback_snapshot") && a.stdout.contains("merkle_root"),
        "{a:?}"
    );
}

/// A file the agent named with an escape sequence, a carriage return and
/// a line break is listed by `rollback show` escaped: the listing cannot
/// recolour, rewrite or add lines on the user's terminal.
#[test]
fn rollback_show_lists_names_the_agent_chose_escaped() {
    let e = Env::new();
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
        "echo x > \"$(printf 'x\\033[31mRED\\rz\\nnono: fake')\"",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let show = e.nono(&["rollback", "show", &e.last_id()]);
    assert_eq!(show.code, Some(0), "{show:?}");
    assert!(
        show.stdout.contains("x\\u{1b}[31mRED\\rz\\nnono: fake"),
        "{show:?}"
    );
    assert!(
        !show.stdout.contains('\u{1b}') && !show.stdout.contains('\r'),
        "{show:?}"
    );
    assert!(!show.stdout.lines().any(|l| l.starts_with("nono: fake")));
}

#[test]
fn restore_of_some_paths_only() {
    let e = Env::new();
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
        AGENT,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let id = e.last_id();
    let r = e.nono(&["rollback", "restore", &id, "a.txt"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(fs::read_to_string(e.proj.join("a.txt")).unwrap(), "alpha\n");
    assert!(e.proj.join("new.txt").exists(), "only a.txt was asked for");
}

#[test]
fn rollback_dest_inside_a_grant_is_refused() {
    let e = Env::new();
    let p = e.proj.display().to_string();
    let inside = e.proj.join("store").display().to_string();
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--rollback",
        "--rollback-dest",
        &inside,
        "--",
        "/bin/true",
    ]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("out of the command's reach"), "{r:?}");
    let outside = e.dir.join("elsewhere").display().to_string();
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--rollback",
        "--no-rollback-prompt",
        "--rollback-dest",
        &outside,
        "--",
        "/bin/sh",
        "-c",
        "echo z > a.txt",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(e.dir.join("elsewhere/blobs").is_dir());
    assert_eq!(e.nono(&["rollback", "restore", &e.last_id()]).code, Some(0));
    assert_eq!(fs::read_to_string(e.proj.join("a.txt")).unwrap(), "alpha\n");
}

#[test]
fn a_killed_snapshot_leaves_the_store_consistent() {
    let e = Env::new();
    for d in 0..20 {
        let dir = e.proj.join(format!("d{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..50 {
            fs::write(
                dir.join(format!("f{f}")),
                vec![(d * 50 + f) as u8; 64 * 1024],
            )
            .unwrap();
        }
    }
    let p = e.proj.display().to_string();
    for delay_ms in [5u64, 30, 80] {
        let mut child = Command::new(nono_bin())
            .args([
                "run",
                "--allow",
                &p,
                "--rollback",
                "--no-rollback-prompt",
                "--",
                "/bin/true",
            ])
            .current_dir(&e.proj)
            .env("HOME", &e.home)
            .env_remove("XDG_STATE_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        fs::write(e.proj.join("d0/f0"), format!("round {delay_ms}")).unwrap();
    }
    // Every blob under its final name holds exactly the content it names.
    let blobs = e.home.join(".local/state/nono/rollbacks/blobs");
    for sub in fs::read_dir(&blobs).into_iter().flatten().flatten() {
        if sub.file_name() == "tmp" {
            continue;
        }
        for b in fs::read_dir(sub.path()).unwrap().flatten() {
            let out = Command::new("sha256sum").arg(b.path()).output().unwrap();
            let sum = String::from_utf8_lossy(&out.stdout);
            assert!(
                sum.starts_with(&*b.file_name().to_string_lossy()),
                "partial blob {}",
                b.path().display()
            );
        }
    }
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--rollback",
        "--no-rollback-prompt",
        "--",
        "/bin/sh",
        "-c",
        "echo k > a.txt",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let id = e.last_id();
    assert_eq!(e.nono(&["rollback", "verify", &id]).code, Some(0));
    assert_eq!(e.nono(&["rollback", "restore", &id]).code, Some(0));
    assert_eq!(fs::read_to_string(e.proj.join("a.txt")).unwrap(), "alpha\n");
}

impl Env {
    fn rollbacks(&self) -> PathBuf {
        self.home.join(".local/state/nono/rollbacks")
    }

    fn config(&self, rollback: &str) {
        let dir = self.home.join(".config/nono");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.toml"), format!("[rollback]\n{rollback}")).unwrap();
    }

    /// A `--rollback` session replacing the `s*.txt` files by `name`
    /// holding `content`; its id.
    fn creating(&self, name: &str, content: &str) -> String {
        let p = self.proj.display().to_string();
        let script = format!("rm -f s*.txt; echo {content} > {name}");
        let r = self.nono(&[
            "run",
            "--allow",
            &p,
            "--rollback",
            "--no-rollback-prompt",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ]);
        assert_eq!(r.code, Some(0), "{r:?}");
        self.last_id()
    }

    fn listed(&self) -> Vec<String> {
        let r = self.nono(&["rollback", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Blobs of the default store holding `text`.
    fn blobs_with(&self, text: &str) -> usize {
        blobs_in(&self.rollbacks(), text)
    }

    /// A `--rollback` session in `proj` running `script` (extra flags
    /// first); its id.
    fn session_in(&self, proj: &Path, extra: &[&str], script: &str) -> String {
        let p = proj.display().to_string();
        let mut args = vec!["run", "--allow", &p, "--rollback", "--no-rollback-prompt"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
        let r = self.nono(&args);
        assert_eq!(r.code, Some(0), "{r:?}");
        self.last_id()
    }
}

/// Files changed this recently are never cached: wait until they are not.
fn wait_out_racy_window() {
    std::thread::sleep(std::time::Duration::from_millis(2_300));
}

/// Make every blob of the store in `dir` look old enough to be collected.
fn age_blobs_in(dir: &Path) {
    let st = Command::new("find")
        .arg(dir.join("blobs"))
        .args([
            "-type",
            "f",
            "-exec",
            "touch",
            "-d",
            "@1000000000",
            "{}",
            "+",
        ])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Blobs of the store in `dir` holding `text`.
fn blobs_in(dir: &Path, text: &str) -> usize {
    let mut n = 0;
    for prefix in fs::read_dir(dir.join("blobs")).unwrap().flatten() {
        for b in fs::read_dir(prefix.path()).unwrap().flatten() {
            if fs::read(b.path()).is_ok_and(|c| String::from_utf8_lossy(&c).contains(text)) {
                n += 1;
            }
        }
    }
    n
}

impl Env {
    /// Make every blob look old enough to be collected.
    fn age_blobs(&self) {
        age_blobs_in(&self.rollbacks());
    }
}

#[test]
fn retention_removes_old_sessions_and_their_blobs_only() {
    let e = Env::new();
    e.config("max_sessions = 2\nmax_age_days = 0\nmax_bytes = 0\n");
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(e.creating(&format!("s{i}.txt"), &format!("unique-{i}-content")));
        e.age_blobs();
    }
    assert_eq!(e.listed(), ids[2..].to_vec());
    assert_eq!(
        e.blobs_with("unique-0-content"),
        0,
        "an unreferenced blob was kept"
    );
    // s1.txt is in the third session's first snapshot: still needed.
    assert_eq!(e.blobs_with("unique-1-content"), 1);
    assert_eq!(e.blobs_with("unique-3-content"), 1);
    assert_eq!(
        e.blobs_with("alpha"),
        1,
        "a blob the kept sessions need was removed"
    );
    for id in &ids[2..] {
        let r = e.nono(&["rollback", "verify", id]);
        assert_eq!(r.code, Some(0), "{r:?}");
    }
    // Too old by its start time.
    let meta = e.rollbacks().join(&ids[2]).join("rollback.json");
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    m["started"] = "2001-01-01T00:00:00Z".into();
    fs::write(&meta, serde_json::to_vec(&m).unwrap()).unwrap();
    e.config("max_sessions = 0\nmax_age_days = 30\nmax_bytes = 0\n");
    let fifth = e.creating("s4.txt", "unique-4-content");
    assert_eq!(e.listed(), vec![ids[3].clone(), fifth.clone()]);
    // A limit no session fits: everything but the session just recorded.
    e.config("max_bytes = 1\n");
    let sixth = e.creating("s5.txt", "unique-5-content");
    assert_eq!(e.listed(), vec![sixth.clone()]);
    let r = e.nono(&["rollback", "restore", &sixth]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!e.proj.join("s5.txt").exists());
    // A mistyped setting fails before the command runs.
    e.config("max_session = 3\n");
    let p = e.proj.display().to_string();
    let r = e.nono(&[
        "run",
        "--allow",
        &p,
        "--rollback",
        "--",
        "/bin/sh",
        "-c",
        "touch ran",
    ]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("rollback.max_session"), "{r:?}");
    assert!(r.stderr.contains("did you mean `max_sessions`"), "{r:?}");
    assert!(!e.proj.join("ran").exists());
}

#[test]
fn a_file_whose_blob_retention_collected_is_stored_again() {
    let e = Env::new();
    e.config("max_sessions = 1\nmax_age_days = 0\nmax_bytes = 0\n");
    wait_out_racy_window(); // so that the cache vouches for a.txt
    e.session_in(&e.proj, &[], "true");
    assert_eq!(e.blobs_with("alpha"), 1);
    e.age_blobs();
    // A session in another project: retention removes the first one and
    // collects its blobs, though the cache still knew a.txt.
    let other = e.dir.join("other");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("o.txt"), "other project\n").unwrap();
    e.session_in(&other, &[], "true");
    assert_eq!(e.blobs_with("alpha"), 0, "an unreferenced blob was kept");
    let id = e.session_in(&e.proj, &[], "true");
    assert_eq!(
        e.blobs_with("alpha"),
        1,
        "the collected blob was not stored again"
    );
    let r = e.nono(&["rollback", "verify", &id]);
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn rollback_dest_blobs_are_collected_with_their_sessions() {
    let e = Env::new();
    e.config("max_sessions = 1\nmax_age_days = 0\nmax_bytes = 0\n");
    let dest = e.dir.join("dest");
    let d = dest.display().to_string();
    e.session_in(&e.proj, &["--rollback-dest", &d], "echo dest-only > s0.txt");
    assert_eq!(blobs_in(&dest, "dest-only"), 1);
    assert_eq!(blobs_in(&dest, "alpha"), 1);
    assert_eq!(fs::read_dir(dest.join("refs")).unwrap().count(), 1);
    age_blobs_in(&dest);
    // The next session (default store) makes retention remove the first.
    let id = e.session_in(&e.proj, &[], "rm s0.txt");
    assert_eq!(e.listed(), vec![id]);
    assert_eq!(blobs_in(&dest, "dest-only"), 0, "a dest blob was kept");
    assert_eq!(blobs_in(&dest, "alpha"), 0, "a dest blob was kept");
    assert_eq!(fs::read_dir(dest.join("refs")).unwrap().count(), 0);
    assert_eq!(e.blobs_with("dest-only"), 1, "the kept session's blob went");
}

#[test]
fn a_same_size_rewrite_with_its_mtime_put_back_is_recorded() {
    let e = Env::new();
    wait_out_racy_window();
    let first = e.session_in(&e.proj, &[], "true");
    let a = e.proj.join("a.txt");
    let mtime = fs::metadata(&a).unwrap().modified().unwrap();
    let since = mtime.duration_since(std::time::UNIX_EPOCH).unwrap();
    fs::write(&a, "ALPHA\n").unwrap(); // same size as "alpha\n"
    let at = format!("@{}.{:09}", since.as_secs(), since.subsec_nanos());
    let st = Command::new("touch")
        .args(["-d", &at])
        .arg(&a)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(fs::metadata(&a).unwrap().modified().unwrap(), mtime);
    e.session_in(&e.proj, &[], "true");
    assert_eq!(e.blobs_with("ALPHA"), 1, "the rewrite passed as unchanged");
    let r = e.nono(&["rollback", "restore", &first]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(fs::read_to_string(&a).unwrap(), "alpha\n");
}

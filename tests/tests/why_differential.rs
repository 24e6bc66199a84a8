//! `nono why` must agree with the kernel. For two capability contexts over a
//! tree with grants, protected paths, symlinks and `..`, every (path, op)
//! query is asked of `why` and then attempted inside a real sandbox with
//! the same flags. Queries the kernel answers with something other than
//! allowed/denied (e.g. ENOENT reading a missing file) are not comparable
//! and are skipped; at least 200 must be compared, with no disagreement.

use std::fs;
use std::os::unix::fs::symlink;
use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, probe_bin, Scratch};

fn tree() -> Scratch {
    let h = Scratch::new();
    for d in [
        ".ssh",
        ".aws",
        ".config/app",
        "proj/src",
        "proj/docs",
        "proj/.git/hooks",
        "ro/sub",
        "out",
        "links",
    ] {
        fs::create_dir_all(h.join(d)).unwrap();
    }
    for f in [
        ".ssh/id_rsa",
        ".ssh/config",
        ".aws/credentials",
        ".bash_history",
        ".config/app/cfg",
        "notes.txt",
        "proj/src/a.rs",
        "proj/src/b.rs",
        "proj/docs/readme.md",
        "proj/.git/config",
        "proj/.git/hooks/x",
        "ro/data.txt",
        "ro/sub/deep.txt",
        "out/log.txt",
        "single.txt",
        "other.txt",
    ] {
        fs::write(h.join(f), "content").unwrap();
    }
    symlink(h.join(".ssh/id_rsa"), h.join("links/to_ssh")).unwrap();
    symlink(h.join("proj"), h.join("links/to_proj")).unwrap();
    symlink(h.join("ro/data.txt"), h.join("links/to_ro_file")).unwrap();
    symlink(h.join("out"), h.join("links/to_out")).unwrap();
    symlink(h.join("nowhere"), h.join("links/dangling")).unwrap();
    h
}

fn queries(h: &Scratch) -> Vec<String> {
    let rel = [
        "",
        ".ssh",
        ".ssh/id_rsa",
        ".ssh/config",
        ".ssh/new_key",
        ".aws",
        ".aws/credentials",
        ".bash_history",
        ".config",
        ".config/app",
        ".config/app/cfg",
        ".config/app/new",
        "notes.txt",
        "new.txt",
        "proj",
        "proj/src",
        "proj/src/a.rs",
        "proj/src/new.rs",
        "proj/docs/readme.md",
        "proj/new.txt",
        "proj/.git",
        "proj/.git/config",
        "proj/.git/hooks/x",
        "proj/.git/hooks/new",
        "ro",
        "ro/data.txt",
        "ro/sub",
        "ro/sub/deep.txt",
        "ro/new.txt",
        "ro/sub/new.txt",
        "out",
        "out/log.txt",
        "out/new.txt",
        "single.txt",
        "other.txt",
        "links",
        "links/to_ssh",
        "links/to_proj",
        "links/to_proj/src/a.rs",
        "links/to_ro_file",
        "links/to_out/log.txt",
        "links/to_out/new.txt",
        "links/dangling",
        "proj/../ro/data.txt",
        "ro/sub/../../.ssh/id_rsa",
        "proj/src/../../out/log.txt",
        "links/to_proj/../notes.txt",
        "links/to_proj/../single.txt",
        "out/../proj/src/b.rs",
        "ro/sub/../data.txt",
    ];
    rel.iter()
        .map(|r| {
            if r.is_empty() {
                h.s()
            } else {
                format!("{}/{r}", h.s())
            }
        })
        .collect()
}

fn why(h: &Scratch, flags: &[String], path: &str, op: &str) -> &'static str {
    let out = Command::new(nono_bin())
        .arg("why")
        .arg("--json")
        .args(["--path", path, "--op", op])
        .args(flags)
        .env("HOME", &h.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NONO_PROFILE")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    if s.contains("\"status\":\"allowed\"") {
        "allowed"
    } else if s.contains("\"status\":\"denied\"") {
        "denied"
    } else {
        panic!(
            "why gave no answer for {op} {path}: {s} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

fn kernel(h: &Scratch, flags: &[String], batch: &[(String, String)]) -> Vec<String> {
    let list_dir = Scratch::new();
    let list = list_dir.join("queries.tsv");
    let text: String = batch.iter().map(|(op, p)| format!("{op}\t{p}\n")).collect();
    fs::write(&list, text).unwrap();
    let probe = probe_bin();
    let out = Command::new(nono_bin())
        .arg("run")
        .args(flags)
        .arg("--read-file")
        .arg(&probe)
        .arg("--read-file")
        .arg(&list)
        .arg("--")
        .arg(&probe)
        .arg("attempt-batch")
        .arg(&list)
        .env("HOME", &h.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NONO_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn compare(h: &Scratch, flags: Vec<String>) -> (usize, Vec<String>) {
    let mut batch = Vec::new();
    for p in queries(h) {
        for op in ["read", "write", "readwrite"] {
            batch.push((op.to_string(), p.clone()));
        }
    }
    let results = kernel(h, &flags, &batch);
    assert_eq!(results.len(), batch.len());
    let mut compared = 0;
    let mut disagreements = Vec::new();
    for ((op, path), k) in batch.iter().zip(&results) {
        if k.starts_with("other") {
            continue;
        }
        compared += 1;
        let w = why(h, &flags, path, op);
        if w != k {
            disagreements.push(format!("{op} {path}: why={w} kernel={k} (flags {flags:?})"));
        }
    }
    (compared, disagreements)
}

#[test]
fn why_agrees_with_the_kernel() {
    let h = tree();
    let p = |r: &str| h.join(r).display().to_string();
    let narrow: Vec<String> = [
        "--allow",
        &p("proj"),
        "--read",
        &p("ro"),
        "--write",
        &p("out"),
        "--read-file",
        &p("single.txt"),
        "--read",
        &p("links"),
        "--read",
        &p(".config"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let home: Vec<String> = vec![
        "--allow".into(),
        h.s(),
        "--bypass-protection".into(),
        p(".aws"),
        "--read".into(),
        p(".aws"),
    ];
    let (n1, d1) = compare(&h, narrow);
    let (n2, d2) = compare(&h, home);
    let all: Vec<String> = d1.into_iter().chain(d2).collect();
    assert!(
        all.is_empty(),
        "{} disagreement(s):\n{}",
        all.len(),
        all.join("\n")
    );
    assert!(n1 + n2 >= 200, "only {} comparable queries", n1 + n2);
    eprintln!("compared {} queries, 0 disagreements", n1 + n2);
}

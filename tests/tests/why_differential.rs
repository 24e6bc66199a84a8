//! `nono why` must agree with the kernel. For four capability contexts
//! over a tree with grants, protected paths, symlinks, `..`, single-file
//! grants and `/proc` (the agent's own entries and another process's
//! ptrace-guarded ones), every (path, op) query is asked of `why` and then
//! attempted inside a real sandbox with the same flags. Queries the kernel
//! answers with something other than allowed/denied (e.g. ENOENT reading a
//! missing file) are not comparable and are skipped; at least 500 must be
//! compared, with no disagreement. And every flag `why` suggests for a
//! denial works: added to the context, the same attempt succeeds. The
//! whole-home context covers expanded directories, which `why` answers as
//! `nono run` does (listed and created in through the broker).

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
        "out/fresh.log",
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
        .chain(PROC.iter().map(|p| p.to_string()))
        .collect()
}

/// The agent's own `/proc` entries, and init's: readable ones and ones
/// the kernel guards with a ptrace check (denied to any sandbox).
const PROC: [&str; 16] = [
    "/proc/self/status",
    "/proc/self/environ",
    "/proc/self/maps",
    "/proc/self/fd",
    "/proc/self/comm",
    "/proc/thread-self/status",
    "/proc/1/status",
    "/proc/1/cmdline",
    "/proc/1/environ",
    "/proc/1/maps",
    "/proc/1/cwd",
    "/proc/1/root",
    "/proc/1/auxv",
    "/proc/1/task/1/environ",
    "/proc/sys/kernel/hostname",
    "/proc/cpuinfo",
];

fn why_json(h: &Scratch, flags: &[String], path: &str, op: &str) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "why gave no answer for {op} {path} ({e}): {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
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

/// A query both sides denied, with what `why` suggested for it.
struct Denial {
    op: String,
    path: String,
    answer: serde_json::Value,
}

struct Outcome {
    compared: usize,
    /// Allowed on both sides through the broker (an expanded directory
    /// listed, or a new entry created directly in it).
    brokered: usize,
    disagreements: Vec<String>,
    denials: Vec<Denial>,
}

fn compare(h: &Scratch, flags: &[String]) -> Outcome {
    let mut batch = Vec::new();
    for p in queries(h) {
        for op in ["read", "write", "readwrite"] {
            batch.push((op.to_string(), p.clone()));
        }
    }
    // `why` first: it must answer for files a grant creates at launch
    // (`--write-file` of a missing file) before the launch creates them.
    let answers: Vec<serde_json::Value> = batch
        .iter()
        .map(|(op, path)| why_json(h, flags, path, op))
        .collect();
    let results = kernel(h, flags, &batch);
    assert_eq!(results.len(), batch.len());
    let mut out = Outcome {
        compared: 0,
        brokered: 0,
        disagreements: Vec::new(),
        denials: Vec::new(),
    };
    for (((op, path), k), answer) in batch.iter().zip(&results).zip(answers) {
        if k.starts_with("other") {
            continue;
        }
        out.compared += 1;
        let w = answer["status"].as_str().unwrap_or("none");
        if w == k && answer["reason"] == "brokered_parent" {
            out.brokered += 1;
        }
        if w != k {
            out.disagreements
                .push(format!("{op} {path}: why={w} kernel={k} (flags {flags:?})"));
        } else if w == "denied" {
            out.denials.push(Denial {
                op: op.clone(),
                path: path.clone(),
                answer,
            });
        }
    }
    out
}

/// The four capability contexts: narrow grants; the whole home with a
/// bypassed protection; single-file grants (one through a symlink, one of
/// a file created at launch) and a symlinked directory; nothing but the
/// defaults.
fn contexts(h: &Scratch) -> Vec<Vec<String>> {
    let p = |r: &str| h.join(r).display().to_string();
    let narrow = vec![
        "--allow".into(),
        p("proj"),
        "--read".into(),
        p("ro"),
        "--write".into(),
        p("out"),
        "--read-file".into(),
        p("single.txt"),
        "--read".into(),
        p("links"),
        "--read".into(),
        p(".config"),
    ];
    let home = vec![
        "--allow".into(),
        h.s(),
        "--bypass-protection".into(),
        p(".aws"),
        "--read".into(),
        p(".aws"),
    ];
    let files = vec![
        "--write-file".into(),
        p("out/log.txt"),
        "--write-file".into(),
        p("out/fresh.log"),
        "--read-file".into(),
        p("links/to_ro_file"),
        "--allow-file".into(),
        p("notes.txt"),
        "--read".into(),
        p("links/to_proj"),
    ];
    vec![narrow, home, files, Vec::new()]
}

#[test]
fn why_agrees_with_the_kernel() {
    let h = tree();
    let (mut compared, mut brokered) = (0, 0);
    let mut all = Vec::new();
    for flags in contexts(&h) {
        let o = compare(&h, &flags);
        compared += o.compared;
        brokered += o.brokered;
        all.extend(o.disagreements);
    }
    assert!(
        all.is_empty(),
        "{} disagreement(s):\n{}",
        all.len(),
        all.join("\n")
    );
    assert!(compared >= 500, "only {compared} comparable queries");
    // The whole-home context lists the home and creates in it (broker).
    assert!(brokered >= 3, "only {brokered} brokered queries compared");
    eprintln!("compared {compared} queries ({brokered} through the broker), 0 disagreements");
}

/// Every denial `why` offers a single flag for is fixed by that flag: the
/// same attempt, with the flag added, succeeds in a real sandbox. A
/// denial without one says why nothing grants it (protected, or another
/// process's guarded `/proc` entry).
#[test]
fn every_suggested_flag_works() {
    let h = tree();
    let mut applied = 0;
    let mut failures = Vec::new();
    for flags in contexts(&h) {
        let o = compare(&h, &flags);
        let mut by_flag: std::collections::BTreeMap<String, Vec<(String, String)>> =
            Default::default();
        for d in &o.denials {
            match d.answer["suggested_flag"].as_str() {
                Some(flag) => by_flag
                    .entry(flag.to_string())
                    .or_default()
                    .push((d.op.clone(), d.path.clone())),
                None => {
                    let reason = d.answer["reason"].as_str().unwrap_or("");
                    let hint = d.answer["suggestion"].as_str().unwrap_or("");
                    let explained = reason == "other_process"
                        || (reason == "sensitive_path" && hint.contains("--bypass-protection"))
                        || d.answer["details"].as_str().is_some_and(|t| {
                            t.contains("No grant")
                                || t.contains("No flag")
                                || t.contains("no flag is")
                        });
                    if !explained {
                        failures.push(format!(
                            "{} {}: denied without a flag or a reason: {}",
                            d.op, d.path, d.answer
                        ));
                    }
                }
            }
        }
        for (flag, batch) in by_flag {
            let mut more = flags.clone();
            more.extend(flag.split(' ').map(String::from));
            for ((op, path), k) in batch.iter().zip(kernel(&h, &more, &batch)) {
                applied += 1;
                if k != "allowed" {
                    failures.push(format!(
                        "{op} {path}: still {k} after the suggested {flag} (context {flags:?})"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} suggestion(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(applied >= 50, "only {applied} suggestions applied");
    eprintln!("applied {applied} suggested flags, all effective");
}

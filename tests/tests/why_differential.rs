//! `nono why` must agree with the kernel. For four capability contexts
//! over a tree with grants, protected paths, symlinks, `..`, single-file
//! grants and `/proc` (the agent's own entries and another process's
//! ptrace-guarded ones), every (path, op) query is asked of `why` and then
//! attempted inside a real sandbox with the same flags. Queries the kernel
//! answers with something other than allowed/denied (e.g. ENOENT reading a
//! missing file) are not comparable and are skipped; at least 500 must be
//! compared, with no disagreement. And every flag `why` suggests for a
//! denial works: added to the context, the same attempt succeeds.

use std::fs;
use std::os::unix::fs::symlink;

use nono_e2e::whydiff::{self, Outcome};
use nono_e2e::Scratch;

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

fn compare(h: &Scratch, flags: &[String]) -> Outcome {
    let mut batch = Vec::new();
    for p in queries(h) {
        for op in ["read", "write", "readwrite"] {
            batch.push((op.to_string(), p.clone()));
        }
    }
    whydiff::compare(h, flags, &batch)
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
    let mut compared = 0;
    let mut all = Vec::new();
    for flags in contexts(&h) {
        let o = compare(&h, &flags);
        compared += o.compared;
        all.extend(o.disagreements);
    }
    assert!(
        all.is_empty(),
        "{} disagreement(s):\n{}",
        all.len(),
        all.join("\n")
    );
    assert!(compared >= 500, "only {compared} comparable queries");
    eprintln!("compared {compared} queries, 0 disagreements");
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
        applied += whydiff::check_suggestions(&h, &flags, &o, &mut failures);
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

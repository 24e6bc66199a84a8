//! Elevated opens relative to directory descriptors (as `find` walks a
//! tree). The broker keeps each agent thread's `/proc/<tid>/fd` open
//! between calls; these check from inside a real sandbox that what it
//! reads is always the descriptor the number names now: a number closed
//! and given to another directory, a second thread `dup2()`ing a protected
//! directory onto the number while the main thread opens relative to it,
//! threads passing descriptor numbers among themselves — and that the
//! broker keeps nothing of the agent's own (a directory lock ends with the
//! agent's last descriptor).
//!
//! Run with `--nocapture` to see the race figures.

use std::process::Stdio;

use nono_e2e::{sandboxed_cmd, unsandboxed, Ran, Scratch};

/// Two directories with a file `f` each ("INSIDE", "OUTSIDE"), a home
/// with a protected key (`ssh` is its directory), and an
/// approve-everything decisions file.
struct Tree {
    _dir: Scratch,
    inside: String,
    outside: String,
    home: std::path::PathBuf,
    ssh: String,
    decisions: String,
}

fn tree() -> Tree {
    let dir = Scratch::new();
    let (inside, outside, home) = (dir.join("inside"), dir.join("outside"), dir.join("home"));
    for (d, text) in [(&inside, "INSIDE"), (&outside, "OUTSIDE")] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("f"), text).unwrap();
        std::fs::write(d.join("id_rsa"), text).unwrap();
    }
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "PROTECTED-KEY").unwrap();
    let decisions = dir.join("decisions");
    std::fs::write(&decisions, "approve /**\n").unwrap();
    let s = |p: &std::path::Path| p.display().to_string();
    Tree {
        inside: s(&inside),
        outside: s(&outside),
        ssh: s(&home.join(".ssh")),
        decisions: s(&decisions),
        home,
        _dir: dir,
    }
}

fn elevated(t: &Tree, probe_args: &[&str]) -> Ran {
    let flags = [
        "--read",
        &t.inside,
        "--capability-elevation",
        "--elevation-decisions",
        &t.decisions,
    ];
    let mut cmd = sandboxed_cmd("run", &flags, probe_args);
    Ran::from(
        cmd.env("HOME", &t.home)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

fn field(out: &str, k: &str) -> u64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{k}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{k} in {out}"))
}

#[test]
fn a_reused_descriptor_number_names_the_new_directory() {
    let t = tree();
    let (inside, outside) = (t.inside.as_str(), t.outside.as_str());
    // First a granted directory (the kernel opens f: nothing to ask), then
    // one outside at the same number: its f must be elevated, not judged
    // as the closed one's (that would leave it to Landlock, which refuses).
    let r = elevated(&t, &["reuse-dirfd", inside, outside, "f"]);
    assert!(r.is_ok(), "{r:?}");
    assert!(r.stdout.contains("first=INSIDE second=OUTSIDE"), "{r:?}");
    // And the other way round.
    let r = elevated(&t, &["reuse-dirfd", outside, inside, "f"]);
    assert!(r.stdout.contains("first=OUTSIDE second=INSIDE"), "{r:?}");
}

#[test]
fn a_racing_directory_descriptor_never_obtains_the_protected_file() {
    let t = tree();
    let (inside, ssh) = (t.inside.as_str(), t.ssh.as_str());
    let args = ["race-open-dirfd", inside, ssh, "id_rsa", "5"];
    // Control: unsandboxed, the race reads the key — it can fail.
    let control = unsandboxed(&args).stdout;
    assert!(field(&control, "leaked") > 0, "control: {control}");
    let r = elevated(&t, &args);
    println!("unsandboxed: {control}sandboxed: {}", r.stdout);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(field(&r.stdout, "leaked"), 0, "{r:?}");
    assert!(field(&r.stdout, "opened") > 0, "inside/id_rsa opens: {r:?}");
    assert!(
        field(&r.stdout, "tries") > field(&r.stdout, "opened"),
        "the race must hit the protected directory: {r:?}"
    );
    assert!(r.stderr.contains("protected path, never granted"), "{r:?}");
}

#[test]
fn threads_passing_descriptor_numbers_each_read_their_own_directory() {
    let t = tree();
    let (inside, outside) = (t.inside.as_str(), t.outside.as_str());
    let r = elevated(&t, &["threads-open-dirfd", inside, outside, "f", "8"]);
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(field(&r.stdout, "reads"), 1600, "{r:?}");
    assert_eq!(field(&r.stdout, "wrong"), 0, "{r:?}");
}

#[test]
fn a_directory_lock_ends_with_the_agents_last_descriptor() {
    let t = tree();
    let r = elevated(&t, &["lock-after-openat", &t.inside]);
    assert!(r.is_ok(), "{r:?}");
    assert!(r.stdout.contains("OK free"), "{r:?}");
}

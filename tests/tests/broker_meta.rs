//! Metadata changes through `/proc/self/fd/N` (glibc's
//! `fchmodat(AT_SYMLINK_NOFOLLOW)`, `tar x`): the broker reads
//! `/proc/self` as the agent, takes its own duplicate of the agent's
//! descriptor N and judges and changes that object; a second thread that
//! swaps another file onto N never gets that other file changed. Observed
//! from outside.
//!
//! Run with `--nocapture` to see the race figures.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use nono_e2e::{run, unsandboxed, Ran, Scratch};

/// The race inside the sandbox runs this long.
const RACE_SECS: &str = "5";
/// A race that tried fewer times than this did not really race.
const MIN_TRIES: u64 = 500;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_mode(p: &std::path::Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

fn field(r: &Ran, k: &str) -> u64 {
    r.stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{k}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{k}= in {r:?}"))
}

#[test]
fn fchmodat_nofollow_changes_files_in_the_grant_only() {
    let dir = Scratch::new();
    let w = dir.join("w");
    std::fs::create_dir(&w).unwrap();
    let (inside, outside) = (w.join("in"), dir.join("out"));
    for f in [&inside, &outside] {
        std::fs::write(f, "x").unwrap();
        set_mode(f, 0o640);
    }
    let flags = ["--allow", &w.display().to_string(), "--read", &dir.s()];
    let r = run(
        &flags,
        &["chmod-nofollow", &inside.display().to_string(), "600"],
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(mode(&inside), 0o600);
    let r = run(
        &flags,
        &["chmod-nofollow", &outside.display().to_string(), "600"],
    );
    assert!(r.is_err(Some(libc::EACCES)), "{r:?}");
    assert_eq!(mode(&outside), 0o640, "outside file unchanged");
    // A symlink in the grant: glibc refuses to change a link's mode.
    std::os::unix::fs::symlink(&outside, w.join("link")).unwrap();
    let r = run(
        &flags,
        &[
            "chmod-nofollow",
            &w.join("link").display().to_string(),
            "600",
        ],
    );
    assert!(r.is_err(Some(libc::EOPNOTSUPP)), "{r:?}");
    assert_eq!(mode(&outside), 0o640, "the link's target unchanged");
}

#[test]
fn fchmod_of_an_o_path_descriptor_is_ebadf_as_without_a_sandbox() {
    let dir = Scratch::new();
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    set_mode(&f, 0o640);
    let p = f.display().to_string();
    let c = unsandboxed(&["fchmod-opath", &p, "600"]);
    assert!(c.is_err(Some(libc::EBADF)), "{c:?}");
    let r = run(&["--allow", &dir.s()], &["fchmod-opath", &p, "600"]);
    assert!(r.is_err(Some(libc::EBADF)), "{r:?}");
    assert_eq!(mode(&f), 0o640);
}

/// A race between a file in the grant (`w/in`) and one outside it, named
/// `outside`: the
/// probe's `op` chmods 0777 while a second thread swaps what it names.
/// The unsandboxed control changes the outside file; inside the sandbox
/// the file in the grant is changed and the outside one never is.
fn two_file_race(op: &str, outside: &str) {
    let dir = Scratch::new();
    let w = dir.join("w");
    std::fs::create_dir(&w).unwrap();
    let (inside, outside) = (w.join("in"), dir.join(outside));
    for f in [&inside, &outside] {
        std::fs::write(f, "x").unwrap();
        set_mode(f, 0o640);
    }
    let (i, o) = (inside.display().to_string(), outside.display().to_string());
    // Positive control: without a sandbox the race reaches the other file.
    let c = unsandboxed(&[op, &i, &o, "1"]);
    assert!(c.is_ok(), "{c:?}");
    assert_eq!(
        mode(&outside),
        0o777,
        "{op}: the unsandboxed race changes it"
    );
    set_mode(&outside, 0o640);
    set_mode(&inside, 0o640);
    let ws = w.display().to_string();
    let flags = ["--allow", &ws, "--read", &dir.s(), "--silent"];
    let r = run(&flags, &[op, &i, &o, RACE_SECS]);
    println!("{op}: {}", r.stdout.trim());
    assert!(r.is_ok(), "{r:?}");
    let (tries, changed) = (field(&r, "tries"), field(&r, "changed"));
    assert!(tries >= MIN_TRIES, "{op}: the race ran: {tries} tries");
    assert!(
        changed > 0,
        "{op}: changes of the file in the grant succeed"
    );
    assert_eq!(mode(&inside), 0o777, "{op}: the granted file was changed");
    assert_eq!(mode(&outside), 0o640, "{op}: the other file never was");
}

/// Descriptor metadata calls from many short-lived threads (more than the
/// broker keeps thread pidfds for) and from a thread of a forked child:
/// each is served for its own descriptor, inside the grant only.
#[test]
fn fchmod_from_many_threads_and_a_child_is_judged_per_thread() {
    let dir = Scratch::new();
    let w = dir.join("w");
    std::fs::create_dir(&w).unwrap();
    let (inside, outside) = (w.join("in"), dir.join("out"));
    for f in [&inside, &outside] {
        std::fs::write(f, "x").unwrap();
        set_mode(f, 0o640);
    }
    let (i, o) = (inside.display().to_string(), outside.display().to_string());
    let c = unsandboxed(&["threads-fchmod", &i, &o, "8"]);
    assert!(c.is_ok() && c.stdout.contains("outside=8"), "{c:?}");
    set_mode(&outside, 0o640);
    let ws = w.display().to_string();
    let flags = ["--allow", &ws, "--read", &dir.s(), "--silent"];
    let r = run(&flags, &["threads-fchmod", &i, &o, "200"]);
    assert!(r.is_ok(), "{r:?}");
    assert!(
        r.stdout.contains("inside=200 outside=0 child=1"),
        "every thread changes the file in the grant, none the other; the child's thread alike: {r:?}"
    );
    assert_eq!(mode(&outside), 0o640, "the outside file was never changed");
}

#[test]
fn swapping_the_descriptor_behind_proc_self_fd_changes_nothing_outside() {
    two_file_race("race-proc-fd-chmod", "out");
}

#[test]
fn rewriting_the_path_during_a_chmod_changes_nothing_outside() {
    // A half-rewritten buffer mixes the two names (the probe's buffers are
    // NUL-padded, so it is a path at every moment).
    two_file_race("race-chmod-path", "ou");
}

#[test]
fn swapping_the_descriptor_under_fchmod_changes_nothing_outside() {
    two_file_race("race-fchmod", "out");
}

/// The broker judges a plain absolute path as given when it resolves with
/// no symlink at all; a second thread exchanging a directory on that path
/// with a symlink to a directory outside must never get the file there
/// changed.
#[test]
fn swapping_a_directory_for_a_symlink_during_a_chmod_changes_nothing_outside() {
    let dir = Scratch::new();
    let (w, other) = (dir.join("w"), dir.join("other"));
    std::fs::create_dir(&w).unwrap();
    std::fs::create_dir(&other).unwrap();
    let outside = other.join("f");
    std::fs::write(&outside, "x").unwrap();
    set_mode(&outside, 0o640);
    let (ws, os) = (w.display().to_string(), other.display().to_string());
    // Positive control, in a directory of its own.
    let cw = dir.join("cw");
    std::fs::create_dir(&cw).unwrap();
    let c = unsandboxed(&["race-swap-dir-chmod", &cw.display().to_string(), &os, "1"]);
    assert!(c.is_ok(), "{c:?}");
    assert_eq!(mode(&outside), 0o777, "the unsandboxed race changes it");
    set_mode(&outside, 0o640);
    let flags = ["--allow", &ws, "--read", &dir.s(), "--silent"];
    let r = run(&flags, &["race-swap-dir-chmod", &ws, &os, RACE_SECS]);
    println!("{}", r.stdout.trim());
    assert!(r.is_ok(), "{r:?}");
    let (tries, changed) = (field(&r, "tries"), field(&r, "changed"));
    assert!(tries >= MIN_TRIES, "the race ran: {tries} tries");
    assert!(changed > 0, "chmods of the file in the grant succeed");
    let d = if std::fs::symlink_metadata(w.join("d")).unwrap().is_dir() {
        w.join("d")
    } else {
        w.join("alt")
    };
    assert_eq!(mode(&d.join("f")), 0o777, "the granted file was changed");
    assert_eq!(
        mode(&outside),
        0o640,
        "the file behind the symlink never was"
    );
}

/// A tree with files, directories, a symlink and unusual modes, archived
/// by the host's tar.
fn archive(dir: &Scratch) -> std::path::PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("d/e")).unwrap();
    for (name, m) in [("a", 0o600), ("d/b", 0o755), ("d/e/c", 0o640)] {
        std::fs::write(src.join(name), name).unwrap();
        set_mode(&src.join(name), m);
    }
    set_mode(&src.join("d/e"), 0o750);
    std::os::unix::fs::symlink("../a", src.join("d/link")).unwrap();
    let tar = dir.join("t.tar");
    let st = Command::new("tar")
        .arg("cf")
        .arg(&tar)
        .arg("-C")
        .arg(&dir.path)
        .arg("src")
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

#[test]
fn tar_x_into_a_grant_exits_0_and_keeps_modes() {
    let dir = Scratch::new();
    let tar = archive(&dir);
    let dest = dir.join("dest");
    std::fs::create_dir(&dest).unwrap();
    let out = Command::new(nono_e2e::nono_bin())
        .args(["run", "--silent", "--read-file"])
        .arg(&tar)
        .arg("--allow")
        .arg(&dest)
        .args(["--", "tar", "xf"])
        .arg(&tar)
        .arg("-C")
        .arg(&dest)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let x = dest.join("src");
    assert_eq!(mode(&x.join("a")), 0o600);
    assert_eq!(mode(&x.join("d/b")), 0o755);
    assert_eq!(mode(&x.join("d/e/c")), 0o640);
    assert_eq!(mode(&x.join("d/e")), 0o750);
    assert_eq!(
        std::fs::read_link(x.join("d/link")).unwrap(),
        std::path::Path::new("../a")
    );
}

#[test]
fn a_change_the_kernel_refuses_inside_the_grant_is_its_answer_not_a_denial() {
    use std::os::unix::fs::MetadataExt;
    let dir = Scratch::new();
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    let uid = std::fs::metadata(&f).unwrap().uid();
    // Nobody in the sandbox holds CAP_CHOWN (not even root's agent, nor
    // the broker): the kernel refuses, as it would without nono.
    let r = nono_e2e::run_sh(
        &["--allow", &dir.s()],
        &[],
        &format!(
            "python3 -c 'import os,sys; os.chown(sys.argv[1], 12345, -1)' {} 2>/dev/null; echo rc=$?",
            f.display()
        ),
    );
    assert!(r.stdout.contains("rc=1"), "{r:?}");
    assert!(!r.stderr.contains("denied chown"), "{r:?}");
    assert_eq!(std::fs::metadata(&f).unwrap().uid(), uid);
}

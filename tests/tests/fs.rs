//! Filesystem enforcement: every denial is checked from outside (content,
//! existence) and paired with the granted case working.

use std::fs;

use nono_e2e::{canary, run, sandboxed, unsandboxed, Scratch, EACCES, EXDEV};

#[test]
fn reads_inside_grant_work_and_outside_are_denied() {
    let (grant, outside) = (Scratch::new(), Scratch::new());
    let inside_secret = canary("inside");
    let outside_secret = canary("outside");
    fs::write(grant.join("in"), &inside_secret).unwrap();
    fs::write(outside.join("out"), &outside_secret).unwrap();

    let r = run(
        &["--allow", &grant.s()],
        &["read", grant.join("in").to_str().unwrap()],
    );
    assert!(r.is_ok() && r.stdout.contains(&inside_secret), "{r:?}");

    let r = run(
        &["--allow", &grant.s()],
        &["read", outside.join("out").to_str().unwrap()],
    );
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    assert!(!r.stdout.contains(&outside_secret));
}

#[test]
fn writes_outside_grant_leave_files_unchanged() {
    let (grant, outside) = (Scratch::new(), Scratch::new());
    let target = outside.join("victim");
    fs::write(&target, "original").unwrap();
    let before = fs::metadata(&target).unwrap().modified().unwrap();
    let g = grant.s();
    let t = target.to_str().unwrap();

    for probe in [
        vec!["write", t, "pwned"],
        vec!["truncate", t],
        vec!["remove", t],
    ] {
        let r = run(&["--allow", &g], &probe);
        assert!(r.is_err(Some(EACCES)), "{probe:?}: {r:?}");
    }
    let r = run(
        &["--allow", &g],
        &["mkdir", outside.join("newdir").to_str().unwrap()],
    );
    assert!(r.is_err(Some(EACCES)), "{r:?}");

    assert_eq!(fs::read_to_string(&target).unwrap(), "original");
    assert_eq!(fs::metadata(&target).unwrap().modified().unwrap(), before);
    assert!(!outside.join("newdir").exists());

    // Positive control: the same write inside the grant lands.
    let r = run(
        &["--allow", &g],
        &["write", grant.join("ok").to_str().unwrap(), "fine"],
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(fs::read_to_string(grant.join("ok")).unwrap(), "fine");
}

#[test]
fn read_only_grant_refuses_writes_and_write_only_refuses_reads() {
    let d = Scratch::new();
    fs::write(d.join("f"), "keep").unwrap();
    let f = d.join("f");
    let f = f.to_str().unwrap();

    let r = run(&["--read", &d.s()], &["write", f, "x"]);
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    let r = run(&["--read", &d.s()], &["truncate", f]);
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    assert_eq!(fs::read_to_string(d.join("f")).unwrap(), "keep");

    let r = run(&["--write", &d.s()], &["read", f]);
    assert!(
        r.is_err(Some(EACCES)) && !r.stdout.contains("keep"),
        "{r:?}"
    );
    let r = run(
        &["--write", &d.s()],
        &["write", d.join("g").to_str().unwrap(), "new"],
    );
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn single_file_grants_do_not_open_the_directory() {
    let d = Scratch::new();
    fs::write(d.join("granted"), "yes").unwrap();
    fs::write(d.join("sibling"), canary("sibling")).unwrap();
    let granted = d.join("granted");
    let r = run(
        &["--read-file", granted.to_str().unwrap()],
        &["read", granted.to_str().unwrap()],
    );
    assert!(r.is_ok(), "{r:?}");
    let r = run(
        &["--read-file", granted.to_str().unwrap()],
        &["read", d.join("sibling").to_str().unwrap()],
    );
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    let r = run(
        &["--read-file", granted.to_str().unwrap()],
        &["write", granted.to_str().unwrap(), "no"],
    );
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    assert_eq!(fs::read_to_string(&granted).unwrap(), "yes");
}

#[test]
fn renames_and_links_across_the_grant_boundary_are_denied() {
    let (grant, outside) = (Scratch::new(), Scratch::new());
    fs::write(grant.join("mine"), "mine").unwrap();
    fs::write(outside.join("theirs"), "theirs").unwrap();
    let g = grant.s();
    let p = |s: &Scratch, n: &str| s.join(n).to_str().unwrap().to_string();

    // Out of the grant: the kernel reports EXDEV (refer) or EACCES.
    for (op, src, dst) in [
        ("rename", p(&grant, "mine"), p(&outside, "moved")),
        ("link", p(&grant, "mine"), p(&outside, "linked")),
        ("rename", p(&outside, "theirs"), p(&grant, "stolen")),
        ("link", p(&outside, "theirs"), p(&grant, "stolen-link")),
    ] {
        let r = run(&["--allow", &g], &[op, &src, &dst]);
        assert!(
            r.is_err(Some(EXDEV)) || r.is_err(Some(EACCES)),
            "{op} {src} {dst}: {r:?}"
        );
    }
    assert!(grant.join("mine").exists() && outside.join("theirs").exists());
    for gone in [
        outside.join("moved"),
        outside.join("linked"),
        grant.join("stolen"),
        grant.join("stolen-link"),
    ] {
        assert!(!gone.exists(), "{} must not exist", gone.display());
    }
    // Positive control: within the grant, rename and link work.
    let r = run(
        &["--allow", &g],
        &["rename", &p(&grant, "mine"), &p(&grant, "renamed")],
    );
    assert!(r.is_ok(), "{r:?}");
    let r = run(
        &["--allow", &g],
        &["link", &p(&grant, "renamed"), &p(&grant, "hard")],
    );
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn symlink_inside_grant_does_not_reach_outside() {
    let (grant, outside) = (Scratch::new(), Scratch::new());
    let secret = canary("symlink");
    fs::write(outside.join("secret"), &secret).unwrap();
    let r = run(
        &["--allow", &grant.s()],
        &[
            "symlink-read",
            outside.join("secret").to_str().unwrap(),
            grant.join("ln").to_str().unwrap(),
        ],
    );
    assert!(
        r.is_err(Some(EACCES)) && !r.stdout.contains(&secret),
        "{r:?}"
    );
}

#[test]
fn home_and_shared_tmp_are_not_granted_by_default() {
    let secret = canary("tmp");
    let shared = Scratch::new(); // lives in the host's /tmp
    fs::write(shared.join("s"), &secret).unwrap();
    let r = run(&[], &["read", shared.join("s").to_str().unwrap()]);
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    let r = run(&[], &["write", shared.join("w").to_str().unwrap(), "x"]);
    assert!(
        r.is_err(Some(EACCES)) && !shared.join("w").exists(),
        "{r:?}"
    );
    if let Some(home) = std::env::var_os("HOME").filter(|h| h != "/") {
        let probe_file = std::path::Path::new(&home).join(".nono-e2e-home-probe");
        let r = run(&[], &["write", probe_file.to_str().unwrap(), "x"]);
        assert!(!r.is_ok() && !probe_file.exists(), "{r:?}");
    }
}

#[test]
fn the_private_tmpdir_is_writable_and_removed_after_run() {
    let r = sandboxed("run", &[], &["write-tmp"]);
    assert!(r.is_ok(), "{r:?}");
    let written = r
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("path")
        .to_string();
    let tmp = std::path::Path::new(&written)
        .parent()
        .unwrap()
        .display()
        .to_string();
    assert!(tmp.contains("nono-session-"), "{tmp}");
    assert!(
        !std::path::Path::new(&tmp).exists(),
        "session temp dir must be removed"
    );
}

#[test]
fn wrap_enforces_the_same_filesystem_rules() {
    let (grant, outside) = (Scratch::new(), Scratch::new());
    let secret = canary("wrap");
    fs::write(outside.join("s"), &secret).unwrap();
    let r = sandboxed(
        "wrap",
        &["--allow", &grant.s()],
        &["read", outside.join("s").to_str().unwrap()],
    );
    assert!(
        r.is_err(Some(EACCES)) && !r.stdout.contains(&secret),
        "{r:?}"
    );
    let r = sandboxed(
        "wrap",
        &["--allow", &grant.s()],
        &["write", outside.join("w").to_str().unwrap(), "x"],
    );
    assert!(
        r.is_err(Some(EACCES)) && !outside.join("w").exists(),
        "{r:?}"
    );
    let r = sandboxed(
        "wrap",
        &["--allow", &grant.s()],
        &["write", grant.join("w").to_str().unwrap(), "x"],
    );
    assert!(r.is_ok(), "{r:?}");
}

/// Nested grants: a rule whose rights its ancestors already give is not
/// handed to the kernel (`landlock_rules::kernel_rules`). What the agent
/// may do must be exactly what the rules say, both ways round, and a
/// rename between the two levels behaves as with both rules.
#[test]
fn nested_grants_allow_exactly_their_union() {
    let top = Scratch::new();
    let sub = top.join("sub");
    fs::create_dir(&sub).unwrap();
    fs::write(top.join("top-file"), "top").unwrap();
    let (t, s) = (top.s(), sub.display().to_string());
    let p = |n: &str| top.join(n).to_str().unwrap().to_string();

    // A read grant inside a write grant (its rule dropped): writable still.
    let wide = ["--allow", t.as_str(), "--read", s.as_str()];
    let r = run(&wide, &["write", &p("sub/w"), "x"]);
    assert!(r.is_ok(), "{r:?}");
    let r = run(&wide, &["read", &p("sub/w")]);
    assert!(r.is_ok() && r.stdout.contains('x'), "{r:?}");
    let r = run(&wide, &["rename", &p("top-file"), &p("sub/moved")]);
    assert!(r.is_ok(), "{r:?}");
    let r = run(&wide, &["rename", &p("sub/moved"), &p("top-file")]);
    assert!(r.is_ok(), "{r:?}");

    // A write grant inside a read grant (kept): only beneath it writable.
    let narrow = ["--read", t.as_str(), "--allow", s.as_str()];
    let r = run(&narrow, &["write", &p("sub/n"), "y"]);
    assert!(r.is_ok(), "{r:?}");
    let r = run(&narrow, &["write", &p("top-new"), "pwned"]);
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    let r = run(&narrow, &["write", &p("top-file"), "pwned"]);
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    let r = run(&narrow, &["rename", &p("sub/n"), &p("escaped")]);
    assert!(r.is_err(Some(EXDEV)) || r.is_err(Some(EACCES)), "{r:?}");
    let r = run(&narrow, &["read", &p("top-file")]);
    assert!(r.is_ok() && r.stdout.contains("top"), "{r:?}");

    assert_eq!(fs::read_to_string(top.join("top-file")).unwrap(), "top");
    assert!(!top.join("top-new").exists() && !top.join("escaped").exists());
    assert_eq!(fs::read_to_string(sub.join("n")).unwrap(), "y");
}

/// Inode flags (`chattr`) are metadata Landlock does not cover, and need
/// only a read-only descriptor; access mode 3 (ioctls only) needs no
/// Landlock right at all. Both are refused in `run` and `wrap`, and the
/// flags are unchanged, seen from outside; the unsandboxed control shows
/// each would have worked.
#[test]
fn inode_flags_and_ioctl_only_opens_are_refused() {
    let (grant, outside) = (Scratch::new(), Scratch::new());
    let (f, out) = (grant.join("f"), outside.join("out"));
    fs::write(&f, "data").unwrap();
    fs::write(&out, "outside").unwrap();
    let (f, out) = (f.to_str().unwrap(), out.to_str().unwrap());
    let flags = |p: &str| unsandboxed(&["inode-flags", p]).stdout;
    let before = flags(f);
    assert!(before.starts_with("OK "), "{before}");
    for mode in ["run", "wrap"] {
        let r = sandboxed(mode, &["--allow", &grant.s()], &["set-nodump", f]);
        assert!(r.is_err(Some(libc::EPERM)), "{mode}: {r:?}");
        assert_eq!(flags(f), before, "{mode}: flags changed");
        for how in ["open", "openat"] {
            let r = sandboxed(mode, &["--allow", &grant.s()], &["open-mode3", out, how]);
            assert!(r.is_err(Some(EACCES)), "{mode} {how}: {r:?}");
        }
        // The same flags by path (file_setattr, Linux 6.17), inside the
        // grant and on a file outside it: refused, unchanged.
        for p in [f, out] {
            let was = flags(p);
            let r = sandboxed(mode, &["--allow", &grant.s()], &["file-setattr", p]);
            assert!(
                r.is_err(Some(libc::EPERM)),
                "{mode} file_setattr {p}: {r:?}"
            );
            assert_eq!(flags(p), was, "{mode}: {p}'s flags changed");
        }
    }
    let control = grant.join("control");
    fs::write(&control, "c").unwrap();
    let r = unsandboxed(&["set-nodump", control.to_str().unwrap()]);
    assert!(r.is_ok(), "control: {r:?}");
    assert_ne!(flags(control.to_str().unwrap()), before, "control flags");
    for how in ["open", "openat"] {
        assert!(
            unsandboxed(&["open-mode3", out, how]).is_ok(),
            "control {how}"
        );
    }
    // file_setattr works unsandboxed where the kernel has it.
    let by_path = grant.join("by-path");
    fs::write(&by_path, "p").unwrap();
    let by_path = by_path.to_str().unwrap();
    let r = unsandboxed(&["file-setattr", by_path]);
    if !r.is_err(Some(libc::ENOSYS)) {
        assert!(r.is_ok(), "control file_setattr: {r:?}");
        assert_ne!(flags(by_path), before, "control file_setattr flags");
    }
}

//! A granted directory that contains protected paths (`--allow $HOME`
//! around `~/.ssh`) stays usable in `nono run`: the broker lists it and
//! creates new entries directly in it, while `~/.ssh` and the other
//! protected names stay out of reach, also under races on the path buffer
//! and on the directory descriptor. Observed from outside.
//!
//! Run with `--nocapture` to see the race figures.

use std::path::Path;
use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, probe_bin, unsandboxed, Ran, Scratch};

/// The race inside the sandbox runs this long.
const RACE_SECS: &str = "4";
/// A race that tried fewer times than this did not really race.
const MIN_TRIES: u64 = 500;
/// Same length as `.ssh/authorized_keys`, so a half-rewritten buffer
/// names one or the other.
const ALLOWED_NAME: &str = "newfile-------------";

/// A fake home: `.ssh/id_canary`, a plain file and a project directory.
fn home() -> Scratch {
    let h = Scratch::new();
    std::fs::create_dir_all(h.join(".ssh")).unwrap();
    std::fs::create_dir_all(h.join("proj")).unwrap();
    std::fs::write(h.join(".ssh/id_canary"), "SECRET-KEY").unwrap();
    std::fs::write(h.join("notes"), "notes").unwrap();
    h
}

/// `nono MODE FLAGS -- /bin/sh -c SCRIPT` with HOME set to `h`.
fn sh_in(mode: &str, h: &Scratch, flags: &[&str], script: &str) -> Ran {
    let out = Command::new(nono_bin())
        .arg(mode)
        .args(flags)
        .args(["--read-file", &probe_bin().display().to_string()])
        .args(["--", "/bin/sh", "-c", script])
        .env("HOME", &h.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("NONO_PROFILE")
        .current_dir(&h.path)
        .stdin(Stdio::null())
        .output()
        .expect("spawn nono");
    Ran::from(out)
}

fn run_home(h: &Scratch, script: &str) -> Ran {
    sh_in("run", h, &["--silent", "--allow", &h.s()], script)
}

fn field(r: &Ran, k: &str) -> u64 {
    r.stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{k}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{k}= in {r:?}"))
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

#[test]
fn the_expanded_home_is_listable_and_new_entries_are_created() {
    let h = home();
    let s = h.s();
    let r = run_home(
        &h,
        &format!(
            "ls -a {s} && echo x > {s}/.newrc && mkdir {s}/.cache && echo deep > {s}/.cache/f \
             && mkdir -p {s}/.cache/a/b && echo more >> {s}/.newrc && cat {s}/.cache/f"
        ),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    for name in [".ssh", "notes", "proj"] {
        assert!(r.stdout.lines().any(|l| l == name), "{name} listed: {r:?}");
    }
    assert!(r.stdout.contains("deep"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(h.join(".newrc")).unwrap(),
        "x\nmore\n"
    );
    assert_eq!(
        std::fs::read_to_string(h.join(".cache/f")).unwrap(),
        "deep\n"
    );
    assert!(h.join(".cache/a/b").is_dir());
}

#[test]
fn created_entries_can_be_removed_and_keep_the_agents_umask() {
    let h = home();
    let s = h.s();
    let r = run_home(
        &h,
        &format!(
            "umask 027 && echo t > {s}/tmpf && rm {s}/tmpf && mkdir {s}/d && echo k > {s}/d/keep \
             && mkdir {s}/gone && rmdir {s}/gone"
        ),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!exists(&h.join("tmpf")) && !exists(&h.join("gone")));
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&h.join("d")), 0o750);
    assert_eq!(mode(&h.join("d/keep")), 0o640);
    // Metadata of what it created is the agent's, as in a write grant;
    // the home itself and .ssh stay out of reach.
    let r = run_home(
        &h,
        &format!(
            "touch {s}/d/keep && chmod 600 {s}/d/keep && chmod 700 {s}/d; \
             chmod 777 {s}; chmod 777 {s}/.ssh; chmod 666 {s}/.ssh/id_canary; true"
        ),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(mode(&h.join("d/keep")), 0o600);
    assert_eq!(mode(&h.join("d")), 0o700);
    assert_ne!(mode(&h.path), 0o777);
    assert_ne!(mode(&h.join(".ssh")), 0o777);
    assert_ne!(mode(&h.join(".ssh/id_canary")), 0o666);
    // Entries the broker did not create keep Landlock's answer (no
    // removal directly in the expanded directory).
    let r = run_home(&h, &format!("rm {s}/notes"));
    assert_ne!(r.code, Some(0), "{r:?}");
    assert!(exists(&h.join("notes")));
}

#[test]
fn from_a_worker_thread_and_from_child_processes() {
    let h = home();
    let s = h.s();
    let probe = probe_bin().display().to_string();
    let r = run_home(
        &h,
        &format!(
            "{probe} create-in-thread {s}/fromthread && ( echo c > {s}/fromchild ) && \
             /bin/sh -c 'echo g > {s}/grandchild && cat {s}/fromchild'"
        ),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.starts_with("OK thread"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(h.join("fromthread")).unwrap(),
        "thread"
    );
    assert_eq!(std::fs::read_to_string(h.join("fromchild")).unwrap(), "c\n");
    assert_eq!(
        std::fs::read_to_string(h.join("grandchild")).unwrap(),
        "g\n"
    );
}

#[test]
fn protected_children_stay_out_of_reach() {
    let h = home();
    let s = h.s();
    // Each attempt prints a marker only when it succeeds.
    let attempts = [
        format!("cat {s}/.ssh/id_canary && echo LEAK-read"),
        format!("ls {s}/.ssh && echo LEAK-list"),
        format!("echo k > {s}/.ssh/authorized_keys && echo LEAK-create"),
        format!("echo k > {s}/.ssh/id_canary && echo LEAK-replace"),
        format!("mkdir {s}/.gnupg && echo LEAK-gnupg"),
        format!("echo x > {s}/.bashrc && echo LEAK-bashrc"),
        format!("echo x > {s}/.npmrc && echo LEAK-npmrc"),
        format!("mkdir {s}/.ssh/sub && echo LEAK-mkdir"),
        format!("rm {s}/.ssh/id_canary && echo LEAK-rm"),
        format!("mv {s}/.ssh {s}/moved && echo LEAK-mv"),
        format!("cd {s} && cat .ssh/id_canary && echo LEAK-cwd"),
        format!("mkdir {s}/d && cat {s}/d/../.ssh/id_canary && echo LEAK-dotdot"),
    ];
    let script = attempts.join("; ") + "; true";
    let r = run_home(&h, &script);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!r.stdout.contains("LEAK"), "{r:?}");
    assert!(
        !r.stdout.contains("SECRET-KEY") && !r.stdout.contains("id_canary"),
        "{r:?}"
    );
    assert_eq!(
        std::fs::read_to_string(h.join(".ssh/id_canary")).unwrap(),
        "SECRET-KEY"
    );
    let ssh: Vec<_> = std::fs::read_dir(h.join(".ssh")).unwrap().collect();
    assert_eq!(ssh.len(), 1, "nothing new in .ssh");
    for name in [".gnupg", ".bashrc", ".npmrc", "moved"] {
        assert!(!exists(&h.join(name)), "{name} was not created");
    }
    // Positive control: the same script without a sandbox leaks.
    let out = Command::new("/bin/sh")
        .args(["-c", &attempts[0]])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("LEAK-read"));
}

#[test]
fn symlinks_do_not_lead_into_protected_children() {
    let h = home();
    let s = h.s();
    // Made outside, before the session: a link in the expanded directory.
    std::os::unix::fs::symlink(".ssh", h.join("x")).unwrap();
    // The agent may make links in it (the broker never follows one), but
    // through them the kernel decides, and Landlock denies .ssh.
    let r = run_home(
        &h,
        &format!(
            "cat {s}/x/id_canary; echo k > {s}/x/authorized_keys; ln -s .ssh {s}/y; \
             mkdir {s}/d; ln -s ../.ssh {s}/d/l; cat {s}/d/l/id_canary; cat {s}/y/id_canary; \
             echo k > {s}/y/authorized_keys; echo k > {s}/d/l/authorized_keys; ls {s}/y; \
             mkdir {s}/y/sub; ln -s w {s}/.ssh/evil; ln -s .ssh/id_canary {s}/.gnupg; \
             ln -s {s}/proj {s}/p && echo in > {s}/p/through && cat {s}/p/through; true"
        ),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(!r.stdout.contains("SECRET-KEY"), "{r:?}");
    assert!(!r.stdout.contains("id_canary"), "{r:?}");
    assert!(!exists(&h.join(".ssh/authorized_keys")) && !exists(&h.join(".ssh/sub")));
    assert_eq!(ssh_entries(&h), 1, "nothing new in .ssh");
    assert!(!exists(&h.join(".gnupg")), "no link under a protected name");
    let link = std::fs::read_link(h.join("y")).unwrap();
    assert_eq!(link, Path::new(".ssh"), "the link itself was made");
    // A link to a granted directory works as the kernel follows it.
    assert_eq!(
        std::fs::read_to_string(h.join("proj/through")).unwrap(),
        "in\n"
    );
}

#[test]
fn a_read_only_grant_lists_but_creates_nothing() {
    let h = home();
    let s = h.s();
    let r = sh_in(
        "run",
        &h,
        &["--silent", "--read", &s],
        &format!("ls -a {s}; echo x > {s}/new; mkdir {s}/newdir; true"),
    );
    assert!(r.stdout.lines().any(|l| l == "notes"), "{r:?}");
    assert!(!exists(&h.join("new")) && !exists(&h.join("newdir")));
}

#[test]
fn wrap_has_no_broker_and_stays_denied() {
    let h = home();
    let s = h.s();
    let r = sh_in(
        "wrap",
        &h,
        &["--silent", "--allow", &s],
        &format!("ls {s} && echo LISTED; echo x > {s}/new; true"),
    );
    assert!(!r.stdout.contains("LISTED"), "{r:?}");
    assert!(!exists(&h.join("new")));
}

#[test]
fn opens_are_notified_only_with_an_expanded_directory() {
    let h = home();
    let line = "notified of the command's opens";
    let plain = sh_in(
        "run",
        &h,
        &["-v", "--allow", &h.join("proj").display().to_string()],
        "true",
    );
    assert_eq!(plain.code, Some(0), "{plain:?}");
    assert!(!plain.stderr.contains(line), "{plain:?}");
    // Control: the same report with an expanded directory.
    let expanded = sh_in("run", &h, &["-v", "--allow", &h.s()], "true");
    assert_eq!(expanded.code, Some(0), "{expanded:?}");
    assert!(expanded.stderr.contains(line), "{expanded:?}");
}

/// Both races for one way of creating (`open` or `mkdir`).
fn race(how: &str) {
    let h = home();
    let allowed = h.join(ALLOWED_NAME).display().to_string();
    let protected = h.join(".ssh/authorized_keys");
    let p = protected.display().to_string();
    assert_eq!(allowed.len(), p.len());
    // Positive control: without a sandbox the path race reaches it.
    let c = unsandboxed(&["race-parent-path", how, &allowed, &p, "1"]);
    assert!(c.is_ok(), "{c:?}");
    assert!(exists(&protected), "the unsandboxed race creates it");
    clean_ssh(&h);
    let probe = probe_bin().display().to_string();
    let r = run_home(
        &h,
        &format!("{probe} race-parent-path {how} {allowed} {p} {RACE_SECS}"),
    );
    println!("{how} path race: {}", r.stdout.trim());
    assert!(r.is_ok(), "{r:?}");
    assert!(field(&r, "tries") >= MIN_TRIES, "the race ran");
    assert!(field(&r, "created") > 0, "creations in the home succeed");
    assert!(
        exists(&h.join(ALLOWED_NAME)),
        "the allowed name was created"
    );
    assert!(!exists(&protected), "the protected path never was");
    assert_eq!(ssh_entries(&h), 1, "nothing new in .ssh");
    // The directory descriptor race, with its own control.
    let (dir, ssh) = (h.s(), h.join(".ssh").display().to_string());
    let c = unsandboxed(&["race-parent-dirfd", how, &dir, &ssh, "1"]);
    assert!(c.is_ok(), "{c:?}");
    assert!(exists(&protected), "the unsandboxed race creates it");
    clean_ssh(&h);
    remove(&h.join("authorized_keys"));
    let r = run_home(
        &h,
        &format!("{probe} race-parent-dirfd {how} {dir} {ssh} {RACE_SECS}"),
    );
    println!("{how} dirfd race: {}", r.stdout.trim());
    assert!(r.is_ok(), "{r:?}");
    assert!(field(&r, "tries") >= MIN_TRIES, "the race ran");
    assert!(field(&r, "created") > 0, "creations in the home succeed");
    assert!(!exists(&protected), "the protected path never was created");
    assert_eq!(ssh_entries(&h), 1, "nothing new in .ssh");
}

fn ssh_entries(h: &Scratch) -> usize {
    std::fs::read_dir(h.join(".ssh")).unwrap().count()
}

/// Undo what an unsandboxed control made in `.ssh` and in the home
/// (half-rewritten buffers name other entries too), so the sandboxed run
/// starts from the home `home()` made.
fn clean_ssh(h: &Scratch) {
    for e in std::fs::read_dir(h.join(".ssh")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name() != Some(std::ffi::OsStr::new("id_canary")) {
            remove(&p);
        }
    }
    let keep = [".ssh", "proj", "notes", ".local"];
    for e in std::fs::read_dir(&h.path).unwrap() {
        let p = e.unwrap().path();
        if !keep
            .iter()
            .any(|k| p.file_name() == Some(std::ffi::OsStr::new(k)))
        {
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
    }
}

fn remove(p: &Path) {
    let _ = std::fs::remove_file(p).or_else(|_| std::fs::remove_dir(p));
}

#[test]
fn racing_the_path_or_the_directory_never_creates_a_protected_entry() {
    race("open");
}

#[test]
fn racing_mkdir_never_creates_a_protected_entry() {
    race("mkdir");
}

#[test]
fn racing_symlink_never_creates_a_protected_entry() {
    race("symlink");
}

/// The rename race's arguments in home `h`: a movable file and the key
/// (same length), an allowed destination and a protected one.
fn rename_args(h: &Scratch) -> [String; 4] {
    let p = |r: &str| h.join(r).display().to_string();
    [
        p("movable-------"),
        p(".ssh/id_canary"),
        p(ALLOWED_NAME),
        p(".ssh/authorized_keys"),
    ]
}

#[test]
fn racing_renames_never_move_a_protected_entry() {
    // Positive control in a home of its own: the race moves the key.
    let c = home();
    let a = rename_args(&c);
    let r = unsandboxed(&["race-parent-rename", &a[0], &a[1], &a[2], &a[3], "1"]);
    assert!(r.is_ok(), "{r:?}");
    let moved = !exists(&c.join(".ssh/id_canary")) || exists(&c.join(".ssh/authorized_keys"));
    assert!(moved, "the unsandboxed race reaches .ssh");
    let h = home();
    let a = rename_args(&h);
    let probe = probe_bin().display().to_string();
    let r = run_home(
        &h,
        &format!(
            "{probe} race-parent-rename {} {} {} {} {RACE_SECS}",
            a[0], a[1], a[2], a[3]
        ),
    );
    println!("rename race: {}", r.stdout.trim());
    assert!(r.is_ok(), "{r:?}");
    assert!(field(&r, "tries") >= MIN_TRIES, "the race ran");
    assert!(field(&r, "renamed") > 0, "renames in the home succeed");
    assert_eq!(
        std::fs::read_to_string(h.join(".ssh/id_canary")).unwrap(),
        "SECRET-KEY"
    );
    assert_eq!(ssh_entries(&h), 1, "nothing new in .ssh");
    for e in std::fs::read_dir(&h.path).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            assert!(
                !text.contains("SECRET-KEY"),
                "{} holds the key",
                p.display()
            );
        }
    }
}

#[test]
fn renames_into_the_home_from_created_entries_and_write_grants() {
    let h = home();
    let w = Scratch::new();
    std::fs::write(w.join("wf"), "from-w").unwrap();
    let (s, ws) = (h.s(), w.s());
    let out = sh_in(
        "run",
        &h,
        &["--silent", "--allow", &s, "--allow", &ws],
        &format!(
            "echo t > {s}/tmpf && mv {s}/tmpf {s}/final && mv {ws}/wf {s}/fromw && \
             mkdir {s}/d && mv {s}/final {s}/d/f && mv {s}/d {s}/e; \
             mv {s}/.ssh/id_canary {s}/stolen; echo x > {s}/b; mv {s}/b {s}/notes; \
             mv {s}/e {s}/.gnupg; mkfifo {ws}/fifo && mv {ws}/fifo {s}/fifo && \
             cat {s}/fifo; echo after > {s}/after; true"
        ),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(std::fs::read_to_string(h.join("fromw")).unwrap(), "from-w");
    assert_eq!(std::fs::read_to_string(h.join("e/f")).unwrap(), "t\n");
    assert!(exists(&h.join(".ssh/id_canary")) && !exists(&h.join("stolen")));
    assert_eq!(std::fs::read_to_string(h.join("notes")).unwrap(), "notes");
    assert!(!exists(&h.join(".gnupg")));
    // A FIFO moved in is not opened by the broker (it would block it):
    // the command goes on.
    assert!(exists(&h.join("fifo")), "{out:?}");
    assert_eq!(std::fs::read_to_string(h.join("after")).unwrap(), "after\n");
}

/// `nono MODE ARGS` with HOME set to `h` (no command run).
fn nono_in(h: &Scratch, args: &[&str]) -> Ran {
    let out = Command::new(nono_bin())
        .args(args)
        .env("HOME", &h.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("NONO_PROFILE")
        .current_dir(&h.path)
        .stdin(Stdio::null())
        .output()
        .expect("spawn nono");
    Ran::from(out)
}

#[test]
fn why_and_dry_run_show_the_broker_in_run_only() {
    let h = home();
    let s = h.s();
    let run = nono_in(&h, &["run", "--dry-run", "--allow", &s, "--", "true"]);
    assert!(
        run.stdout
            .contains("listable and new entries creatable via the broker"),
        "{run:?}"
    );
    let wrap = nono_in(&h, &["wrap", "--dry-run", "--allow", &s, "--", "true"]);
    assert!(wrap.stdout.contains("not listable"), "{wrap:?}");
    let why = |path: &str, op: &str| {
        nono_in(
            &h,
            &["why", "--json", "--allow", &s, "--path", path, "--op", op],
        )
    };
    for (path, op) in [(s.clone(), "read"), (format!("{s}/.newfile"), "write")] {
        let a = why(&path, op);
        assert_eq!(a.code, Some(0), "{a:?}");
        assert!(a.stdout.contains("\"reason\":\"brokered_parent\""), "{a:?}");
    }
    for path in [format!("{s}/.ssh/authorized_keys"), format!("{s}/.gnupg")] {
        let a = why(&path, "write");
        assert_eq!(a.code, Some(1), "{a:?}");
        assert!(a.stdout.contains("\"reason\":\"sensitive_path\""), "{a:?}");
    }
}

/// The broker serves only what the kernel would do with the call as
/// given: a trailing `/` asks for a directory, and openat2's resolve
/// flags confine the caller's own lookup. Each is compared with the same
/// call without a sandbox.
#[test]
fn calls_that_ask_the_kernel_for_more_are_left_to_it() {
    let h = home();
    let s = h.s();
    let probe = probe_bin().display().to_string();
    // unlink("made/") of a file the broker created: ENOTDIR, the file stays.
    let r = run_home(
        &h,
        &format!("echo x > {s}/made && {probe} unlink {s}/made/; test -e {s}/made && echo KEPT"),
    );
    assert!(r.stdout.contains("ERR 20"), "{r:?}");
    assert!(r.stdout.contains("KEPT"), "{r:?}");
    // RESOLVE_BENEATH with an absolute path: EXDEV, nothing created.
    let r = run_home(
        &h,
        &format!("{probe} openat2-create {s}/proj {s}/beneath beneath"),
    );
    assert!(r.stdout.starts_with("ERR 18"), "{r:?}");
    assert!(
        !exists(&h.join("beneath")),
        "created through RESOLVE_BENEATH"
    );
    // RESOLVE_IN_ROOT at proj: the absolute path is taken inside proj
    // (where its directories do not exist), never as the home's entry.
    let inside = format!("{s}/inroot");
    let r = run_home(
        &h,
        &format!("{probe} openat2-create {s}/proj {inside} in-root"),
    );
    assert!(r.stdout.starts_with("ERR 2 "), "{r:?}");
    assert!(
        !exists(&h.join("inroot")),
        "created outside the caller's root"
    );
    // The same calls unsandboxed give the same errors.
    let scratch = Scratch::new();
    std::fs::create_dir(scratch.join("d")).unwrap();
    std::fs::write(scratch.join("f"), "x").unwrap();
    let u = unsandboxed(&["unlink", &format!("{}/f/", scratch.s())]);
    assert!(u.stdout.starts_with("ERR 20"), "{u:?}");
    let abs = format!("{}/x", scratch.s());
    let u = unsandboxed(&[
        "openat2-create",
        &scratch.join("d").display().to_string(),
        &abs,
        "beneath",
    ]);
    assert!(u.stdout.starts_with("ERR 18"), "{u:?}");
    let u = unsandboxed(&[
        "openat2-create",
        &scratch.join("d").display().to_string(),
        &abs,
        "in-root",
    ]);
    assert!(u.stdout.starts_with("ERR 2 "), "{u:?}");
}

/// The broker's own domain reaches the protected children of an expanded
/// directory; its metadata handlers must still refuse them.
#[test]
fn metadata_changes_of_protected_children_are_refused() {
    let h = home();
    let s = h.s();
    let before = std::fs::metadata(h.join(".ssh/id_canary")).unwrap();
    let r = run_home(
        &h,
        &format!(
            "chmod 777 {s}/.ssh/id_canary && echo LEAK-chmod; \
             touch -d 2001-01-01 {s}/.ssh/id_canary && echo LEAK-touch; \
             chmod 777 {s}/.ssh && echo LEAK-chmod-dir; true"
        ),
    );
    assert!(!r.stdout.contains("LEAK"), "{r:?}");
    let after = std::fs::metadata(h.join(".ssh/id_canary")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(before.mode(), after.mode());
    assert_eq!(before.mtime(), after.mtime());
    assert_ne!(
        std::fs::metadata(h.join(".ssh")).unwrap().mode() & 0o777,
        0o777
    );
}

/// A served removal with its path raced: a second thread flips the buffer
/// between a file the broker created and the protected key (same length).
/// Without a sandbox the race removes the key; inside, never.
#[test]
fn unlink_path_race_never_removes_a_protected_file() {
    const NAME: &str = "made-by-agent1"; // as long as .ssh/id_canary
    let h = home();
    let allowed = h.join(NAME).display().to_string();
    let protected = h.join(".ssh/id_canary");
    let p = protected.display().to_string();
    assert_eq!(allowed.len(), p.len());
    let c = unsandboxed(&["race-parent-path", "unlink", &allowed, &p, "1"]);
    assert!(c.is_ok(), "{c:?}");
    assert!(!exists(&protected), "the unsandboxed race removes the key");
    std::fs::write(&protected, "SECRET-KEY").unwrap();
    let _ = std::fs::remove_file(&allowed);
    let probe = probe_bin().display().to_string();
    let r = run_home(
        &h,
        &format!("{probe} race-parent-path unlink {allowed} {p} {RACE_SECS}"),
    );
    println!("unlink path race: {}", r.stdout.trim());
    assert!(r.is_ok(), "{r:?}");
    assert!(field(&r, "tries") >= MIN_TRIES, "the race ran");
    assert!(
        field(&r, "created") > 0,
        "removals of what the agent made succeed"
    );
    assert_eq!(
        std::fs::read_to_string(&protected).unwrap(),
        "SECRET-KEY",
        "the protected key was never removed"
    );
}

/// The home granted through a symlink to it, spelt with a trailing `/` or
/// `/.` (as shell completion writes a directory): the grant is the home
/// itself, expanded around `~/.ssh` like any other spelling — never a rule
/// on the link's name that the protected paths are not found under.
#[test]
fn a_symlinked_home_granted_with_a_trailing_slash_keeps_ssh_protected() {
    let h = home();
    let links = Scratch::new();
    let link = links.join("home-link");
    std::os::unix::fs::symlink(&h.path, &link).unwrap();
    let key = h.join(".ssh/id_canary").display().to_string();
    for spelt in [
        format!("{}/", link.display()),
        format!("{}/.", link.display()),
    ] {
        let r = sh_in(
            "run",
            &h,
            &["--silent", "--allow", &spelt],
            &format!(
                "cat {key}; echo PWNED >> {key}; chmod 666 {key}; ls {}",
                h.s()
            ),
        );
        assert!(!r.stdout.contains("SECRET-KEY"), "{spelt}: {r:?}");
        assert!(
            r.stdout.contains("notes"),
            "{spelt}: the home is granted: {r:?}"
        );
        assert_eq!(
            std::fs::read_to_string(h.join(".ssh/id_canary")).unwrap(),
            "SECRET-KEY",
            "{spelt}"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(h.join(".ssh/id_canary"))
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(mode & 0o777, 0o666, "{spelt}");
    }
}

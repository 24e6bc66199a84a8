//! The broker's seccomp notifications: metadata changes Landlock does not
//! cover (chmod, chown, utimes, xattrs) happen only inside write grants,
//! performed by the broker on the object it resolved; outside they fail
//! and the file is unchanged, observed from outside.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, Ran, Scratch};

fn shell(flags: &[&str], script: &str) -> Ran {
    nono_e2e::run_sh(flags, &[], script)
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn mtime(p: &std::path::Path) -> i64 {
    std::fs::metadata(p).unwrap().mtime()
}

#[test]
fn chmod_and_touch_outside_the_write_grants_fail_and_change_nothing() {
    let dir = Scratch::new();
    let (w, outside) = (dir.join("w"), dir.join("outside.txt"));
    std::fs::create_dir(&w).unwrap();
    let inside = w.join("inside.txt");
    for f in [&inside, &outside] {
        std::fs::write(f, "x").unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    // A symlink inside the grant pointing outside must not reach it either.
    std::os::unix::fs::symlink(&outside, w.join("link")).unwrap();
    let before = mtime(&outside);
    let (o, i, l) = (
        outside.display().to_string(),
        inside.display().to_string(),
        w.join("link").display().to_string(),
    );
    let script = format!(
        "chmod 0777 {o}; echo a=$?; touch -d 2001-01-01 {o}; echo b=$?; chmod 0777 {l}; echo c=$?; \
         python3 -c 'import os,sys; os.utime(sys.argv[1], (1,1))' {o} 2>/dev/null; echo d=$?; \
         python3 -c 'import os,sys; os.setxattr(sys.argv[1], \"user.nono\", b\"1\")' {o} 2>/dev/null; echo e=$?; \
         chmod 0600 {i}; echo f=$?; touch -d 2001-01-01 {i}; echo g=$?"
    );
    let r = shell(
        &["--allow", &w.display().to_string(), "--read", &dir.s()],
        &script,
    );
    for denied in ["a=1", "b=1", "c=1", "d=1", "e=1"] {
        assert!(r.stdout.contains(denied), "{denied}: {r:?}");
    }
    assert!(
        r.stdout.contains("f=0") && r.stdout.contains("g=0"),
        "{r:?}"
    );
    assert_eq!(mode(&outside), 0o640, "outside file mode unchanged");
    assert_eq!(mtime(&outside), before, "outside file time unchanged");
    assert!(xattr_absent(&outside));
    assert_eq!(
        mode(&inside),
        0o600,
        "inside the grant the broker performed it"
    );
    assert!(
        mtime(&inside) < 1_000_000_000 + 86_400 * 366,
        "inside time set to 2001"
    );
    assert!(r.stderr.contains("denied chmod on"), "{}", r.stderr);
}

fn xattr_absent(p: &std::path::Path) -> bool {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", "import os,sys; print(os.listxattr(sys.argv[1]))"])
        .arg(p)
        .output()
        .unwrap();
    !String::from_utf8_lossy(&out.stdout).contains("user.nono")
}

#[test]
fn chown_by_descriptor_outside_the_grants_is_refused() {
    let dir = Scratch::new();
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    let uid = std::fs::metadata(&f).unwrap().uid();
    // fchown to our own uid is a no-op the kernel would allow; the broker
    // must still refuse it outside the write grants.
    let script = format!(
        "python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fchown(fd, {uid}, -1)' {} 2>/dev/null; echo rc=$?",
        f.display()
    );
    let r = shell(&["--read", &dir.s()], &script);
    assert!(r.stdout.contains("rc=1"), "{r:?}");
    let r = shell(&["--allow", &dir.s()], &script);
    assert!(r.stdout.contains("rc=0"), "{r:?}");
}

fn unix_listener(path: &std::path::Path) -> std::os::unix::net::UnixListener {
    let l = std::os::unix::net::UnixListener::bind(path).unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

fn got_connection(l: &std::os::unix::net::UnixListener) -> bool {
    std::thread::sleep(std::time::Duration::from_millis(50));
    l.accept().is_ok()
}

const CLIENT: &str = r#"
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(p); s.send(b"hi"); print("ok", p)
    except OSError as e:
        print("refused", p, e.errno)
"#;

#[test]
fn unix_sockets_outside_the_grants_receive_nothing_and_granted_ones_work() {
    let dir = Scratch::new();
    let other = Scratch::new();
    let tmp_sock = std::path::PathBuf::from(format!("/tmp/nono-e2e-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&tmp_sock);
    let (granted, sibling, deep) = (
        dir.join("granted.sock"),
        dir.join("sibling.sock"),
        other.join("x.sock"),
    );
    let ls: Vec<_> = [&tmp_sock, &granted, &sibling, &deep]
        .iter()
        .map(|p| unix_listener(p))
        .collect();
    let script = dir.join("client.py");
    std::fs::write(&script, CLIENT).unwrap();
    let args = [&tmp_sock, &granted, &sibling, &deep]
        .map(|p| p.display().to_string())
        .join(" ");
    let sp = script.display().to_string();
    // No grant: nothing arrives anywhere, even with the directories readable-writable.
    let r = shell(
        &["--allow", &dir.s(), "--allow", &other.s()],
        &format!("/usr/bin/python3 {sp} {args}"),
    );
    assert!(!r.stdout.contains("ok "), "{r:?}");
    for l in &ls {
        assert!(!got_connection(l), "{r:?}");
    }
    // One socket granted: only it works.
    let g = granted.display().to_string();
    let r = shell(
        &["--read", &dir.s(), "--allow-unix-socket", &g],
        &format!("/usr/bin/python3 {sp} {args}"),
    );
    assert!(r.stdout.contains(&format!("ok {g}")), "{r:?}");
    assert_eq!(r.stdout.matches("ok ").count(), 1, "{r:?}");
    let hits: Vec<bool> = ls.iter().map(got_connection).collect();
    assert_eq!(hits, vec![false, true, false, false]);
    // A directory grant reaches its direct children only.
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let nested = unix_listener(&sub.join("n.sock"));
    let r = shell(
        &["--read", &dir.s(), "--allow-unix-socket-dir", &dir.s()],
        &format!(
            "/usr/bin/python3 {sp} {} {}",
            sibling.display(),
            sub.join("n.sock").display()
        ),
    );
    assert!(
        r.stdout.contains("ok ") && r.stdout.contains("refused"),
        "{r:?}"
    );
    assert!(got_connection(&ls[2]));
    assert!(!got_connection(&nested));
    let _ = std::fs::remove_file(&tmp_sock);
}

#[test]
fn datagrams_to_paths_outside_are_not_delivered() {
    let dir = Scratch::new();
    let (out, ok) = (dir.join("out.dgram"), dir.join("ok.dgram"));
    let mk = |p: &std::path::Path| {
        let s = std::os::unix::net::UnixDatagram::bind(p).unwrap();
        s.set_nonblocking(true).unwrap();
        s
    };
    let (so, sk) = (mk(&out), mk(&ok));
    let script = format!(
        r#"
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for p in ["{o}", "{k}"]:
    try:
        s.sendto(b"d", p); print("sent", p)
    except OSError as e:
        print("refused", p, e.errno)
m = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    m.sendmsg([b"m"], [], 0, "{o}"); print("msg sent")
except OSError as e:
    print("msg refused", e.errno)
"#,
        o = out.display(),
        k = ok.display()
    );
    let py = dir.join("dg.py");
    std::fs::write(&py, script).unwrap();
    let r = shell(
        &[
            "--read",
            &dir.s(),
            "--allow-unix-socket",
            &ok.display().to_string(),
        ],
        &format!("/usr/bin/python3 {}", py.display()),
    );
    assert!(
        r.stdout.contains(&format!("refused {} 13", out.display())),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!("sent {}", ok.display())),
        "{r:?}"
    );
    assert!(r.stdout.contains("msg refused 13"), "{r:?}");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut b = [0u8; 4];
    assert!(
        so.recv(&mut b).is_err(),
        "nothing may reach the socket outside"
    );
    assert_eq!(sk.recv(&mut b).unwrap(), 1);
}

#[test]
fn unix_socket_bind_only_where_granted() {
    let dir = Scratch::new();
    let (want, other) = (dir.join("mine.sock"), dir.join("other.sock"));
    let script = format!(
        r#"
import socket
for p in ["{w}", "{o}"]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(p); print("bound", p)
    except OSError as e:
        print("refused", p, e.errno)
"#,
        w = want.display(),
        o = other.display()
    );
    let py = dir.join("b.py");
    std::fs::write(&py, script).unwrap();
    let r = shell(
        &[
            "--read",
            &dir.s(),
            "--allow-unix-socket-bind",
            &want.display().to_string(),
        ],
        &format!("/usr/bin/python3 {}", py.display()),
    );
    assert!(
        r.stdout.contains(&format!("bound {}", want.display())),
        "{r:?}"
    );
    assert!(r.stdout.contains("refused"), "{r:?}");
    assert!(want.exists() && !other.exists());
}

/// A fake home with a protected key (first byte 'P') for elevation tests.
fn home_with_key(dir: &Scratch) -> std::path::PathBuf {
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "PROTECTED-KEY").unwrap();
    home
}

fn decisions(dir: &Scratch, text: &str) -> String {
    let f = dir.join("decisions");
    std::fs::write(&f, text).unwrap();
    f.display().to_string()
}

#[test]
fn elevation_approves_outside_files_but_never_protected_ones_or_symlinks_to_them() {
    let dir = Scratch::new();
    let home = home_with_key(&dir);
    let (g, outside) = (dir.join("g"), dir.join("outside.txt"));
    std::fs::create_dir(&g).unwrap();
    std::fs::write(&outside, "outside-data").unwrap();
    std::os::unix::fs::symlink(home.join(".ssh/id_rsa"), g.join("link")).unwrap();
    let approve_all = decisions(&dir, "# approve everything\napprove /**\n");
    let script = format!(
        "cat {o}; echo \" a=$?\"; cat {g}/link; echo b=$?; cat {h}/.ssh/id_rsa; echo c=$?",
        o = outside.display(),
        g = g.display(),
        h = home.display()
    );
    let run = |decide: &str| {
        let o = Command::new(nono_bin())
            .args([
                "run",
                "--allow",
                &g.display().to_string(),
                "--capability-elevation",
                "--elevation-decisions",
                decide,
            ])
            .args(["--", "/bin/sh", "-c", &script])
            .env("HOME", &home)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (out, err) = run(&approve_all);
    assert!(
        out.contains("outside-data") && out.contains("a=0"),
        "{out} {err}"
    );
    assert!(out.contains("b=1") && out.contains("c=1"), "{out} {err}");
    assert!(!out.contains("PROTECTED"), "{out}");
    assert!(err.contains("protected path, never granted"), "{err}");
    // Denied by the decisions file: nothing is opened.
    let (out, err) = run(&decisions(
        &dir,
        &format!("deny {}\napprove /**\n", outside.display()),
    ));
    assert!(
        out.contains("a=1") && !out.contains("outside-data"),
        "{out} {err}"
    );
    assert!(err.contains("not approved"), "{err}");
}

#[test]
fn a_racing_path_buffer_never_obtains_the_protected_file() {
    let dir = Scratch::new();
    let home = home_with_key(&dir);
    let g = dir.join("g");
    std::fs::create_dir(&g).unwrap();
    let allowed = g.join("allowed.txt");
    std::fs::write(&allowed, "ALLOWED").unwrap();
    let approve_all = decisions(&dir, "approve /**\n");
    let mut cmd = nono_e2e::sandboxed_cmd(
        "run",
        &[
            "--allow",
            &g.display().to_string(),
            "--capability-elevation",
            "--elevation-decisions",
            &approve_all,
        ],
        &[
            "race-open",
            &allowed.display().to_string(),
            &home.join(".ssh/id_rsa").display().to_string(),
            "10",
        ],
    );
    let o = cmd
        .env("HOME", &home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let field = |k: &str| -> u64 {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k} in {out}"))
    };
    assert_eq!(field("leaked"), 0, "{out}");
    assert!(
        field("opened") > 0,
        "the allowed file must open sometimes: {out}"
    );
    assert!(
        field("tries") > field("opened"),
        "the race must hit the protected path: {out}"
    );
}

/// What the driver does once nono's question is on the terminal.
enum OnQuestion<'a> {
    /// Type this line as the answer.
    Answer(&'a str),
    /// Create this file (and answer nothing).
    Touch(&'a std::path::Path),
}

/// Run `script` under `nono run --allow g --capability-elevation` on a
/// pseudo-terminal, act once its question appears, and return everything
/// the terminal showed, then `exit=N` (and `still running` first when
/// nono had not ended within the driver's bounds and was killed).
fn on_terminal(g: &std::path::Path, script: &str, act: OnQuestion<'_>) -> String {
    let driver = r#"
import os, pty, select, signal, sys, time
nono, g, script, action, arg = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    os.execv(nono, [nono, "run", "--allow", g, "--capability-elevation", "--",
                    "/bin/sh", "-c", script])
out, acted, end = b"", False, time.time() + 30
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.5)
    if fd in r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
        if b"Allow? [y/N]" in out and not acted:
            if action == "answer":
                os.write(fd, arg.encode() + b"\n")
            else:
                open(arg, "w").close()
            acted = True
# The terminal closes as nono exits: give it a moment to be reaped.
wait_end = time.time() + 10
done, status = os.waitpid(pid, os.WNOHANG)
while done == 0 and time.time() < wait_end:
    time.sleep(0.05)
    done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write("still running\n")
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.write("\nexit=%d\n" % os.waitstatus_to_exitcode(status))
"#;
    let (action, arg) = match act {
        OnQuestion::Answer(a) => ("answer", a.to_string()),
        OnQuestion::Touch(p) => ("touch", p.display().to_string()),
    };
    let o = Command::new("/usr/bin/python3")
        .args(["-c", driver])
        .arg(nono_bin())
        .arg(g)
        .arg(script)
        .arg(action)
        .arg(arg)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn elevation_prompts_on_the_terminal_with_the_canonical_path() {
    let dir = Scratch::new();
    let g = dir.join("g");
    std::fs::create_dir(&g).unwrap();
    let outside = dir.join("outside.txt");
    std::fs::write(&outside, "outside-data").unwrap();
    // Asked for through a path with `..`: the prompt shows the real one.
    let via = g.join("../outside.txt");
    let cat = format!("cat {}; echo rc=$?", via.display());
    let yes = on_terminal(&g, &cat, OnQuestion::Answer("y"));
    assert!(
        yes.contains(&format!(
            "asks to open {} for read. Allow?",
            outside.display()
        )),
        "{yes}"
    );
    assert!(
        yes.contains("outside-data") && yes.contains("rc=0"),
        "{yes}"
    );
    let no = on_terminal(&g, &cat, OnQuestion::Answer("n"));
    assert!(
        no.contains("Allow?") && !no.contains("outside-data") && no.contains("rc=1"),
        "{no}"
    );
}

/// The command ends while nono asks about one of its opens: the question
/// is dropped at once (denied) and nono exits with the command's status,
/// not after the prompt's timeout and not as a broker failure.
#[test]
fn an_open_question_is_dropped_when_the_command_ends() {
    let dir = Scratch::new();
    let g = dir.join("g");
    std::fs::create_dir(&g).unwrap();
    let outside = dir.join("outside.txt");
    std::fs::write(&outside, "outside-data").unwrap();
    // The command waits for the driver's `go` (created once the question
    // is on the terminal), then kills itself; its `cat` is still waiting.
    // Shell builtins only while it waits: its other brokered calls (a
    // `sleep`'s opens) would queue behind the open question.
    let script = format!(
        "cat {} & while [ ! -e {}/go ]; do :; done; kill -9 $$",
        outside.display(),
        g.display()
    );
    let out = on_terminal(&g, &script, OnQuestion::Touch(&g.join("go")));
    assert!(out.contains("Allow? [y/N]"), "{out}");
    assert!(
        out.contains("(the command ended or was stopped: denied)"),
        "{out}"
    );
    assert!(out.contains("exit=137"), "{out}");
    assert!(
        !out.contains("still running")
            && !out.contains("outside-data")
            && !out.contains("ended unexpectedly"),
        "{out}"
    );
}

//! Neighbouring holes in the broker's boundary, tried from inside real
//! sandboxes and observed from outside: `listen()` autobinding a random
//! TCP port past Landlock's bind rule, inotify watches on protected
//! directories, and a session surviving Ctrl-Z / fg (SIGTSTP, SIGCONT).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nono_e2e::{nono_bin, Scratch};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const LISTENER: &str = r#"
import socket, sys
port = int(sys.argv[1])
s = socket.socket()
try:
    s.listen(1)
    print("autobind listening on", s.getsockname()[1], flush=True)
except OSError as e:
    print("autobind refused", e.errno, flush=True)
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(1)
print("bound listening", flush=True)
t.settimeout(10)
c, _ = t.accept()
print("accepted", c.recv(16).decode(), flush=True)
"#;

#[test]
fn listen_on_an_unbound_tcp_socket_is_refused_where_tcp_is_restricted() {
    let port = free_port();
    let child = Command::new(nono_bin())
        .args(["run", "--block-net", "--open-port", &port.to_string()])
        .args(["--", "/usr/bin/python3", "-c", LISTENER, &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The granted port is reachable from outside once it listens.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = false;
    while Instant::now() < deadline && !sent {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            use std::io::Write;
            sent = s.write_all(b"hello").is_ok();
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("autobind refused {}", libc::EACCES)),
        "{stdout} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sent && stdout.contains("accepted hello"),
        "positive control: {stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
}

const WATCHER: &str = r#"
import ctypes, os, select, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
for d in sys.argv[1:]:
    wd = libc.inotify_add_watch(fd, d.encode(), 0x100)  # IN_CREATE
    print("watch", d, wd, ctypes.get_errno(), flush=True)
print("ready", flush=True)
select.select([fd], [], [], 3)
try:
    print("events", os.read(fd, 4096), flush=True)
except BlockingIOError:
    print("events none", flush=True)
"#;

#[test]
fn inotify_reveals_nothing_in_a_protected_directory() {
    let home = Scratch::new();
    let (ssh, proj) = (home.join(".ssh"), home.join("project"));
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::create_dir_all(&proj).unwrap();
    let mut child = Command::new(nono_bin())
        .env("HOME", home.s())
        .env_remove("XDG_CONFIG_HOME")
        .args(["run", "--allow", &home.s(), "--"])
        .args(["/usr/bin/python3", "-c", WATCHER])
        .arg(&ssh)
        .arg(&proj)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Wait for "ready", then create files the watcher must not learn of.
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&seen).contains("ready") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "watcher ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    std::fs::write(ssh.join("id_canary_key"), "x").unwrap();
    std::fs::write(proj.join("visible_file"), "x").unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    let out = String::from_utf8_lossy(&seen).into_owned();
    let status = child.wait().unwrap();
    assert!(status.success(), "{out}");
    let ssh_line = format!("watch {} -1 {}", ssh.display(), libc::EACCES);
    assert!(out.contains(&ssh_line), "{out}");
    assert!(!out.contains("id_canary_key"), "{out}");
    // Positive control: the granted directory can be watched.
    assert!(out.contains("visible_file"), "{out}");
}

#[test]
fn a_session_survives_ctrl_z_and_fg() {
    let mut child = Command::new(nono_bin())
        .args(["run", "--", "/bin/sh", "-c", "sleep 1; echo finished"])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    std::thread::sleep(Duration::from_millis(300));
    // What the terminal does on Ctrl-Z, then what the shell does on fg.
    nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTSTP).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGSTOP);
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGCONT).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success() && out.contains("finished"),
        "{status:?} {out} {err}"
    );
    assert!(!err.contains("ended unexpectedly"), "{err}");
}

const SIGNALLED_CONNECTS: &str = r#"
import signal, socket, sys
hits = 0
def tick(*_):
    global hits
    hits += 1
signal.signal(signal.SIGALRM, tick)
signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
errors = {}
for _ in range(int(sys.argv[2])):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
    except OSError as e:
        errors[e.errno] = errors.get(e.errno, 0) + 1
    s.close()
signal.setitimer(signal.ITIMER_REAL, 0, 0)
print("signals", hits, "errors", errors, flush=True)
"#;

/// A handled signal arriving while the broker performs a connect must not
/// restart the call as a second one (which would report EALREADY or
/// EISCONN): the agent waits killably once the broker holds the call.
#[test]
fn handled_signals_do_not_repeat_a_brokered_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let n = 1500;
    // Accepts what arrives; connects that overflowed its queue are simply
    // dropped by the kernel, so the thread is left running, not joined.
    std::thread::spawn(move || {
        for _ in 0..n {
            if listener.accept().is_err() {
                break;
            }
        }
    });
    let out = Command::new(nono_bin())
        .args(["run", "--", "/usr/bin/python3", "-c", SIGNALLED_CONNECTS])
        .args([port.to_string(), n.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("errors {}"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signals: u64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(signals > 100, "the timer really interrupted: {stdout}");
}

//! Process isolation: the agent cannot signal, trace, or read the memory,
//! environment or keyrings of processes outside its sandbox, nor inject
//! keystrokes into its terminal. Each denial is checked from outside.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nono_e2e::{canary, nono_bin, probe_bin, run, unsandboxed, ENOSYS, EPERM};

fn outside_sleeper(env: &[(&str, &str)]) -> Child {
    Command::new("sleep")
        .arg("60")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn alive(c: &mut Child) -> bool {
    c.try_wait().unwrap().is_none()
}

#[test]
fn cannot_signal_outside_processes() {
    let mut victim = outside_sleeper(&[]);
    let pid = victim.id().to_string();
    // In the session's own PID namespace a process outside does not exist
    // for the command (ESRCH); Landlock's signal scope (EPERM) is the line
    // behind it, tested against the supervisor, which the command sees.
    for sig in ["15", "9"] {
        let r = run(&[], &["kill", &pid, sig]);
        assert!(r.is_err(Some(libc::ESRCH)), "{r:?}");
    }
    std::thread::sleep(Duration::from_millis(50));
    assert!(alive(&mut victim), "victim must survive");
    victim.kill().unwrap();
    victim.wait().unwrap();
}

#[test]
fn cannot_signal_its_own_supervisor() {
    // The probe sends SIGKILL to its parent, the nono supervisor; nono must
    // survive and report the probe's own status.
    let out = Command::new(nono_bin())
        .args(["run", "--read-file"])
        .arg(probe_bin())
        .args(["--", "sh", "-c"])
        .arg(format!(
            "{} kill $PPID 9; echo after=$?",
            probe_bin().display()
        ))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ERR 1"), "{stdout}");
    assert!(stdout.contains("after=10"), "{stdout}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn cannot_ptrace_outside_processes() {
    let mut victim = outside_sleeper(&[]);
    let pid = victim.id();
    let r = run(&[], &["ptrace-attach", &pid.to_string()]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    assert_eq!(nono_e2e::procfs::status_field(pid, "TracerPid:"), "0");
    assert!(alive(&mut victim));
    victim.kill().unwrap();
    victim.wait().unwrap();
}

#[test]
fn cannot_read_environ_or_memory_of_outside_processes() {
    let secret = canary("environ");
    let mut victim = outside_sleeper(&[("NONO_E2E_SECRET", &secret)]);
    let pid = victim.id();
    std::thread::sleep(Duration::from_millis(50));
    let environ = format!("/proc/{pid}/environ");
    // Positive control: outside the sandbox the same read shows the secret.
    assert!(unsandboxed(&["read", &environ]).stdout.contains(&secret));

    let r = run(&[], &["read", &environ]);
    assert!(r.is_err(None) && !r.stdout.contains(&secret), "{r:?}");
    for f in ["mem", "maps", "auxv"] {
        let r = run(&[], &["read", &format!("/proc/{pid}/{f}")]);
        assert!(r.is_err(None), "{f}: {r:?}");
    }
    let r = run(&[], &["vm-read", &pid.to_string(), "0x400000"]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    victim.kill().unwrap();
    victim.wait().unwrap();
}

fn add_user_key(desc: &str, payload: &str) -> Option<i64> {
    let ty = c"user";
    let d = std::ffi::CString::new(desc).unwrap();
    const KEY_SPEC_USER_KEYRING: i64 = -4;
    // SAFETY: valid NUL-terminated strings and a payload buffer of the given length.
    let id = unsafe {
        libc::syscall(
            libc::SYS_add_key,
            ty.as_ptr(),
            d.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            KEY_SPEC_USER_KEYRING,
        )
    };
    (id >= 0).then_some(id)
}

#[test]
fn kernel_keyring_is_unreachable() {
    let desc = format!("nono-e2e-{}", std::process::id());
    let secret = canary("keyring");
    let Some(_id) = add_user_key(&desc, &secret) else {
        panic!(
            "cannot add a key to the user keyring: {}",
            std::io::Error::last_os_error()
        );
    };
    let control = unsandboxed(&["keyctl-read", &desc]);
    let r = run(&[], &["keyctl-read", &desc]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    assert!(!r.stdout.contains(&secret));
    // The control shows the key is readable outside when the kernel lets the
    // probe possess it; either way the sandboxed read must not show it.
    if control.is_ok() {
        assert!(control.stdout.contains(&secret));
    }
}

fn open_pty() -> (OwnedFd, OwnedFd) {
    let p = nix::pty::openpty(None, None).unwrap();
    let mut t = nix::sys::termios::tcgetattr(&p.slave).unwrap();
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(&p.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
    (p.master, p.slave)
}

/// Run `cmd` with the pty slave as its controlling terminal and stdin, then
/// return whatever input is queued on the terminal afterwards.
fn injected_after(mut cmd: Command) -> String {
    let (_master, slave) = open_pty();
    let fd = slave.as_raw_fd();
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if libc::ioctl(fd, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.status().unwrap();
    nix::fcntl::fcntl(
        &slave,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut buf = [0u8; 256];
    let n = nix::unistd::read(&slave, &mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn tiocsti_cannot_inject_into_the_terminal() {
    let probe = probe_bin();
    let mut control = Command::new(&probe);
    control.args(["tiocsti", "CONTROL"]);
    let control_seen = injected_after(control);

    let mut cmd = Command::new(nono_bin());
    cmd.args(["run", "--read-file"])
        .arg(&probe)
        .arg("--")
        .arg(&probe)
        .args(["tiocsti", "PWNED"]);
    let seen = injected_after(cmd);
    assert!(!seen.contains('P'), "terminal input queue got {seen:?}");
    // Where the kernel allows TIOCSTI at all, the control must have worked.
    let legacy = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").unwrap_or_default();
    if legacy.trim() == "1" {
        assert_eq!(control_seen, "CONTROL");
    }
}

#[test]
fn tiocsti_is_refused_by_the_filter() {
    // Without a terminal the kernel would refuse with EIO/ENOTTY; the filter
    // answers first with EPERM.
    let r = run(&[], &["tiocsti", "x"]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
}

#[test]
fn kernel_surface_syscalls_are_closed() {
    for (action, errno) in [
        ("unshare-user", EPERM),
        ("clone-user", EPERM),
        ("io-uring", ENOSYS),
        ("bpf", EPERM),
        ("perf", EPERM),
        ("userfaultfd", EPERM),
        ("keyctl-read", EPERM),
    ] {
        let r = run(&[], &[action, "x"]);
        assert!(r.is_err(Some(errno)), "{action}: {r:?}");
    }
    let r = run(&[], &["mount", "/proc"]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    // open_tree_attr (Linux 6.15), the mount API's newest entry point: an
    // O_PATH-like open unsandboxed where the kernel has it, EPERM inside.
    let r = run(&[], &["open-tree-attr", "/"]);
    assert!(r.is_err(Some(EPERM)), "open_tree_attr: {r:?}");
    let control = unsandboxed(&["open-tree-attr", "/"]);
    assert!(
        control.is_ok() || control.is_err(Some(ENOSYS)),
        "{control:?}"
    );
    // Positive control: unprivileged user namespaces work outside here.
    assert!(unsandboxed(&["unshare-user"]).is_ok());
}

#[test]
fn status_shows_no_new_privs_seccomp_and_no_capabilities() {
    for mode in ["run", "wrap"] {
        let r = nono_e2e::sandboxed(mode, &[], &["status"]);
        assert_eq!(r.code, Some(0), "{r:?}");
        let field = |k: &str| {
            r.stdout
                .lines()
                .find(|l| l.starts_with(k))
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(field("NoNewPrivs:"), "1", "{mode}");
        assert_eq!(field("Seccomp:"), "2", "{mode}");
        for set in ["CapEff:", "CapPrm:", "CapInh:", "CapAmb:"] {
            assert_eq!(field(set), "0000000000000000", "{mode} {set}");
        }
        if nono_e2e::is_root() {
            assert_eq!(
                field("CapBnd:"),
                "0000000000000000",
                "{mode}: root drops the bounding set"
            );
        }
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn syscalls_through_a_foreign_abi_kill_the_process() {
    // Positive control: outside the sandbox the i386 entry point answers.
    let control = unsandboxed(&["foreign-abi", "i386"]);
    assert!(control.is_ok(), "{control:?}");
    for abi in ["i386", "x32"] {
        let r = run(&[], &["foreign-abi", abi]);
        // SIGSYS (31): the filter's bad-architecture action kills the process.
        assert_eq!(r.code, Some(128 + libc::SIGSYS), "{abi}: {r:?}");
        assert!(!r.stdout.contains("OK"), "{abi}: {r:?}");
    }
}

#[test]
fn other_terminals_of_the_user_are_unreachable() {
    // Another terminal of the same user (as if a second shell were open).
    let (_master, other) = open_pty();
    let other_path = nix::unistd::ttyname(&other).unwrap();
    let p = other_path.to_str().unwrap();
    // Positive control: outside the sandbox the probe can write to it.
    assert!(unsandboxed(&["write", p, "x"]).is_ok());
    let r = run(&[], &["write", p, "INJECT"]);
    assert!(r.is_err(Some(libc::EACCES)), "{r:?}");
    let r = run(&[], &["read", p]);
    assert!(r.is_err(Some(libc::EACCES)), "{r:?}");
}

#[test]
fn own_terminal_stays_usable() {
    let (_master, slave) = open_pty();
    let own = nix::unistd::ttyname(&slave).unwrap();
    let mut cmd = nono_e2e::sandboxed_cmd("run", &[], &["write", own.to_str().unwrap(), "hello"]);
    let out = cmd
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("OK"),
        "{out:?}"
    );
}

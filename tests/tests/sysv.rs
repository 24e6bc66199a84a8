//! SysV IPC of processes outside the sandbox: the test creates a shared
//! memory segment and a message queue holding a canary, and the probe
//! inside looks them up by key. Root (and proxy mode, inside its user
//! namespace) gets a private IPC namespace: the key is not found there.
//! Otherwise the calls are refused. Either way the canary never arrives;
//! a profile's `security.allow_sysv_ipc` opts back in, with a warning.

use std::sync::atomic::{AtomicI32, Ordering};

use std::process::{Command, Stdio};

use nono_e2e::{
    canary, is_root, nono, run, sandboxed, sandboxed_cmd, unsandboxed, Ran, Scratch, EPERM,
};

const ENOENT: i32 = libc::ENOENT;
const NO_NAMESPACE: &str = "cannot create a private IPC namespace";
const SHARED_WARNING: &str = "the agent can reach SysV IPC objects of other processes of this user";

/// A key no other test (or test process) uses.
fn fresh_key() -> libc::key_t {
    static N: AtomicI32 = AtomicI32::new(1);
    let pid = (std::process::id() & 0x7_ffff) as i32;
    0x4e00_0000 ^ (pid << 8) ^ N.fetch_add(1, Ordering::Relaxed)
}

/// A shared memory segment of this (outside) process, removed on drop.
struct Segment {
    id: i32,
    key: String,
}

impl Segment {
    fn with(text: &str) -> Segment {
        let key = fresh_key();
        let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;
        // SAFETY: shmget takes integers only.
        let id = unsafe { libc::shmget(key, 4096, flags) };
        assert!(id >= 0, "shmget: {}", std::io::Error::last_os_error());
        // SAFETY: attach read-write wherever the kernel chooses.
        let at = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        assert!(
            at as isize != -1,
            "shmat: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the segment is 4096 bytes and text is shorter; then detach it.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), at.cast::<u8>(), text.len());
            libc::shmdt(at);
        }
        Segment {
            id,
            key: key.to_string(),
        }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID takes no buffer.
        unsafe { libc::shmctl(self.id, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

/// A message queue of this process holding one message, removed on drop.
struct Queue {
    id: i32,
    key: String,
}

impl Queue {
    fn with(text: &str) -> Queue {
        let key = fresh_key();
        // SAFETY: msgget takes integers only.
        let id = unsafe { libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
        assert!(id >= 0, "msgget: {}", std::io::Error::last_os_error());
        let mut msg = 1i64.to_ne_bytes().to_vec();
        msg.extend_from_slice(text.as_bytes());
        // SAFETY: msg is a long mtype followed by text.len() bytes.
        let r = unsafe { libc::msgsnd(id, msg.as_ptr().cast(), text.len(), 0) };
        assert_eq!(r, 0, "msgsnd: {}", std::io::Error::last_os_error());
        Queue {
            id,
            key: key.to_string(),
        }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID takes no buffer.
        unsafe { libc::msgctl(self.id, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

/// The canary did not arrive, and the mechanism is the one expected:
/// a namespace where the key does not exist, or a refusal.
fn assert_unreachable(what: &str, r: &Ran, canary: &str, namespace: bool) {
    assert!(
        !r.stdout.contains(canary),
        "{what}: the canary arrived: {r:?}"
    );
    let errno = if namespace && !r.stderr.contains(NO_NAMESPACE) {
        ENOENT
    } else {
        EPERM
    };
    assert!(
        r.is_err(Some(errno)),
        "{what}: expected errno {errno}: {r:?}"
    );
}

#[test]
fn shared_memory_and_queues_outside_are_unreachable_in_run_and_wrap() {
    let secret = canary("sysv");
    let seg = Segment::with(&secret);
    let queue = Queue::with(&secret);
    let r = unsandboxed(&["shm-read", &seg.key]);
    assert!(r.is_ok() && r.stdout.contains(&secret), "control: {r:?}");
    for mode in ["run", "wrap"] {
        for flags in [&[][..], &["--block-net"][..]] {
            let what = format!("{mode} {flags:?}");
            let r = sandboxed(mode, flags, &["shm-read", &seg.key]);
            assert_unreachable(&format!("{what} shm"), &r, &secret, is_root());
            let r = sandboxed(mode, flags, &["msg-read", &queue.key]);
            assert_unreachable(&format!("{what} msg"), &r, &secret, is_root());
        }
    }
    // Control last: the message is still there, so nothing inside took it.
    let r = unsandboxed(&["msg-read", &queue.key]);
    assert!(r.is_ok() && r.stdout.contains(&secret), "control: {r:?}");
}

#[test]
fn proxy_mode_gets_a_private_namespace_inside_its_user_namespace() {
    let secret = canary("sysv-proxy");
    let seg = Segment::with(&secret);
    let r = run(&["--allow-domain", "allowed.test"], &["shm-read", &seg.key]);
    // Without user namespaces proxy mode falls back (and warns); then refused.
    let namespace = !r.stderr.contains("Landlock and seccomp only");
    assert_unreachable("proxy", &r, &secret, namespace);
}

/// Removes the segment `key` from this (outside) namespace on drop, in
/// case a failing build let the agent create it here.
struct RemoveOnDrop(libc::key_t);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        // SAFETY: shmget and IPC_RMID take integers only.
        unsafe {
            let id = libc::shmget(self.0, 0, 0);
            if id >= 0 {
                libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
    }
}

#[test]
fn a_private_namespace_keeps_what_the_agent_creates_inside() {
    let secret = canary("sysv-inside");
    let guard = RemoveOnDrop(fresh_key());
    let key = guard.0.to_string();
    let r = sandboxed("wrap", &[], &["shm-create", &key, &secret]);
    if is_root() && !r.stderr.contains(NO_NAMESPACE) {
        assert!(r.is_ok(), "the namespace is usable inside: {r:?}");
    } else {
        assert!(r.is_err(Some(EPERM)), "{r:?}");
    }
    let outside = unsandboxed(&["shm-read", &key]);
    assert!(
        outside.is_err(Some(ENOENT)),
        "nothing leaks out: {outside:?}"
    );
}

/// `nono MODE … -- probe ARGS` as root without CAP_SYS_ADMIN (as in a
/// container that withholds it): nono expects a namespace and cannot make one.
fn without_sys_admin(mode: &str, probe_args: &[&str]) -> Ran {
    let nono = sandboxed_cmd(mode, &[], probe_args);
    let out = Command::new("setpriv")
        .arg("--bounding-set=-sys_admin")
        .arg("--")
        .arg(nono.get_program())
        .args(nono.get_args())
        .stdin(Stdio::null())
        .output()
        .expect("spawn setpriv");
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_namespace_that_cannot_be_made_means_refusal_never_sharing() {
    if !is_root() {
        return; // unprivileged, refusal is the plan (tests above)
    }
    let secret = canary("sysv-nocap");
    let seg = Segment::with(&secret);
    // wrap cannot make one: refusal.
    let r = without_sys_admin("wrap", &["shm-read", &seg.key]);
    assert!(r.stderr.contains(NO_NAMESPACE), "wrap: {r:?}");
    assert_unreachable("wrap", &r, &secret, true);
    // run's broker is then in a user namespace of its own (for the
    // session's PID namespace), where a private IPC namespace can be made:
    // the key does not exist there.
    let r = without_sys_admin("run", &["shm-read", &seg.key]);
    assert!(!r.stderr.contains(NO_NAMESPACE), "run: {r:?}");
    assert_unreachable("run", &r, &secret, true);
}

fn sharing_profile(dir: &Scratch) -> String {
    let p = dir.join("share-ipc.json");
    std::fs::write(
        &p,
        r#"{"extends": "default", "security": {"allow_sysv_ipc": true}}"#,
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn allow_sysv_ipc_in_a_profile_shares_it_with_a_warning() {
    let dir = Scratch::new();
    let profile = sharing_profile(&dir);
    let secret = canary("sysv-shared");
    let seg = Segment::with(&secret);
    for mode in ["run", "wrap"] {
        let r = sandboxed(mode, &["--profile", &profile], &["shm-read", &seg.key]);
        assert!(r.is_ok() && r.stdout.contains(&secret), "{mode}: {r:?}");
        assert!(r.stderr.contains(SHARED_WARNING), "{mode}: {}", r.stderr);
    }
    let r = nono(&["run", "--dry-run", "--profile", &profile, "--", "/bin/true"]);
    assert!(r.stdout.contains("[ipc] SysV IPC: SHARED"), "{r:?}");
}

#[test]
fn dry_run_and_setup_say_which_mechanism_applies() {
    let r = nono(&["run", "--dry-run", "--", "/bin/true"]);
    let expected = if is_root() {
        "[ipc] SysV IPC: private IPC namespace"
    } else {
        "[ipc] SysV IPC: refused by seccomp"
    };
    assert!(r.stdout.contains(expected), "{r:?}");
    let r = nono(&["setup", "--check-only"]);
    assert!(r.stdout.contains("SysV IPC isolation"), "{r:?}");
}

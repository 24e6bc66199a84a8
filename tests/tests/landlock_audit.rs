//! The footer shows Landlock's own denial records where the kernel writes
//! them (audit on) and nono may read them (root): the file the command was
//! refused, with the flag that grants it, and a protected one as protected;
//! never another session's denials. As root the test turns the kernel's
//! audit subsystem on for its duration (and back off, if it was off);
//! unprivileged, the footer says only root can read the records.

use std::fs;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

use nix::sys::socket::{
    bind, recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
    SockType,
};
use nono_e2e::{is_root, nono_bin, Scratch};

const AUDIT_GET: u16 = 1000;
const AUDIT_SET: u16 = 1001;
const AUDIT_STATUS_ENABLED: u32 = 1;

/// One audit request; the reply's `enabled` field for AUDIT_GET.
fn audit(kind: u16, payload: &[u8]) -> nix::Result<Option<u32>> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkAudit,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
    let mut m = Vec::new();
    m.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&5u16.to_ne_bytes()); // NLM_F_REQUEST | NLM_F_ACK
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(payload);
    sendto(
        fd.as_raw_fd(),
        &m,
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut buf = [0u8; 512];
    let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
    let u32_at = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let reply = u16::from_ne_bytes([buf[4], buf[5]]);
    if reply == 2 && n >= 20 && u32_at(16) != 0 {
        return Err(nix::errno::Errno::from_raw(-(u32_at(16) as i32)));
    }
    Ok((reply == AUDIT_GET && n >= 24).then(|| u32_at(20)))
}

fn set_enabled(on: bool) -> nix::Result<()> {
    // struct audit_status: mask, enabled, then nine fields left zero.
    let mut st = Vec::new();
    st.extend_from_slice(&AUDIT_STATUS_ENABLED.to_ne_bytes());
    st.extend_from_slice(&u32::from(on).to_ne_bytes());
    st.extend_from_slice(&[0; 36]);
    audit(AUDIT_SET, &st).map(|_| ())
}

/// Audit on for the test's duration; off again afterwards if it was off.
struct AuditOn {
    restore: bool,
}

impl AuditOn {
    fn new() -> Result<AuditOn, nix::errno::Errno> {
        let was = audit(AUDIT_GET, &[])?.unwrap_or(0);
        if was == 0 {
            set_enabled(true)?;
        }
        Ok(AuditOn { restore: was == 0 })
    }
}

impl Drop for AuditOn {
    fn drop(&mut self) {
        if self.restore {
            let _ = set_enabled(false);
        }
    }
}

fn footer(home: &Scratch, grant: &Scratch, script: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(nono_bin())
        .arg("run")
        .args(extra)
        .args(["--allow", &grant.s(), "--", "/bin/sh", "-c", script])
        .current_dir(&grant.path)
        .env("HOME", &home.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NONO_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = nono_e2e::Ran::from(out);
    (r.code, r.stderr)
}

#[test]
fn the_footer_shows_landlocks_own_denials_of_this_session_only() {
    let home = Scratch::new();
    fs::create_dir_all(home.join(".ssh")).unwrap();
    fs::write(home.join(".ssh/id_rsa"), "key").unwrap();
    let outside = Scratch::new();
    fs::write(outside.join("secret.txt"), "s").unwrap();
    fs::write(outside.join("other.txt"), "o").unwrap();
    let grant = Scratch::new();
    let secret = outside.join("secret.txt").display().to_string();
    let other = outside.join("other.txt").display().to_string();
    let key = home.join(".ssh/id_rsa").display().to_string();
    let script = format!("cat {secret}; cat {key}; exit 3");
    if !is_root() {
        let (code, err) = footer(&home, &grant, &script, &[]);
        assert_eq!(code, Some(3), "{err}");
        assert!(err.contains("can only be read by root"), "{err}");
        assert!(!err.contains("landlock fs."), "{err}");
        return;
    }
    let _audit = match AuditOn::new() {
        Ok(a) => a,
        Err(e) => panic!("root cannot switch the kernel's audit on here ({e}): nothing to test"),
    };
    // Another session at the same time, denied a different file all
    // along: each footer shows its own denials and never the other's.
    let noisy = Command::new(nono_bin())
        .args(["run", "--", "/bin/sh", "-c"])
        .arg(format!(
            "i=0; while [ $i -lt 300 ]; do cat {other} 2>/dev/null; i=$((i+1)); done; exit 4"
        ))
        .env("HOME", &home.path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, err) = footer(&home, &grant, &script, &[]);
    let noisy = noisy.wait_with_output().unwrap();
    let noisy_err = String::from_utf8_lossy(&noisy.stderr);
    assert_eq!(noisy.status.code(), Some(4), "{noisy_err}");
    assert!(
        noisy_err.contains(&format!("landlock fs.read_file {other}")),
        "{noisy_err}"
    );
    assert!(!noisy_err.contains(&secret), "{noisy_err}");
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!("landlock fs.read_file {secret}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("grant: --read-file {secret}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("landlock fs.read_file {key}")),
        "{err}"
    );
    assert!(err.contains("protected: SSH"), "{err}");
    assert!(err.contains("Landlock's own denial records"), "{err}");
    assert!(
        !err.contains(&other),
        "another session's denial shown: {err}"
    );

    let (code, quiet) = footer(&home, &grant, &script, &["--no-diagnostics"]);
    assert_eq!(code, Some(3), "{quiet}");
    assert!(!quiet.contains("landlock fs."), "{quiet}");
}

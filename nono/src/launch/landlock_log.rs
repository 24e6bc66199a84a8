//! Whether Landlock's own denial records (ABI 7 audit logging, record
//! type 1423) exist for nono to read on this system, for the footer. The
//! kernel writes them only while its audit subsystem is enabled, and only
//! a process with the audit capabilities may query or read it (root in
//! the initial user namespace). nono asks with one `AUDIT_GET` on a
//! `NETLINK_AUDIT` socket; it never changes the audit settings.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{
    bind, recv, sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr,
    SockFlag, SockProtocol, SockType,
};
use nix::sys::time::TimeVal;

/// `AUDIT_GET` (linux/audit.h).
const AUDIT_GET: u16 = 1000;
/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `NLM_F_REQUEST`.
const NLM_F_REQUEST: u16 = 1;
/// Bytes of `struct nlmsghdr`.
pub(super) const HDR: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LandlockLog {
    /// Querying the audit subsystem needs root here.
    NeedsRoot,
    /// Audit is off: the kernel writes no Landlock record.
    AuditOff,
    /// Audit is on (nono reads the records of its own sessions).
    AuditOn,
    /// The question could not be asked (the reason).
    Unknown(String),
}

impl LandlockLog {
    /// The footer's words for it.
    pub fn explain(&self) -> String {
        match self {
            LandlockLog::NeedsRoot => {
                "Landlock's own denial records (kernel audit) can only be read by root".into()
            }
            LandlockLog::AuditOff => {
                "the kernel's audit subsystem is off here, so Landlock writes no denial record"
                    .into()
            }
            LandlockLog::AuditOn => {
                "Landlock's denial records go to the kernel audit log (type 1423, e.g. \
                 'ausearch -m 1423'), but nono could not subscribe to them"
                    .into()
            }
            LandlockLog::Unknown(why) => format!("the kernel audit status is unknown ({why})"),
        }
    }
}

/// Ask the kernel once.
pub fn status() -> LandlockLog {
    match audit_enabled() {
        Ok(true) => LandlockLog::AuditOn,
        Ok(false) => LandlockLog::AuditOff,
        Err(nix::errno::Errno::EPERM | nix::errno::Errno::ECONNREFUSED) => LandlockLog::NeedsRoot,
        Err(e) => LandlockLog::Unknown(e.desc().to_string()),
    }
}

/// A `NETLINK_AUDIT` socket bound to the multicast `groups` (0: none),
/// whose receives give up after `timeout` (under a second).
pub(super) fn audit_socket(groups: u32, timeout: Duration) -> nix::Result<OwnedFd> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkAudit,
    )?;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
    setsockopt(
        &fd,
        sockopt::ReceiveTimeout,
        &TimeVal::from(libc::timeval {
            tv_sec: 0,
            tv_usec: timeout.as_micros() as libc::suseconds_t,
        }),
    )?;
    Ok(fd)
}

fn audit_enabled() -> nix::Result<bool> {
    let fd = audit_socket(0, Duration::from_millis(500))?;
    sendto(
        fd.as_raw_fd(),
        &request(),
        &NetlinkAddr::new(0, 0),
        MsgFlags::empty(),
    )?;
    let mut buf = [0u8; 512];
    let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
    parse(&buf[..n])
}

/// One `AUDIT_GET` request with no payload.
fn request() -> [u8; HDR] {
    let mut m = [0u8; HDR];
    m[0..4].copy_from_slice(&(HDR as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&AUDIT_GET.to_ne_bytes());
    m[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m[8..12].copy_from_slice(&1u32.to_ne_bytes());
    m
}

/// The reply: `struct audit_status` (its second field is `enabled`), or
/// an error message with a negative errno.
fn parse(reply: &[u8]) -> nix::Result<bool> {
    let u16_at = |i: usize| {
        reply
            .get(i..i + 2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
    };
    let u32_at = |i: usize| {
        reply
            .get(i..i + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    match u16_at(4) {
        Some(AUDIT_GET) => u32_at(HDR + 4)
            .map(|e| e != 0)
            .ok_or(nix::errno::Errno::EPROTO),
        Some(NLMSG_ERROR) => {
            let err = u32_at(HDR).map(|e| -(e as i32)).unwrap_or(libc::EPROTO);
            Err(nix::errno::Errno::from_raw(err))
        }
        _ => Err(nix::errno::Errno::EPROTO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(kind: u16, body: &[u32]) -> Vec<u8> {
        let mut m = request().to_vec();
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        for v in body {
            m.extend_from_slice(&v.to_ne_bytes());
        }
        m
    }

    #[test]
    fn replies_are_read_as_status_or_errno() {
        assert_eq!(parse(&reply(AUDIT_GET, &[0x7f, 1, 1, 0])), Ok(true));
        assert_eq!(parse(&reply(AUDIT_GET, &[0x7f, 0, 1, 0])), Ok(false));
        let eperm = (-libc::EPERM) as u32;
        assert_eq!(
            parse(&reply(NLMSG_ERROR, &[eperm])),
            Err(nix::errno::Errno::EPERM)
        );
        assert!(parse(&[1, 2]).is_err());
    }

    #[test]
    fn the_answer_matches_who_asks() {
        // Unprivileged users cannot ask; root gets a status either way.
        let s = status();
        if nix::unistd::geteuid().is_root() {
            // (In a user namespace the kernel refuses root too.)
            assert!(!matches!(s, LandlockLog::Unknown(_)), "{s:?}");
        } else {
            assert_eq!(s, LandlockLog::NeedsRoot);
        }
    }
}

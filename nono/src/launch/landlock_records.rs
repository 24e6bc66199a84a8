//! Landlock's own denial records, read while the session runs. Where the
//! kernel's audit subsystem is on and nono runs as root (the records are
//! multicast on `NETLINK_AUDIT` to readers with CAP_AUDIT_READ), a thread
//! collects the Landlock records (types 1423 and 1424) during the session;
//! only those of domains this session's processes created are kept (a
//! domain's 1424 "allocated" record names the process that sealed it,
//! checked against the session's process tree when the record arrives).
//! nono never changes the audit settings.

use std::collections::{BTreeMap, HashSet};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::socket::{recv, MsgFlags};

use super::landlock_log::HDR;

/// `AUDIT_LANDLOCK_ACCESS`: one denial.
const ACCESS: u16 = 1423;
/// `AUDIT_LANDLOCK_DOMAIN`: a domain's allocation (with its creator).
const DOMAIN: u16 = 1424;
/// `AUDIT_NLGRP_READLOG`, as a group bit.
const READLOG: u32 = 1;
/// Records kept at most (a runaway command cannot fill nono's memory).
const MAX_RECORDS: usize = 10_000;

/// One denial Landlock logged for this session.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Denied {
    /// What was refused: `fs.read_file`, `fs.make_reg`, `net.connect_tcp`, ...
    pub blockers: String,
    /// The object (a path, or a port for network denials).
    pub object: String,
}

/// The running reader; [`Reader::finish`] stops it.
pub struct Reader {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    thread: JoinHandle<()>,
}

/// What the reading thread has kept so far.
#[derive(Default)]
struct Seen {
    records: Vec<(u16, String)>,
    /// The session's domains the kernel has not yet reported freed (its
    /// last record of a domain, once every process in it has ended).
    live: HashSet<String>,
}

impl Reader {
    /// Subscribe, where the records exist and nono may read them; `root`
    /// is the process nono started for the session (every process of the
    /// session descends from it).
    pub fn start(root: u32) -> Option<Reader> {
        if super::landlock_log::status() != super::landlock_log::LandlockLog::AuditOn {
            return None;
        }
        let fd = subscribe().ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (flag, into) = (stop.clone(), seen.clone());
        let thread = std::thread::Builder::new()
            .name("landlock-records".into())
            .spawn(move || collect(&fd, &flag, &into, root))
            .ok()?;
        Some(Reader { stop, seen, thread })
    }

    /// Stop reading without waiting: nothing will be shown (the command
    /// succeeded).
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }

    /// Stop reading; this session's denials with how often each occurred.
    /// The kernel's audit thread delivers records a little after the
    /// fact: wait (20 ms at least, 1 s at most) until each of the
    /// session's domains has been reported freed, its last record.
    pub fn finish(self) -> Vec<(Denied, u64)> {
        let start = std::time::Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(5));
            let settled = self.seen.lock().map_or(true, |s| s.live.is_empty());
            let waited = start.elapsed();
            if (settled && waited >= Duration::from_millis(20)) || waited >= Duration::from_secs(1)
            {
                break;
            }
        }
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        let records = self
            .seen
            .lock()
            .map(|mut s| std::mem::take(&mut s.records))
            .unwrap_or_default();
        ours(&records)
    }
}

fn subscribe() -> nix::Result<OwnedFd> {
    super::landlock_log::audit_socket(READLOG, Duration::from_millis(100))
}

/// Landlock records until stopped. A domain's allocation record is kept
/// only when its creator belongs to the session (checked now, while it
/// lives); its release record marks it settled.
fn collect(fd: &OwnedFd, stop: &AtomicBool, seen: &Mutex<Seen>, root: u32) {
    let mut buf = vec![0u8; 65536];
    loop {
        match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => {
                let Ok(mut seen) = seen.lock() else { return };
                for (kind, text) in messages(&buf[..n]) {
                    take(&mut seen, kind, text, root);
                }
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

fn take(seen: &mut Seen, kind: u16, text: String, root: u32) {
    if seen.records.len() >= MAX_RECORDS {
        return;
    }
    match kind {
        ACCESS => seen.records.push((kind, text)),
        DOMAIN => {
            let f = fields(&text);
            let Some(domain) = f.get("domain").cloned() else {
                return;
            };
            match f.get("status").map(String::as_str) {
                Some("allocated")
                    if f.get("pid")
                        .and_then(|p| p.parse().ok())
                        .is_some_and(|p| descends(p, root)) =>
                {
                    seen.live.insert(domain);
                    seen.records.push((kind, text));
                }
                Some("deallocated") => {
                    seen.live.remove(&domain);
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// Whether `pid` is `root` or one of its descendants (parent links read
/// from /proc).
fn descends(mut pid: u32, root: u32) -> bool {
    for _ in 0..64 {
        if pid == root {
            return true;
        }
        if pid <= 1 {
            return false;
        }
        match parent(pid) {
            Some(p) => pid = p,
            None => return false,
        }
    }
    false
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

/// The netlink messages in one datagram: (type, text).
fn messages(mut data: &[u8]) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    while data.len() >= HDR {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        let end = len.clamp(HDR, data.len());
        let body = &data[HDR..end];
        let body = &body[..body.iter().position(|&b| b == 0).unwrap_or(body.len())];
        out.push((kind, String::from_utf8_lossy(body).into_owned()));
        // Messages are 4-byte aligned.
        let next = (end + 3) & !3;
        if next >= data.len() {
            break;
        }
        data = &data[next..];
    }
    out
}

/// `key=value` fields of one record; quoted values unquoted, hex-encoded
/// ones (audit's form for strings with unusual bytes) decoded.
fn fields(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let body = text.split_once("): ").map_or(text, |(_, b)| b);
    let mut rest = body.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().to_string();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            match q.split_once('"') {
                Some((v, n)) => (v.to_string(), n),
                None => (q.to_string(), ""),
            }
        } else {
            let (v, n) = after.split_once(' ').unwrap_or((after, ""));
            let decoded = if key == "path" { unhex(v) } else { None };
            (decoded.unwrap_or_else(|| v.to_string()), n)
        };
        out.insert(key, value);
        rest = next.trim_start();
    }
    out
}

fn unhex(v: &str) -> Option<String> {
    if v.len() % 2 != 0 || v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..v.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v[i..i + 2], 16).ok())
        .collect();
    Some(String::from_utf8_lossy(&bytes?).into_owned())
}

/// The denials of the session's own domains, counted.
fn ours(records: &[(u16, String)]) -> Vec<(Denied, u64)> {
    let domains: HashSet<String> = records
        .iter()
        .filter(|(k, _)| *k == DOMAIN)
        .filter_map(|(_, t)| fields(t).remove("domain"))
        .collect();
    let mut counted: BTreeMap<Denied, (usize, u64)> = BTreeMap::new();
    for (_, text) in records.iter().filter(|(k, _)| *k == ACCESS) {
        let mut f = fields(text);
        if !f.get("domain").is_some_and(|d| domains.contains(d)) {
            continue;
        }
        let object = f
            .remove("path")
            .or_else(|| f.remove("dest").map(|p| format!("port {p}")))
            .unwrap_or_default();
        let d = Denied {
            blockers: f.remove("blockers").unwrap_or_default(),
            object,
        };
        let next = counted.len();
        counted.entry(d).or_insert((next, 0)).1 += 1;
    }
    let mut rows: Vec<_> = counted.into_iter().collect();
    rows.sort_by_key(|(_, (order, _))| *order);
    rows.into_iter().map(|(d, (_, n))| (d, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_parsed_with_quoted_and_hex_values() {
        let f = fields(
            "audit(1796086929.713:143): domain=1b51ebe07 blockers=fs.read_file \
             path=\"/etc/locale.alias\" dev=\"vda\" ino=686",
        );
        assert_eq!(f["domain"], "1b51ebe07");
        assert_eq!(f["blockers"], "fs.read_file");
        assert_eq!(f["path"], "/etc/locale.alias");
        assert_eq!(f["ino"], "686");
        let hex =
            fields("audit(1:2): domain=a blockers=fs.make_reg path=2F746D702F6120622E74787420");
        assert_eq!(hex["path"], "/tmp/a b.txt ");
    }

    #[test]
    fn only_the_sessions_domains_count() {
        let records = vec![
            (
                ACCESS,
                "audit(1:1): domain=aa blockers=fs.read_file path=\"/x\"".to_string(),
            ),
            (
                DOMAIN,
                "audit(1:1): domain=aa status=allocated mode=enforcing pid=5".to_string(),
            ),
            (
                ACCESS,
                "audit(1:2): domain=aa blockers=fs.read_file path=\"/x\"".to_string(),
            ),
            (
                ACCESS,
                "audit(1:3): domain=bb blockers=fs.read_file path=\"/other\"".to_string(),
            ),
            (
                ACCESS,
                "audit(1:4): domain=aa blockers=net.connect_tcp daddr=127.0.0.1 dest=80"
                    .to_string(),
            ),
        ];
        let rows = ours(&records);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].0.object, "/x");
        assert_eq!(rows[0].1, 2);
        assert_eq!(rows[1].0.object, "port 80");
    }

    #[test]
    fn datagrams_split_into_messages() {
        let mut d = Vec::new();
        for (k, t) in [(ACCESS, "a=1"), (DOMAIN, "b=22")] {
            let len = (HDR + t.len()) as u32;
            d.extend_from_slice(&len.to_ne_bytes());
            d.extend_from_slice(&k.to_ne_bytes());
            d.extend_from_slice(&[0; 10]);
            d.extend_from_slice(t.as_bytes());
            while d.len() % 4 != 0 {
                d.push(0);
            }
        }
        assert_eq!(
            messages(&d),
            vec![(ACCESS, "a=1".to_string()), (DOMAIN, "b=22".to_string())]
        );
    }

    #[test]
    fn our_own_process_descends_from_itself_and_init_does_not() {
        let me = std::process::id();
        assert!(descends(me, me));
        let parent = parent(me).unwrap();
        assert!(descends(me, parent));
        assert!(!descends(1, me));
    }
}

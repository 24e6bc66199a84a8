//! The broker's decisions, for the user. Quiet by default: allowed calls
//! and expected misses — a unix socket that does not exist, or a
//! well-known optional system socket that libc probes (nscd, the systemd
//! resolver and user database) — show only with `-v`. Real denials show
//! live with `-v` and are summarised once when the session ends, each with
//! the flag or profile field that grants it.

use std::collections::BTreeMap;

use ipc::broker::BrokeredEvent;
use ipc::proxy::ProxyEvent;

use crate::ui;

/// Sockets programs probe and do without. Never granted by default, so in
/// `--block-net` and proxy modes no resolver socket can carry DNS out.
const OPTIONAL_SOCKETS: &[&str] = &[
    "/var/run/nscd/socket",                    // glibc's name service cache
    "/run/nscd/socket",                        // the same, where /var/run is not a link
    "/run/systemd/resolve/io.systemd.Resolve", // nss-resolve's varlink socket
    "/run/systemd/userdb/",                    // nss-systemd's user database
];

/// Whether a denial is an expected miss, not worth a warning.
pub fn expected(ev: &BrokeredEvent) -> bool {
    let missing = ev.reason == ipc::broker::BrokeredReason::Errno(libc::ENOENT);
    let optional = OPTIONAL_SOCKETS.iter().any(|s| {
        if s.ends_with('/') {
            ev.path.starts_with(s)
        } else {
            ev.path == *s
        }
    });
    missing || (ev.op == "connect" && optional)
}

/// Denials seen in this session, in first-seen order, with counts; and
/// what the proxy refused.
#[derive(Debug, Default)]
pub struct Denials {
    seen: BTreeMap<(String, String), (usize, u64, BrokeredEvent)>,
    proxy: Vec<(ProxyEvent, u64)>,
    proxy_allowed: u64,
    /// Landlock's own records of this session's denials, where nono could
    /// read them (`None`: it could not).
    landlock: Option<Vec<(super::landlock_records::Denied, u64)>>,
}

impl Denials {
    /// Take one broker event: print it at `-v`, remember real denials.
    pub fn record(&mut self, ev: &BrokeredEvent) {
        crate::record::brokered(ev);
        let why = super::reasons::broker(&ev.reason);
        if ev.allowed {
            tracing::trace!(
                "broker: performed {} on {} ({why})",
                ev.op,
                ui::shown(&ev.path)
            );
        } else {
            tracing::info!(
                "broker: denied {} on {} ({why})",
                ev.op,
                ui::shown(&ev.path)
            );
        }
        if ev.allowed || expected(ev) {
            return;
        }
        let next = self.seen.len();
        let entry = self
            .seen
            .entry((ev.op.clone(), ev.path.clone()))
            .or_insert((next, 0, ev.clone()));
        entry.1 += 1;
    }

    /// What the proxy allowed and refused (from `proxy::Running::finish`).
    pub fn proxy(&mut self, allowed: u64, refused: Vec<(ProxyEvent, u64)>) {
        self.proxy_allowed = allowed;
        self.proxy = refused;
    }

    /// Landlock's own denial records for the session (root, audit on).
    pub fn landlock(&mut self, rows: Vec<(super::landlock_records::Denied, u64)>) {
        self.landlock = Some(rows);
    }

    fn broker_rows(&self) -> Vec<(BrokeredEvent, u64)> {
        let mut rows: Vec<_> = self.seen.values().collect();
        rows.sort_by_key(|v| v.0);
        rows.into_iter().map(|(_, n, e)| (e.clone(), *n)).collect()
    }

    /// After the session: the diagnostic footer when the command failed
    /// (unless `--no-diagnostics`), else the summary of denials.
    pub fn summarise(&self, code: &anyhow::Result<i32>, plan: &crate::policy::plan::Plan) {
        match code {
            Ok(c) if *c != 0 && plan.diagnostics => {
                let flags = super::footer::print(
                    plan,
                    *c,
                    &self.broker_rows(),
                    &self.proxy,
                    self.landlock.as_deref(),
                );
                super::save_prompt::offer(plan, &flags);
            }
            Ok(c) if *c != 0 => {}
            _ => self.summary(),
        }
    }

    fn summary(&self) {
        if !self.seen.is_empty() {
            let total: u64 = self.seen.values().map(|v| v.1).sum();
            ui::warn(format!("the sandbox denied {total} brokered call(s):"));
            for (ev, n) in self.broker_rows() {
                ui::warn(format!(
                    "  denied {} on {}{}: {}",
                    ev.op,
                    ui::shown(&ev.path),
                    times(n),
                    super::reasons::broker(&ev.reason)
                ));
            }
        }
        let denied: u64 = self.proxy.iter().map(|p| p.1).sum();
        if denied == 0 {
            return;
        }
        ui::warn(format!(
            "the proxy allowed {} and denied {denied} request(s):",
            self.proxy_allowed
        ));
        for (e, n) in self.proxy.iter().take(20) {
            let target = if e.port == 0 {
                e.host.clone()
            } else {
                format!("{}:{}", e.host, e.port)
            };
            ui::warn(format!(
                "  denied {} {}{} ({}){}",
                e.kind,
                ui::shown(&target),
                ui::shown(&e.path),
                super::reasons::proxy(&e.reason),
                if *n > 1 {
                    format!(" x{n}")
                } else {
                    String::new()
                }
            ));
        }
    }
}

fn times(n: u64) -> String {
    if n > 1 {
        format!(" ({n} times)")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::broker::BrokeredReason;

    fn ev(op: &str, path: &str, reason: BrokeredReason) -> BrokeredEvent {
        BrokeredEvent {
            allowed: false,
            op: op.into(),
            path: path.into(),
            reason,
        }
    }

    #[test]
    fn missing_and_optional_sockets_are_expected() {
        let enoent = || BrokeredReason::Errno(libc::ENOENT);
        let not_granted = || BrokeredReason::UnixSocketNotGranted;
        assert!(expected(&ev("connect", "/var/run/nscd/socket", enoent())));
        assert!(expected(&ev("connect", "/run/nscd/socket", not_granted())));
        assert!(expected(&ev(
            "connect",
            "/run/systemd/userdb/io.systemd.Multiplexer",
            not_granted()
        )));
        assert!(expected(&ev("connect", "/tmp/none.sock", enoent())));
        assert!(!expected(&ev("connect", "/tmp/agent.sock", not_granted())));
        assert!(!expected(&ev(
            "chmod",
            "/etc/passwd",
            BrokeredReason::OutsideWriteGrants
        )));
        assert!(!expected(&ev(
            "connect",
            "/run/systemd/userdbx",
            not_granted()
        )));
        // Another errno is a real denial, not an expected miss.
        assert!(!expected(&ev(
            "connect",
            "/tmp/x.sock",
            BrokeredReason::Errno(libc::ECONNREFUSED)
        )));
    }

    #[test]
    fn repeated_denials_are_counted_once() {
        let mut d = Denials::default();
        for _ in 0..3 {
            d.record(&ev("chmod", "/x", BrokeredReason::OutsideWriteGrants));
        }
        d.record(&ev(
            "connect",
            "/var/run/nscd/socket",
            BrokeredReason::Errno(libc::ENOENT),
        ));
        assert_eq!(d.seen.len(), 1);
        assert_eq!(d.seen.values().next().map(|v| v.1), Some(3));
    }
}

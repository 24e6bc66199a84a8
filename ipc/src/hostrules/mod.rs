//! The host rules of proxy mode, shared by `nono-proxy` (which enforces
//! them) and the front end (`nono why --host`, `--dry-run`), so the answer
//! and the enforcement come from the same code. The front end parses the
//! user's entries once ([`Allowlist::parse`]) and sends the parsed
//! [`Allowlist`] to the proxy; a refused destination is reported as an
//! [`addr::Refusal`] (data; the front end names the rule that allows it).
//!
//! A request through the proxy is decided in this order, by [`decide`]
//! here and by the same functions, step by step, in the proxy:
//! 1. the allowlist ([`Allowlist::check`]) for (host, port);
//! 2. the path, for hosts limited to URL-rule paths ([`Access::permits`]);
//! 3. the destination ([`addr::precheck`]): metadata names always denied,
//!    an IP literal checked against the address rules;
//! 4. the resolved addresses ([`addr::first_dialable`]): the first one
//!    that may be dialled on that port is used, or the request is denied.

pub mod addr;
pub mod allowlist;
pub mod glob;

use std::net::IpAddr;

pub use addr::Literal;
pub use allowlist::{Access, Allowlist};

/// The outcome of one request as the proxy would decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; dialled at this address (None: the name could not be
    /// resolved here, so the destination check is still to come).
    Allowed { addr: Option<IpAddr>, why: String },
    /// Refused by the allowlist (host, port or path).
    NotListed { why: String },
    /// Refused by the destination rules (metadata, link-local, loopback
    /// or private without a literal rule for that address and port).
    Destination { why: addr::Refusal },
}

impl Decision {
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

/// Decide a request for `host:port` (`host` [`allowlist::normalize`]d) and
/// `path` (None: a CONNECT, checked per request later when paths are
/// limited). `resolve` is called only for names that passed every other
/// check, as the proxy resolves only those.
pub fn decide<R, E>(
    allow: &Allowlist,
    host: &str,
    port: u16,
    path: Option<&str>,
    resolve: R,
) -> Decision
where
    R: FnOnce(&str, u16) -> Result<Vec<IpAddr>, E>,
    E: std::fmt::Display,
{
    let access = allow.check(host, port);
    let why = match (&access, path) {
        (Access::Denied, _) => {
            return Decision::NotListed {
                why: format!("{host}:{port} is not in the allowlist"),
            }
        }
        (Access::Paths(g), Some(p)) if !access.permits(p) => {
            return Decision::NotListed {
                why: format!(
                    "{p} is not among the allowed paths of {host}:{port} ({})",
                    g.join(" ")
                ),
            }
        }
        (Access::Paths(_), Some(_)) => "allowed by a path rule".to_string(),
        (Access::Paths(g), None) => format!("allowed for the paths {} only", g.join(" ")),
        (Access::AllPaths, _) => "allowed".to_string(),
    };
    let literals = allow.literals();
    match addr::precheck(host, port, &literals) {
        Err(why) => Decision::Destination { why },
        Ok(Some(ip)) => Decision::Allowed {
            addr: Some(ip),
            why,
        },
        Ok(None) => match resolve(host, port) {
            Err(e) => Decision::Allowed {
                addr: None,
                why: format!("{why}; {host} could not be resolved here ({e}), and the proxy refuses it unless it resolves to a public address or an allowed literal address:port"),
            },
            Ok(addrs) => match addr::first_dialable(host, port, &addrs, &literals) {
                Ok(ip) => Decision::Allowed {
                    addr: Some(ip),
                    why,
                },
                Err(why) => Decision::Destination { why },
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> Allowlist {
        Allowlist::parse(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn lo(_: &str, _: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(vec![IpAddr::from([127, 0, 0, 1])])
    }

    #[test]
    fn names_resolving_to_an_allowed_literal_only_on_its_port() {
        let l = list(&["127.0.0.1:8081", "api.test", "api.test:8081"]);
        assert!(decide(&l, "127.0.0.1", 8081, None, lo).allowed());
        assert!(decide(&l, "api.test", 8081, None, lo).allowed());
        assert!(matches!(
            decide(&l, "api.test", 80, None, lo),
            Decision::Destination { .. }
        ));
        assert!(matches!(
            decide(&l, "evil.test", 8081, None, lo),
            Decision::NotListed { .. }
        ));
    }

    #[test]
    fn paths_and_metadata() {
        let l = list(&["http://docs.test/ok/**", "metadata.google.internal"]);
        let pub_ip = |_: &str, _: u16| std::io::Result::Ok(vec![IpAddr::from([93, 184, 216, 34])]);
        assert!(decide(&l, "docs.test", 80, Some("/ok/x"), pub_ip).allowed());
        assert!(!decide(&l, "docs.test", 80, Some("/ok/..;/admin"), pub_ip).allowed());
        assert!(!decide(&l, "docs.test", 80, Some("/no"), pub_ip).allowed());
        assert!(matches!(
            decide(&l, "metadata.google.internal", 80, Some("/"), pub_ip),
            Decision::Destination { .. }
        ));
    }
}

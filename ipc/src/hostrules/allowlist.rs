//! The host allowlist: `host`, `host:port`, `*.suffix`, IP literals and
//! `http(s)://host[:port]/path/**` URL rules. A bare host allows ports 80
//! and 443; any other port must be named. A URL rule with a path limits
//! that host to the matching paths (for `https`, through TLS interception).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::addr::Literal;
use super::glob;
use crate::IpcError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Pattern {
    Exact(String),
    /// `*.example.com` stored as `.example.com`: any strictly deeper name.
    Suffix(String),
    /// `*` alone: every host on ports 80 and 443 (what `nono learn
    /// --sandboxed` lets through while it records; the front end refuses
    /// it from users). Addresses stay checked: loopback and private ones
    /// still need a literal rule.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Rule {
    pattern: Pattern,
    /// None: 80 and 443.
    port: Option<u16>,
    /// None: every path.
    paths: Option<Vec<String>>,
}

/// What a (host, port) may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Denied,
    AllPaths,
    /// Only these path globs (union of every matching URL rule).
    Paths(Vec<String>),
}

impl Access {
    /// Whether a request for `path` (query excluded) is allowed.
    pub fn permits(&self, path: &str) -> bool {
        match self {
            Access::Denied => false,
            Access::AllPaths => true,
            Access::Paths(globs) => globs.iter().any(|g| glob::matches(g, path)),
        }
    }
}

/// The parsed allowlist: built once by the front end from what the user
/// wrote ([`Allowlist::parse`]) and sent to the proxy as it is, so both
/// sides hold the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowlist {
    rules: Vec<Rule>,
}

/// The rule that lets every host through on the web ports.
pub const ANY: &str = "*";

/// Lower-case, without a trailing dot or IPv6 brackets.
pub fn normalize(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h.strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .map(str::to_string)
        .unwrap_or(h)
}

/// Split `host[:port]` (IPv6 in brackets, or bare without a port).
pub fn split_host_port(s: &str) -> Result<(String, Option<u16>), IpcError> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, tail) = rest
            .split_once(']')
            .ok_or_else(|| bad(s, "missing ']'".into()))?;
        return match tail {
            "" => Ok((h.to_string(), None)),
            t => Ok((
                h.to_string(),
                Some(port(t.strip_prefix(':').unwrap_or(t), s)?),
            )),
        };
    }
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((s.to_string(), None));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_string(), Some(port(p, s)?))),
        None => Ok((s.to_string(), None)),
    }
}

fn port(p: &str, whole: &str) -> Result<u16, IpcError> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(whole, format!("invalid port '{p}'"))),
    }
}

fn bad(entry: &str, why: String) -> IpcError {
    IpcError::HostRule {
        entry: entry.to_string(),
        why,
    }
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && (h.parse::<IpAddr>().is_ok()
            || h.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }))
}

fn parse_rule(entry: &str) -> Result<Rule, IpcError> {
    if entry == ANY {
        return Ok(Rule {
            pattern: Pattern::Any,
            port: None,
            paths: None,
        });
    }
    let (scheme, rest) = match entry.split_once("://") {
        Some((s @ ("http" | "https"), r)) => (Some(s), r),
        Some((s, _)) => return Err(bad(entry, format!("unsupported scheme '{s}'"))),
        None => (None, entry),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) if scheme.is_some() => (&rest[..i], &rest[i..]),
        Some(_) => return Err(bad(entry, "a path needs a URL (https://host/path)".into())),
        None => (rest, ""),
    };
    let (host, port) = split_host_port(authority)?;
    let host = normalize(&host);
    let pattern = match host.strip_prefix("*.") {
        Some(s) if valid_host(s) => Pattern::Suffix(format!(".{s}")),
        _ if valid_host(&host) => Pattern::Exact(host.clone()),
        _ => return Err(bad(entry, format!("invalid host name '{host}'"))),
    };
    let port = port.or(match scheme {
        Some("https") => Some(443),
        Some(_) => Some(80),
        None => None,
    });
    let paths = match path {
        "" | "/" | "/**" => None,
        p => Some(vec![
            glob::check_pattern(p).map_err(|e| bad(entry, e.to_string()))?
        ]),
    };
    Ok(Rule {
        pattern,
        port,
        paths,
    })
}

impl Allowlist {
    pub fn parse(entries: &[String]) -> Result<Allowlist, IpcError> {
        let rules = entries
            .iter()
            .map(|e| parse_rule(e.trim()))
            .collect::<Result<_, _>>()?;
        Ok(Allowlist { rules })
    }

    /// `host` must be [`normalize`]d.
    pub fn check(&self, host: &str, port: u16) -> Access {
        let mut paths: Vec<String> = Vec::new();
        let mut any = false;
        for r in &self.rules {
            let host_ok = match &r.pattern {
                Pattern::Exact(h) => h == host,
                Pattern::Suffix(s) => host.ends_with(s.as_str()) && host.len() > s.len(),
                Pattern::Any => true,
            };
            let port_ok = match r.port {
                Some(p) => p == port,
                None => port == 80 || port == 443,
            };
            if !(host_ok && port_ok) {
                continue;
            }
            match &r.paths {
                None => return Access::AllPaths,
                Some(p) => {
                    any = true;
                    paths.extend(p.iter().cloned());
                }
            }
        }
        if any {
            Access::Paths(paths)
        } else {
            Access::Denied
        }
    }

    /// IP addresses the user allowed literally, each with the port(s) of
    /// its rule (private and loopback addresses are reachable only at an
    /// allowed address *and* port).
    pub fn literals(&self) -> Vec<Literal> {
        self.rules
            .iter()
            .filter_map(|r| match &r.pattern {
                Pattern::Exact(h) => h.parse().ok().map(|ip| Literal::new(ip, r.port)),
                Pattern::Suffix(_) | Pattern::Any => None,
            })
            .collect()
    }

    /// Loopback destinations the user allowed on a named port with every
    /// path (`127.0.0.1:PORT`, other 127/8 addresses, `[::1]:PORT`,
    /// `localhost:PORT`): the
    /// address to listen on inside the agent's namespace, and the rule's
    /// host and port to relay to. Rules limited to paths are left out: a
    /// byte relay could not hold them.
    pub fn loopback_forwards(&self) -> Vec<(SocketAddr, String, u16)> {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let mut out: Vec<(SocketAddr, String, u16)> = Vec::new();
        for r in &self.rules {
            let (Pattern::Exact(host), Some(port), None) = (&r.pattern, r.port, &r.paths) else {
                continue;
            };
            let listen: Vec<IpAddr> = match host.as_str() {
                "localhost" => vec![v4, v6],
                h => match h.parse::<IpAddr>() {
                    Ok(ip) if ip.is_loopback() => vec![ip],
                    _ => continue,
                },
            };
            for ip in listen {
                let at = SocketAddr::new(ip, port);
                // A literal rule wins over `localhost` for the same address.
                match out.iter().position(|(a, _, _)| *a == at) {
                    Some(i) if host != "localhost" => out[i] = (at, host.clone(), port),
                    Some(_) => {}
                    None => out.push((at, host.clone(), port)),
                }
            }
        }
        out
    }

    /// One line per rule, for `--dry-run` and `why`.
    pub fn describe(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|r| {
                let host = match &r.pattern {
                    Pattern::Exact(h) => h.clone(),
                    Pattern::Suffix(s) => format!("*{s}"),
                    Pattern::Any => "every host".to_string(),
                };
                let ports = r.port.map_or("80, 443".to_string(), |p| p.to_string());
                match &r.paths {
                    None => format!("{host} (port {ports}, every path)"),
                    Some(p) => format!("{host} (port {ports}, paths {})", p.join(" ")),
                }
            })
            .collect()
    }

    /// Every port some rule allows.
    pub fn ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self
            .rules
            .iter()
            .flat_map(|r| match r.port {
                Some(p) => vec![p],
                None => vec![80, 443],
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether some rule needs TLS interception (an https rule with paths).
    pub fn intercepts(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.paths.is_some() && r.port != Some(80))
    }
}

/// Whether `host` matches a bypass entry (`host` or `*.suffix`).
pub fn bypassed(host: &str, bypass: &[String]) -> bool {
    bypass.iter().any(|b| {
        let b = normalize(b.trim());
        match b.strip_prefix("*.") {
            Some(s) => host.len() > s.len() + 1 && host.ends_with(&format!(".{s}")),
            None => host == b,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> Allowlist {
        Allowlist::parse(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn loopback_forwards_are_named_ports_without_paths() {
        let l = list(&[
            "127.0.0.1:8081",
            "localhost:9000",
            "[::1]:9000",
            "127.0.0.1",
            "http://127.0.0.1:7000/api/**",
            "10.0.0.1:8080",
            "127.0.0.2:8082",
            "api.example.com:8443",
        ]);
        let got: Vec<String> = l
            .loopback_forwards()
            .iter()
            .map(|(a, h, p)| format!("{a} {h}:{p}"))
            .collect();
        assert_eq!(
            got,
            [
                "127.0.0.1:8081 127.0.0.1:8081",
                "127.0.0.1:9000 localhost:9000",
                "[::1]:9000 ::1:9000",
                "127.0.0.2:8082 127.0.0.2:8082",
            ]
        );
    }

    #[test]
    fn bare_host_allows_web_ports_only() {
        let l = list(&["api.openai.com"]);
        assert_eq!(l.check("api.openai.com", 443), Access::AllPaths);
        assert_eq!(l.check("api.openai.com", 80), Access::AllPaths);
        assert_eq!(l.check("api.openai.com", 22), Access::Denied);
        assert_eq!(l.check("evil.openai.com", 443), Access::Denied);
        assert_eq!(l.check("api.openai.com.evil.net", 443), Access::Denied);
    }

    #[test]
    fn wildcard_matches_subdomains_not_the_apex() {
        let l = list(&["*.Example.com"]);
        assert_eq!(l.check("a.example.com", 443), Access::AllPaths);
        assert_eq!(l.check("a.b.example.com", 443), Access::AllPaths);
        assert_eq!(l.check("example.com", 443), Access::Denied);
        assert_eq!(l.check("badexample.com", 443), Access::Denied);
    }

    #[test]
    fn any_is_every_host_on_web_ports_and_no_literal() {
        let l = list(&[ANY]);
        assert_eq!(l.check("example.com", 443), Access::AllPaths);
        assert_eq!(l.check("127.0.0.1", 80), Access::AllPaths);
        assert_eq!(l.check("example.com", 22), Access::Denied);
        assert!(l.literals().is_empty(), "addresses stay checked");
        assert!(l.loopback_forwards().is_empty());
        assert!(Allowlist::parse(&["*:8080".to_string()]).is_err());
    }

    #[test]
    fn explicit_ports_and_ip_literals() {
        let l = list(&["127.0.0.1:8443", "[::1]:9000", "allowed.test"]);
        assert_eq!(l.check("127.0.0.1", 8443), Access::AllPaths);
        assert_eq!(l.check("127.0.0.1", 443), Access::Denied);
        assert_eq!(l.check("::1", 9000), Access::AllPaths);
        assert_eq!(l.literals().len(), 2);
        assert_eq!(l.ports(), vec![80, 443, 8443, 9000]);
    }

    #[test]
    fn url_rules_limit_paths_and_need_interception() {
        let l = list(&["https://github.com/my-org/**", "https://github.com/other/*"]);
        assert_eq!(
            l.check("github.com", 443),
            Access::Paths(vec!["/my-org/**".into(), "/other/*".into()])
        );
        assert_eq!(l.check("github.com", 80), Access::Denied);
        assert!(l.intercepts());
        assert!(!list(&["https://github.com/**"]).intercepts());
        assert_eq!(
            list(&["https://github.com"]).check("github.com", 443),
            Access::AllPaths
        );
    }

    #[test]
    fn bad_entries_are_errors() {
        for bad in [
            "",
            "ftp://x.com",
            "x.com/path",
            "a..b",
            "x.com:0",
            "x.com:99999",
            "[::1",
        ] {
            assert!(
                Allowlist::parse(&[bad.to_string()]).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn bypass_matching() {
        let b = vec!["internal.corp".to_string(), "*.private.net".to_string()];
        assert!(bypassed("internal.corp", &b));
        assert!(bypassed("a.private.net", &b));
        assert!(!bypassed("private.net", &b));
        assert!(!bypassed("x.internal.corp", &b));
    }
}

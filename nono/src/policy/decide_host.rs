//! `why --host`: the answer comes from `ipc::hostrules`, the code the proxy
//! enforces with, applied to the same host rules the session's proxy gets
//! (profile groups, network profiles, `--allow-domain`), and names are
//! resolved as the proxy resolves them.

use std::net::{IpAddr, ToSocketAddrs};

use ipc::hostrules::{self, allowlist, Allowlist, Decision};

use super::decide::{Answer, ProxyView, View};

/// The host, port and path of a `--host` value (a name or a URL).
pub fn target(value: &str, port: Option<u16>) -> Result<(String, u16, Option<String>), String> {
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, value),
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let path = path.map(|p| p.split(['?', '#']).next().unwrap_or("/").to_string());
    let path = path.map(|p| if p.is_empty() { "/".into() } else { p });
    let (host, url_port) = allowlist::split_host_port(authority).map_err(|e| e.to_string())?;
    if host.trim().is_empty() {
        return Err(format!(
            "--host '{value}': no host name; give a host (example.com) or a URL (https://example.com/path)"
        ));
    }
    let default = match scheme.as_deref() {
        Some("http") => 80,
        _ => 443,
    };
    Ok((
        allowlist::normalize(&host),
        url_port.or(port).unwrap_or(default),
        path,
    ))
}

/// Resolve as the proxy does (the system resolver).
fn resolve(host: &str, port: u16) -> Result<Vec<IpAddr>, String> {
    (host, port)
        .to_socket_addrs()
        .map(|a| a.map(|s| s.ip()).collect())
        .map_err(|e| e.to_string())
}

/// Why a request through the session's proxy is allowed or denied.
pub fn proxied(px: &ProxyView, host: &str, port: u16, path: Option<&str>, base: Answer) -> Answer {
    let allow = match Allowlist::parse(&px.hosts) {
        Ok(a) => a,
        Err(e) => {
            return Answer {
                status: "denied",
                reason: "invalid_host_rule",
                details: format!("The proxy would refuse to start: {e}."),
                ..base
            }
        }
    };
    let upstream_resolves = px.upstream_proxy && !allowlist::bypassed(host, &px.upstream_bypass);
    let decision = hostrules::decide(&allow, host, port, path, |h, p| {
        if upstream_resolves {
            Err("the upstream proxy resolves it".into())
        } else {
            resolve(h, p)
        }
    });
    let target = format!("{host}:{port}{}", path.unwrap_or(""));
    let via = route_note(px, host);
    match decision {
        Decision::Allowed { addr, why } => Answer {
            status: "allowed",
            reason: "proxy_allowed",
            details: format!(
                "Through the nono proxy (HTTPS_PROXY/HTTP_PROXY), {target}: {why}{}. Direct \
                 connections are blocked.",
                addr.map(|a| format!(" (dialled at {a})"))
                    .unwrap_or_default()
            ),
            ..base
        },
        Decision::NotListed { why } => Answer {
            status: "denied",
            reason: "host_not_allowed",
            details: format!("Through the nono proxy, {target} is refused: {why}.{via}"),
            suggestion: Some(suggest(host, port)),
            ..base
        },
        Decision::Destination { why } => Answer {
            status: "denied",
            reason: "destination_denied",
            details: format!(
                "Through the nono proxy, {target} is refused: {why}. Cloud metadata and \
                 link-local addresses are always denied; loopback and private addresses only \
                 at an address:port allowed literally.{via}"
            ),
            ..base
        },
    }
}

fn suggest(host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    match port {
        80 | 443 => format!("--allow-domain {host}"),
        p => format!("--allow-domain {host}:{p}"),
    }
}

/// A note when a credential route reaches `host` (with its key injected).
fn route_note(px: &ProxyView, host: &str) -> String {
    px.routes
        .iter()
        .filter(|r| {
            let rest = r.upstream.split_once("://").map_or("", |x| x.1);
            let auth = rest.split('/').next().unwrap_or("");
            allowlist::split_host_port(auth).is_ok_and(|(h, _)| allowlist::normalize(&h) == host)
        })
        .map(|r| {
            format!(
                " The credential route '{}' reaches {} (use ${}).",
                r.name, r.upstream, r.base_url_var
            )
        })
        .collect()
}

/// Why a connection to `host:port` (a request for `path`) is allowed or
/// denied.
pub fn host(view: &View, host: &str, port: u16, path: Option<&str>) -> Answer {
    let base = Answer {
        status: "allowed",
        reason: "network_allowed",
        path: None,
        op: None,
        category: None,
        granted_by: None,
        details: format!("Outbound connections to {host}:{port} are not restricted."),
        suggestion: None,
        suggested_flag: None,
        source: None,
    };
    if let Some(px) = &view.proxy {
        return proxied(px, host, port, path, base);
    }
    if view.network_blocked {
        Answer {
            status: "denied",
            reason: "network_blocked",
            details: "All network access is blocked (--block-net or the profile's network.block)."
                .into(),
            suggestion: Some(
                "drop --block-net, or pass --allow-net to override the profile".into(),
            ),
            ..base
        }
    } else if view.network_proxied {
        Answer {
            status: "denied",
            reason: "network_proxied",
            details: format!(
                "Direct connections to {host}:{port} are blocked: this sandbox reaches the network \
                 only through the nono proxy (HTTPS_PROXY), which allows the hosts of \
                 --allow-domain and --network-profile."
            ),
            suggestion: Some(format!("start the session with --allow-domain {host}")),
            ..base
        }
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_names_and_urls() {
        assert_eq!(
            target("Example.COM.", None).unwrap(),
            ("example.com".into(), 443, None)
        );
        assert_eq!(target("example.com", Some(8080)).unwrap().1, 8080);
        assert_eq!(
            target("http://x.test/a/b?q=1", None).unwrap(),
            ("x.test".into(), 80, Some("/a/b".into()))
        );
        assert_eq!(
            target("https://x.test:8443", Some(1)).unwrap(),
            ("x.test".into(), 8443, None)
        );
        assert_eq!(target("[::1]:81", None).unwrap(), ("::1".into(), 81, None));
    }
}

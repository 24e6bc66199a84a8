//! `ipc::proxy`: the front end and `nono-proxy`.
//!
//! Order (enforced by the proxy's state machine): `Hello` → `Configure`
//! once, carrying the listening socket the agent will reach (created inside
//! the agent's network namespace) → the proxy answers `Ready` (or
//! `Failed`) and from then on only sends `Event`s. The session ends when the
//! front end closes the channel.
//!
//! Real credentials never travel here: they come from the keyholder on the
//! credentials channel (fd 4), named by [`Route::name`].

use serde::{Deserialize, Serialize};

use crate::hostrules::addr::Refusal;
use crate::hostrules::Allowlist;

/// How a route puts the real credential into the upstream request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InjectMode {
    /// `header: format` where `format` contains `{}` for the credential.
    Header { header: String, format: String },
    /// `?param=credential` appended to the query string.
    Query { param: String },
    /// `Authorization: Basic base64(credential)`; the credential is `user:password`.
    Basic,
}

/// One `METHOD:PATH` rule (`*` any method; path globs: `*` one segment,
/// `**` zero or more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRule {
    pub method: String,
    pub path: String,
}

/// A credential route: `http://127.0.0.1:PORT/<name>/…` → `upstream/…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub name: String,
    /// `https://host[:port][/base]` (or `http://` for a loopback upstream).
    pub upstream: String,
    pub inject: InjectMode,
    /// The per-session phantom token (hex) the agent presents instead.
    pub phantom: String,
    /// Empty: every request is allowed.
    pub endpoints: Vec<EndpointRule>,
}

/// A loopback address in the agent's namespace whose connections the
/// proxy relays, byte for byte, to `host:port` on the host (an allowlist
/// rule without path limits; the proxy checks it and the address again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortForward {
    pub listen: std::net::SocketAddr,
    pub host: String,
    pub port: u16,
}

/// Everything the proxy enforces for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyConfig {
    /// Required on every forward-proxy request (`Proxy-Authorization`).
    pub session_token: String,
    /// The allowlist, parsed by the front end from the user's entries
    /// (`host`, `host:port`, `*.suffix`, `https://host/path/**`).
    pub hosts: Allowlist,
    pub routes: Vec<Route>,
    /// `host:port` of an upstream (enterprise) proxy.
    pub upstream_proxy: Option<String>,
    /// Hosts (`*.suffix` allowed) that bypass the upstream proxy.
    pub upstream_bypass: Vec<String>,
    /// PEM file of trusted roots for upstream TLS (read before confining).
    pub trust_file: Vec<u8>,
    /// One per listening socket after the first, in order.
    pub forwards: Vec<PortForward>,
}

/// One decision, for the audit trail and the post-run summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyEvent {
    pub allowed: bool,
    /// `CONNECT`, an HTTP method, or `credential:<name>`.
    pub kind: String,
    pub host: String,
    pub port: u16,
    /// Request path when known (never a query string: it may carry secrets).
    pub path: String,
    pub reason: ProxyReason,
}

/// Why the proxy decided as it did, as data: the front end renders it and
/// adds which flag or profile field grants a refusal. The agent gets the
/// same words (never a flag name) in the refusal's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyReason {
    /// Allowed on every path.
    Allowed,
    /// Allowed by a URL rule's path.
    PathRule,
    /// A CONNECT to a host limited to paths: intercepted, each request checked.
    Intercepted,
    /// A forwarded loopback destination, relayed byte for byte.
    Relayed,
    /// A credential route's request, sent with the real credential.
    CredentialInjected,
    /// A forward-proxy request without the session token.
    NoSessionToken,
    /// No credential route has that name.
    NoSuchRoute,
    /// A credential route's request without its phantom token.
    NoPhantomToken,
    /// The host and port are not in the allowlist.
    NotListed,
    /// The host is allowed on other paths only.
    PathNotAllowed,
    /// A forwarded destination limited to paths (a relay has none to check).
    RelayNeedsAllPaths,
    /// The credential route does not allow this endpoint.
    EndpointNotAllowed,
    /// The client refused the interception certificate.
    InterceptionRefused,
    /// The destination rules refused the address.
    Destination(Refusal),
    /// The network failed (connecting, the upstream proxy, the request).
    Network(String),
}

impl std::fmt::Display for ProxyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProxyReason::Allowed => "allowed",
            ProxyReason::PathRule => "allowed by a path rule",
            ProxyReason::Intercepted => "intercepted: path rules apply",
            ProxyReason::Relayed => "allowed (relayed)",
            ProxyReason::CredentialInjected => "credential injected",
            ProxyReason::NoSessionToken => "missing or wrong session token",
            ProxyReason::NoSuchRoute => "no such credential route",
            ProxyReason::NoPhantomToken => "missing or wrong phantom token for this credential",
            ProxyReason::NotListed => "host not in the allowlist",
            ProxyReason::PathNotAllowed => "path not allowed for this host",
            ProxyReason::RelayNeedsAllPaths => {
                "not allowed on every path (a relayed connection has no paths to check)"
            }
            ProxyReason::EndpointNotAllowed => "endpoint not allowed for this credential",
            ProxyReason::InterceptionRefused => "the client refused the interception certificate",
            ProxyReason::Destination(r) => return write!(f, "{r}"),
            ProxyReason::Network(m) => m,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyRequest {
    Hello {
        version: u32,
    },
    /// Sent with the listening TCP socket, then one per `forwards` entry.
    Configure(Box<ProxyConfig>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyResponse {
    Hello {
        version: u32,
    },
    /// Confined and serving. `ca_pem`: the session CA certificate when
    /// some rule needs TLS interception (its key never leaves the proxy).
    Ready {
        ca_pem: Option<String>,
    },
    Failed {
        message: String,
    },
    Event(ProxyEvent),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostrules::{Access, Allowlist};

    /// The allowlist crosses parsed: what the proxy decodes decides as the
    /// front end's own copy does.
    #[test]
    fn the_parsed_allowlist_crosses_the_wire_unchanged() {
        let entries = [
            "api.test",
            "*.docs.test",
            "https://x.test/ok/**",
            "127.0.0.1:8081",
        ];
        let hosts = Allowlist::parse(&entries.map(String::from)).unwrap();
        let cfg = ProxyConfig {
            session_token: "t".into(),
            hosts: hosts.clone(),
            routes: Vec::new(),
            upstream_proxy: None,
            upstream_bypass: Vec::new(),
            trust_file: Vec::new(),
            forwards: Vec::new(),
        };
        let m = ProxyRequest::Configure(Box::new(cfg));
        let ProxyRequest::Configure(got) =
            crate::codec::decode::<ProxyRequest>(&crate::codec::encode(&m).unwrap()).unwrap()
        else {
            panic!("Configure");
        };
        assert_eq!(got.hosts, hosts);
        assert_eq!(got.hosts.check("api.test", 443), Access::AllPaths);
        assert_eq!(got.hosts.check("a.docs.test", 80), Access::AllPaths);
        assert_eq!(got.hosts.check("evil.test", 443), Access::Denied);
        assert!(matches!(got.hosts.check("x.test", 443), Access::Paths(_)));
    }

    #[test]
    fn reasons_name_no_flags() {
        for r in [
            ProxyReason::NotListed,
            ProxyReason::PathNotAllowed,
            ProxyReason::EndpointNotAllowed,
            ProxyReason::Destination(crate::hostrules::addr::Refusal::Address {
                ip: [10, 0, 0, 1].into(),
                class: crate::hostrules::addr::AddrClass::NeedsLiteral,
            }),
        ] {
            assert!(!r.to_string().contains("--"), "{r}");
        }
    }
}

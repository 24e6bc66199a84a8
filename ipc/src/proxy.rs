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
    /// Allowlist entries: `host`, `host:port`, `*.suffix`, `https://host/path/**`.
    pub hosts: Vec<String>,
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
    pub reason: String,
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

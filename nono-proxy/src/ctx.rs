//! What every request handler shares: the session's policy, routes,
//! upstream TLS configuration and the event sink.

use std::sync::Arc;

use hyper::HeaderMap;
use rustls::ClientConfig;
use zeroize::Zeroizing;

use crate::dial::Egress;
use crate::events::Events;
use crate::hosts::Allowlist;
use crate::mitm::Ca;
use crate::pool::Pool;
use crate::routes::RouteState;
use crate::token;

#[derive(Debug)]
pub struct Ctx {
    pub token: Zeroizing<Vec<u8>>,
    pub allow: Allowlist,
    pub egress: Egress,
    pub routes: Vec<RouteState>,
    pub tls: Arc<ClientConfig>,
    pub ca: Option<Ca>,
    pub events: Events,
    /// Idle upstream connections for relayed requests.
    pub pool: Arc<Pool>,
    /// The port the agent reaches the proxy on (127.0.0.1 in its namespace).
    pub own_port: u16,
}

impl Ctx {
    /// The session token in `Proxy-Authorization: Basic …` (any user name).
    pub fn authorized(&self, h: &HeaderMap) -> bool {
        h.get_all(hyper::header::PROXY_AUTHORIZATION)
            .iter()
            .filter_map(|v| token::basic_password(v.as_bytes()))
            .any(|p| token::same(&p, &self.token))
    }
}

//! Relaying one checked request to its upstream (plain forwarding and TLS
//! interception share it): checked dial, hop-by-hop headers stripped,
//! origin-form target, Host set, the decision reported.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use ipc::proxy::ProxyReason;

use crate::body::{self, Body};
use crate::ctx::Ctx;
use crate::dial::DialError;
use crate::pool::Key;
use crate::upstream::{self, SendError};

/// 403 for a policy refusal, 502 for a network failure.
pub fn dial_failed(e: &DialError) -> Response<Body> {
    let code = match e {
        DialError::Policy(_) => StatusCode::FORBIDDEN,
        DialError::Network(_) => StatusCode::BAD_GATEWAY,
    };
    body::status(code, &e.reason().to_string())
}

/// The request target reduced to path and query.
pub fn origin_form(uri: &hyper::Uri) -> Option<hyper::Uri> {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()
        .ok()
}

/// Send an allowed request to `host:port` (over verified TLS when `tls`).
pub async fn relay(
    ctx: &Ctx,
    req: Request<Incoming>,
    host: &str,
    port: u16,
    tls: bool,
    reason: ProxyReason,
) -> Response<Body> {
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let (mut parts, b) = req.into_parts();
    body::strip_hop_by_hop(&mut parts.headers);
    let Some(target) = origin_form(&parts.uri) else {
        return body::status(StatusCode::BAD_REQUEST, "invalid request target");
    };
    parts.uri = target;
    let default_port = if tls { 443 } else { 80 };
    if let Ok(v) = upstream::authority(host, port, default_port).parse() {
        parts.headers.insert(hyper::header::HOST, v);
    }
    let tls_cfg = tls.then_some((&ctx.tls, host));
    let key = Key {
        tls,
        host: host.to_string(),
        port,
        via_upstream_proxy: ctx.egress.via_upstream_proxy(host),
        route: None,
    };
    let dial = || ctx.egress.dial(host, port);
    let req = Request::from_parts(parts, b);
    match upstream::send(&ctx.pool, key, tls_cfg, dial, req).await {
        Ok(resp) => {
            ctx.events.emit(true, &method, host, port, &path, reason);
            let (mut p, b) = resp.into_parts();
            body::strip_hop_by_hop(&mut p.headers);
            Response::from_parts(p, b.map_err(Into::into).boxed())
        }
        Err(SendError::Dial(e)) => {
            ctx.events
                .emit(false, &method, host, port, &path, e.reason());
            dial_failed(&e)
        }
        Err(e @ SendError::Exchange(_)) => {
            let why = e.reason();
            let text = why.to_string();
            ctx.events.emit(false, &method, host, port, &path, why);
            body::status(StatusCode::BAD_GATEWAY, &text)
        }
    }
}

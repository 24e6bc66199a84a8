//! Plain-HTTP forward proxying (`GET http://host/path`): session token,
//! allowlist (paths included), checked dial, origin-form upstream request.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use ipc::proxy::ProxyReason;

use crate::body::{self, Body};
use crate::ctx::Ctx;
use crate::hosts::{self, Access};
use crate::{relay, reverse};

pub async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    if req.uri().scheme_str() != Some("http") {
        return body::status(
            StatusCode::BAD_REQUEST,
            "only http:// URLs are forwarded; use CONNECT for https",
        );
    }
    let Some(auth) = req.uri().authority().cloned() else {
        return body::status(StatusCode::BAD_REQUEST, "absolute URL without a host");
    };
    let host = hosts::normalize(auth.host());
    let port = auth.port_u16().unwrap_or(80);
    if port == ctx.own_port && matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") {
        // A client that sent a credential-route URL through HTTP_PROXY.
        return reverse::handle(ctx, origin_form(req)).await;
    }
    if !ctx.authorized(req.headers()) {
        ctx.events.emit(
            false,
            &method,
            &host,
            port,
            &path,
            ProxyReason::NoSessionToken,
        );
        return body::proxy_auth_required();
    }
    let access = ctx.allow.check(&host, port);
    let (reason, why) = match &access {
        Access::Denied => (None, ProxyReason::NotListed),
        Access::AllPaths => (Some(ProxyReason::Allowed), ProxyReason::Allowed),
        Access::Paths(_) if access.permits(&path) => {
            (Some(ProxyReason::PathRule), ProxyReason::PathRule)
        }
        Access::Paths(_) => (None, ProxyReason::PathNotAllowed),
    };
    let Some(reason) = reason else {
        let text = format!("{host}:{port}{path}: {why}");
        ctx.events.emit(false, &method, &host, port, &path, why);
        return body::status(StatusCode::FORBIDDEN, &text);
    };
    relay::relay(&ctx, req, &host, port, false, reason).await
}

/// The request with its URI reduced to path and query.
fn origin_form(req: Request<Incoming>) -> Request<Incoming> {
    let (mut parts, b) = req.into_parts();
    if let Some(u) = relay::origin_form(&parts.uri) {
        parts.uri = u;
    }
    Request::from_parts(parts, b)
}

//! Credential routes (`/<service>/rest`): phantom token check (constant
//! time, this route's token only), endpoint rules, phantom stripped, real
//! credential injected, response scrubbed of the credential.

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use ipc::proxy::ProxyReason;

use crate::body::{self, Body};
use crate::ctx::Ctx;
use crate::error::ProxyError;
use crate::pool::Key;
use crate::routes::RouteState;
use crate::{scrub, upstream};

fn split(path: &str) -> (&str, &str) {
    let p = path.trim_start_matches('/');
    match p.find('/') {
        Some(i) => (&p[..i], &p[i..]),
        None => (p, ""),
    }
}

pub async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().to_string();
    let (name, rest) = split(req.uri().path());
    let (name, rest) = (name.to_string(), rest.to_string());
    let Some(route) = ctx.routes.iter().find(|r| r.name == name) else {
        ctx.events.emit(
            false,
            "credential",
            &name,
            0,
            &rest,
            ProxyReason::NoSuchRoute,
        );
        return body::status(
            StatusCode::NOT_FOUND,
            "no such credential route (use the <NAME>_BASE_URL nono set, or HTTPS_PROXY)",
        );
    };
    let kind = format!("credential:{}", route.name);
    let upstream_path = format!(
        "{}{}",
        route.base,
        if rest.is_empty() { "/" } else { &rest }
    );
    let (mut parts, b) = req.into_parts();
    if !route.presented(&parts) {
        let why = ProxyReason::NoPhantomToken;
        let text = why.to_string();
        ctx.events
            .emit(false, &kind, &route.host, route.port, &upstream_path, why);
        return body::status(StatusCode::UNAUTHORIZED, &text);
    }
    if !route.endpoint_allowed(&method, &upstream_path) {
        let why = ProxyReason::EndpointNotAllowed;
        let text = format!("{method} {upstream_path}: {why}");
        ctx.events
            .emit(false, &kind, &route.host, route.port, &upstream_path, why);
        return body::status(StatusCode::FORBIDDEN, &text);
    }
    if let Err(e) = rewrite(route, &mut parts, &upstream_path) {
        let text = e.to_string();
        let why = ProxyReason::Network(text.clone());
        ctx.events
            .emit(false, &kind, &route.host, route.port, &upstream_path, why);
        return body::status(StatusCode::BAD_GATEWAY, &text);
    }
    let key = Key {
        tls: route.https,
        host: route.host.clone(),
        port: route.port,
        via_upstream_proxy: ctx.egress.via_upstream_proxy(&route.host),
        route: Some(route.name.clone()),
    };
    let tls_cfg = route.https.then_some((&ctx.tls, route.host.as_str()));
    let dial = || ctx.egress.dial_named(&route.host, route.port);
    let req = Request::from_parts(parts, b);
    match upstream::send(&ctx.pool, key, tls_cfg, dial, req).await {
        Ok(resp) => {
            ctx.events.emit(
                true,
                &kind,
                &route.host,
                route.port,
                &upstream_path,
                ProxyReason::CredentialInjected,
            );
            let (mut p, b) = resp.into_parts();
            body::strip_hop_by_hop(&mut p.headers);
            scrub::headers(&mut p.headers, &route.secrets);
            let b = scrub::Scrubbed::new(b, route.secrets.clone());
            Response::from_parts(p, b.map_err(Into::into).boxed())
        }
        Err(e) => {
            // hyper's messages never contain header values.
            let why = e.reason();
            let text = why.to_string();
            ctx.events
                .emit(false, &kind, &route.host, route.port, &upstream_path, why);
            body::status(StatusCode::BAD_GATEWAY, &text)
        }
    }
}

/// Rewrite the request for the upstream: hop-by-hop headers out, the
/// credential in, the upstream's path and Host.
fn rewrite(
    route: &RouteState,
    parts: &mut hyper::http::request::Parts,
    upstream_path: &str,
) -> Result<(), ProxyError> {
    let query = parts.uri.query().map(str::to_string);
    body::strip_hop_by_hop(&mut parts.headers);
    let q = route.inject(parts, query.as_deref())?;
    let target = match q {
        Some(q) => format!("{upstream_path}?{q}"),
        None => upstream_path.to_string(),
    };
    parts.uri = target.parse().map_err(|_| ProxyError::UpstreamPath)?;
    let default = if route.https { 443 } else { 80 };
    let host = HeaderValue::from_str(&upstream::authority(&route.host, route.port, default))
        .map_err(|_| ProxyError::UpstreamHostHeader)?;
    parts.headers.insert(hyper::header::HOST, host);
    // Compressed bodies could hide a reflected credential from scrubbing.
    parts.headers.insert(
        hyper::header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    Ok(())
}

//! `CONNECT host:port`: session token, allowlist, checked dial, then a
//! blind tunnel — or, when the host is limited to some paths, TLS
//! interception with a leaf from the session CA (see `intercept.rs`).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ipc::proxy::ProxyReason;
use tokio::net::TcpStream;

use crate::body::{self, Body};
use crate::ctx::Ctx;
use crate::hosts::{self, Access};
use crate::{intercept, relay, splice};

/// Copy buffer per direction of a tunnel that cannot be spliced (tokio's
/// default is 8 KiB).
const TUNNEL_BUF: usize = 64 * 1024;

pub async fn handle(ctx: Arc<Ctx>, mut req: Request<Incoming>) -> Response<Body> {
    let Some(auth) = req.uri().authority().cloned() else {
        return body::status(StatusCode::BAD_REQUEST, "CONNECT needs host:port");
    };
    let host = hosts::normalize(auth.host());
    let port = auth.port_u16().unwrap_or(443);
    if !ctx.authorized(req.headers()) {
        ctx.events.emit(
            false,
            "CONNECT",
            &host,
            port,
            "",
            ProxyReason::NoSessionToken,
        );
        return body::proxy_auth_required();
    }
    match ctx.allow.check(&host, port) {
        Access::Denied => {
            let why = ProxyReason::NotListed;
            let text = format!("{host}:{port}: {why}");
            ctx.events.emit(false, "CONNECT", &host, port, "", why);
            body::status(StatusCode::FORBIDDEN, &text)
        }
        Access::Paths(globs) => {
            let Some(_) = ctx.ca.as_ref() else {
                return body::status(StatusCode::FORBIDDEN, "path rules need TLS interception");
            };
            ctx.events
                .emit(true, "CONNECT", &host, port, "", ProxyReason::Intercepted);
            let upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                if let Ok(up) = upgrade.await {
                    intercept::serve(ctx, TokioIo::new(up), host, port, globs).await;
                }
            });
            Response::new(body::empty())
        }
        Access::AllPaths => match ctx.egress.dial(&host, port).await {
            Err(e) => {
                ctx.events
                    .emit(false, "CONNECT", &host, port, "", e.reason());
                relay::dial_failed(&e)
            }
            Ok(upstream) => {
                ctx.events
                    .emit(true, "CONNECT", &host, port, "", ProxyReason::Allowed);
                let upgrade = hyper::upgrade::on(&mut req);
                tokio::spawn(async move {
                    if let Ok(up) = upgrade.await {
                        blind(up, upstream).await;
                    }
                });
                Response::new(body::empty())
            }
        },
    }
}

/// Relay a blind tunnel: in the kernel (`splice.rs`) when the agent's side
/// is the plain socket it always is, through user-space buffers otherwise.
async fn blind(up: Upgraded, mut upstream: TcpStream) {
    match up.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => {
            let agent = parts.io.into_inner();
            if splice::write_pending(&mut upstream, &parts.read_buf)
                .await
                .is_ok()
            {
                let _ = splice::tunnel(agent, upstream).await;
            }
        }
        Err(up) => {
            let mut up = TokioIo::new(up);
            let _ = tokio::io::copy_bidirectional_with_sizes(
                &mut up,
                &mut upstream,
                TUNNEL_BUF,
                TUNNEL_BUF,
            )
            .await;
        }
    }
}

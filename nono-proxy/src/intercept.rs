//! TLS interception for hosts limited to some paths: the agent's TLS ends
//! here (leaf from the session CA), each request's path is checked against
//! the globs, and allowed requests go to the real host over verified TLS.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ipc::proxy::ProxyReason;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

use crate::body::{self, Body};
use crate::ctx::Ctx;
use crate::{glob, relay};

pub async fn serve<IO>(ctx: Arc<Ctx>, io: IO, host: String, port: u16, globs: Vec<String>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(cfg) = ctx.ca.as_ref().and_then(|ca| ca.server_for(&host).ok()) else {
        return;
    };
    let Ok(tls) = TlsAcceptor::from(cfg).accept(io).await else {
        ctx.events.emit(
            false,
            "CONNECT",
            &host,
            port,
            "",
            ProxyReason::InterceptionRefused,
        );
        return;
    };
    let (globs, h) = (Arc::new(globs), host.clone());
    let svc = service_fn(move |req| {
        let (ctx, host, globs) = (ctx.clone(), h.clone(), globs.clone());
        async move { Ok::<_, std::convert::Infallible>(request(ctx, req, &host, port, &globs).await) }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(tls), svc)
        .await;
}

async fn request(
    ctx: Arc<Ctx>,
    req: Request<Incoming>,
    host: &str,
    port: u16,
    globs: &[String],
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let method = req.method().to_string();
    if !globs.iter().any(|g| glob::matches(g, &path)) {
        let why = ProxyReason::PathNotAllowed;
        let text = format!("{host}{path}: {why}");
        ctx.events.emit(false, &method, host, port, &path, why);
        return body::status(StatusCode::FORBIDDEN, &text);
    }
    relay::relay(&ctx, req, host, port, true, ProxyReason::PathRule).await
}

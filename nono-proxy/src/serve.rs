//! Accepting the agent's connections and dispatching each request:
//! `CONNECT` (tunnel or interception), absolute-form `http://` (forward
//! proxy), origin-form `/<service>/…` (credential routes).

use std::convert::Infallible;
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::body::Body;
use crate::ctx::Ctx;
use crate::{connect, forward, reverse};

/// Concurrent agent connections; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 1024;

async fn dispatch(ctx: Arc<Ctx>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    Ok(if req.method() == Method::CONNECT {
        connect::handle(ctx, req).await
    } else if req.uri().scheme().is_some() {
        forward::handle(ctx, req).await
    } else {
        reverse::handle(ctx, req).await
    })
}

pub async fn run(listener: StdListener, ctx: Arc<Ctx>) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(crate::pool::reaper(ctx.pool.clone()));
    loop {
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| dispatch(ctx.clone(), req));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(60))
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
            drop(permit);
        });
    }
}

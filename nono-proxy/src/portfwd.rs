//! Forwarded loopback destinations: a listener inside the agent's
//! namespace per allowed `127.0.0.1:PORT` (or `[::1]:PORT`, `localhost:PORT`),
//! for clients that ignore the proxy variables (Node's `fetch`, raw
//! sockets). Each connection is checked against the allowlist again — the
//! rule must allow the host and port on every path, since a byte relay
//! sees no paths — and relayed to the same address on the host.

use std::net::TcpListener as StdListener;
use std::sync::Arc;

use ipc::proxy::{PortForward, ProxyReason};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::ctx::Ctx;
use crate::hosts::{self, Access};

/// Concurrent relayed connections per forwarded address.
const MAX_CONNECTIONS: usize = 256;
/// The event kind of a relayed connection.
const KIND: &str = "TCP";

pub async fn run(fwd: PortForward, listener: StdListener, ctx: Arc<Ctx>) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let fwd = Arc::new(fwd);
    loop {
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (ctx, fwd) = (ctx.clone(), fwd.clone());
        tokio::spawn(async move {
            relay(&ctx, &fwd, stream).await;
            drop(permit);
        });
    }
}

async fn relay(ctx: &Ctx, fwd: &PortForward, agent: TcpStream) {
    let ip = fwd.listen.ip();
    let shown = ip.to_string();
    let host = hosts::normalize(&fwd.host);
    if ctx.allow.check(&host, fwd.port) != Access::AllPaths || fwd.listen.port() != fwd.port {
        let why = ProxyReason::RelayNeedsAllPaths;
        ctx.events.emit(false, KIND, &shown, fwd.port, "", why);
        return;
    }
    match ctx.egress.dial_loopback(ip, fwd.port).await {
        Err(e) => ctx
            .events
            .emit(false, KIND, &shown, fwd.port, "", e.reason()),
        Ok(upstream) => {
            ctx.events
                .emit(true, KIND, &shown, fwd.port, "", ProxyReason::Relayed);
            let _ = agent.set_nodelay(true);
            let _ = crate::splice::tunnel(agent, upstream).await;
        }
    }
}

//! One HTTP/1.1 exchange with an upstream over a checked TCP stream,
//! optionally wrapped in TLS (verified against the trust roots), on a
//! pooled connection to the same destination when one is idle.

use std::sync::Arc;

use std::future::Future;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use ipc::proxy::ProxyReason;

use crate::dial::DialError;
use crate::pool::{self, Key, Pool, Sender};
use crate::tls;

/// Why a request could not be relayed: the dial (policy or network) or
/// the exchange with the upstream.
#[derive(Debug)]
pub enum SendError {
    Dial(DialError),
    Exchange(String),
}

impl SendError {
    /// The reason reported to the front end (and, in words, to the agent).
    pub fn reason(&self) -> ProxyReason {
        match self {
            SendError::Dial(e) => e.reason(),
            SendError::Exchange(m) => ProxyReason::Network(m.clone()),
        }
    }
}

async fn handshake<IO>(io: IO) -> Result<Sender, SendError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| SendError::Exchange(format!("upstream handshake: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// A new HTTP/1.1 connection on `stream`; TLS with SNI `host` when `tls`
/// is given.
async fn connect(
    stream: TcpStream,
    tls_cfg: Option<(&Arc<ClientConfig>, &str)>,
) -> Result<Sender, SendError> {
    match tls_cfg {
        None => handshake(stream).await,
        Some((cfg, host)) => {
            let name = tls::server_name(host).map_err(|e| SendError::Exchange(e.to_string()))?;
            let s = TlsConnector::from(cfg.clone())
                .connect(name, stream)
                .await
                .map_err(|e| SendError::Exchange(format!("TLS with {host}: {e}")))?;
            handshake(s).await
        }
    }
}

/// Send `req` (origin-form URI) to the destination `key` names: on an idle
/// pooled connection for exactly that key, else on a new one from `dial`
/// (TLS with SNI `host` when `tls_cfg` is given). A pooled connection that
/// closed before the request was written is replaced by a new one.
pub async fn send<F, Fut>(
    pool: &Arc<Pool>,
    key: Key,
    tls_cfg: Option<(&Arc<ClientConfig>, &str)>,
    dial: F,
    mut req: Request<Incoming>,
) -> Result<Response<Incoming>, SendError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<TcpStream, DialError>>,
{
    if let Some(mut s) = pool.take(&key) {
        match s.try_send_request(req).await {
            Ok(resp) => return Ok(finish(pool, key, s, resp)),
            Err(mut e) => match e.take_message() {
                Some(unsent) => req = unsent,
                None => return Err(exchange_failed(e.into_error())),
            },
        }
    }
    let stream = dial().await.map_err(SendError::Dial)?;
    let mut s = connect(stream, tls_cfg).await?;
    let resp = s.send_request(req).await.map_err(exchange_failed)?;
    Ok(finish(pool, key, s, resp))
}

fn exchange_failed(e: hyper::Error) -> SendError {
    SendError::Exchange(format!("upstream request failed: {e}"))
}

/// Hand a connection whose response allows reuse back to the pool.
fn finish(pool: &Arc<Pool>, key: Key, s: Sender, resp: Response<Incoming>) -> Response<Incoming> {
    if pool::reusable(&resp) {
        pool.recycle(key, s);
    }
    resp
}

/// `authority` for a Host header.
pub fn authority(host: &str, port: u16, default_port: u16) -> String {
    let h = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    if port == default_port {
        h
    } else {
        format!("{h}:{port}")
    }
}

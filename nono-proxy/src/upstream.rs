//! One HTTP/1.1 exchange with an upstream over a checked TCP stream,
//! optionally wrapped in TLS (verified against the trust roots).

use std::sync::Arc;

use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::body::BoxError;
use crate::tls;

async fn exchange<IO, B>(io: IO, req: Request<B>) -> Result<Response<Incoming>, String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("upstream handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send.send_request(req)
        .await
        .map_err(|e| format!("upstream request failed: {e}"))
}

/// Send `req` (origin-form URI) to the peer on `stream`; TLS with SNI
/// `host` when `tls` is given.
pub async fn send<B>(
    stream: TcpStream,
    tls_cfg: Option<(&Arc<ClientConfig>, &str)>,
    req: Request<B>,
) -> Result<Response<Incoming>, String>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    match tls_cfg {
        None => exchange(stream, req).await,
        Some((cfg, host)) => {
            let name = tls::server_name(host)?;
            let s = TlsConnector::from(cfg.clone())
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS with {host}: {e}"))?;
            exchange(s, req).await
        }
    }
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

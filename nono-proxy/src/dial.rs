//! Dialling out: the proxy resolves names itself, checks every address,
//! and connects to the address it checked (never re-resolving), directly or
//! through the upstream proxy's CONNECT.

use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use ipc::hostrules::addr::Refusal;
use ipc::proxy::ProxyReason;

use crate::addr::{self, Literal};
use crate::error::ProxyError;
use crate::hosts::bypassed;

/// Why a dial failed: the policy refused it (403) or the network did (502).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialError {
    Policy(Refusal),
    Network(String),
}

impl DialError {
    /// The reason reported to the front end.
    pub fn reason(&self) -> ProxyReason {
        match self {
            DialError::Policy(r) => ProxyReason::Destination(r.clone()),
            DialError::Network(m) => ProxyReason::Network(m.clone()),
        }
    }
}

impl From<ProxyError> for DialError {
    fn from(e: ProxyError) -> Self {
        DialError::Network(e.to_string())
    }
}

/// Where outbound connections go.
#[derive(Debug, Clone)]
pub struct Egress {
    /// Addresses the user allowed literally, with their ports.
    pub literal: Vec<Literal>,
    /// Upstream proxy `(host, port)`.
    pub upstream: Option<(String, u16)>,
    pub bypass: Vec<String>,
}

/// Resolve `host` and keep the first address that may be dialled on
/// `port` (the checks are `ipc::hostrules`, shared with `nono why`).
/// `named_by_user`: the address of something the user configured (the
/// upstream proxy), where private addresses are expected.
async fn resolve_checked(
    host: &str,
    port: u16,
    literal: &[Literal],
    named_by_user: bool,
) -> Result<SocketAddr, DialError> {
    let by_user = |ip: IpAddr| [Literal::exact(ip, port)];
    if let Ok(ip) = host.parse::<IpAddr>() {
        if named_by_user {
            return addr::precheck(host, port, &by_user(ip))
                .map(|_| SocketAddr::new(ip, port))
                .map_err(DialError::Policy);
        }
    }
    if let Some(ip) = addr::precheck(host, port, literal).map_err(DialError::Policy)? {
        return Ok(SocketAddr::new(ip, port));
    }
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| DialError::Network(format!("cannot resolve {host}: {e}")))?
        .map(|a| a.ip())
        .collect();
    if named_by_user {
        // Each address counts as named by the user, metadata excepted.
        let mut last = Refusal::NoAddresses {
            host: host.to_string(),
        };
        for &a in &addrs {
            match addr::first_dialable(host, port, &[a], &by_user(a)) {
                Ok(ip) => return Ok(SocketAddr::new(ip, port)),
                Err(why) => last = why,
            }
        }
        return Err(DialError::Policy(last));
    }
    addr::first_dialable(host, port, &addrs, literal)
        .map(|ip| SocketAddr::new(ip, port))
        .map_err(DialError::Policy)
}

impl Egress {
    /// A TCP stream to `host:port` (checked), through the upstream proxy
    /// unless the host is bypassed.
    pub async fn dial(&self, host: &str, port: u16) -> Result<TcpStream, DialError> {
        self.dial_checked(host, port, &self.literal).await
    }

    /// Whether `dial` goes through the upstream proxy for `host`.
    pub fn via_upstream_proxy(&self, host: &str) -> bool {
        self.upstream.is_some() && !bypassed(host, &self.bypass)
    }

    /// As [`Egress::dial`] for a host the user named in configuration (a
    /// credential upstream): an IP literal there counts as allowed
    /// literally, on that port.
    pub async fn dial_named(&self, host: &str, port: u16) -> Result<TcpStream, DialError> {
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                self.dial_checked(host, port, &[Literal::exact(ip, port)])
                    .await
            }
            Err(_) => self.dial(host, port).await,
        }
    }

    /// A loopback address the user allowed literally (a forwarded
    /// destination): checked as named by the user, dialled directly (an
    /// upstream proxy's loopback is not the host's).
    pub async fn dial_loopback(&self, ip: IpAddr, port: u16) -> Result<TcpStream, DialError> {
        if !ip.is_loopback() {
            return Err(DialError::Policy(Refusal::NotLoopback(ip)));
        }
        if let Some(class) = addr::refusal(ip, port, &[Literal::exact(ip, port)]) {
            return Err(DialError::Policy(Refusal::Address { ip, class }));
        }
        let s = TcpStream::connect(SocketAddr::new(ip, port))
            .await
            .map_err(|e| DialError::Network(format!("cannot connect to {ip}:{port}: {e}")))?;
        let _ = s.set_nodelay(true);
        Ok(s)
    }

    async fn dial_checked(
        &self,
        host: &str,
        port: u16,
        literal: &[Literal],
    ) -> Result<TcpStream, DialError> {
        match &self.upstream {
            Some((uh, up)) if !bypassed(host, &self.bypass) => {
                // Names are resolved by the upstream proxy; what can be
                // checked here is.
                addr::precheck(host, port, literal).map_err(DialError::Policy)?;
                // The upstream proxy itself was named by the user: private
                // addresses are fine, metadata and link-local are not.
                let proxy_ip = resolve_checked(uh, *up, &[], true).await?;
                let s = TcpStream::connect(proxy_ip)
                    .await
                    .map_err(|e| DialError::Network(format!("upstream proxy {uh}:{up}: {e}")))?;
                Ok(tunnel(s, host, port).await?)
            }
            _ => {
                let a = resolve_checked(host, port, literal, false).await?;
                let s = TcpStream::connect(a).await.map_err(|e| {
                    DialError::Network(format!("cannot connect to {host}:{port}: {e}"))
                })?;
                let _ = s.set_nodelay(true);
                Ok(s)
            }
        }
    }
}

/// `CONNECT host:port` through an upstream proxy; the stream is returned
/// once it answered 2xx.
async fn tunnel(mut s: TcpStream, host: &str, port: u16) -> Result<TcpStream, ProxyError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(ProxyError::UpstreamProxyIo)?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192
            || s.read(&mut byte)
                .await
                .map_err(ProxyError::UpstreamProxyIo)?
                == 0
        {
            return Err(ProxyError::UpstreamProxyClosed);
        }
        head.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') {
        Ok(s)
    } else {
        Err(ProxyError::UpstreamProxyRefused {
            authority,
            status: status.to_string(),
        })
    }
}

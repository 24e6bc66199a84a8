//! The proxy's lifecycle as types: `Hello` and one `Configure` (with the
//! listening socket) and the credentials, all before confinement; then
//! confined; then serving until the front end closes the channel.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use ipc::credentials::{receive_all, CredentialMessage, NoReply};
use ipc::proxy::{PortForward, ProxyConfig, ProxyRequest, ProxyResponse};
use ipc::Endpoint;
use nix::sys::socket::{getsockopt, sockopt};

use crate::ctx::Ctx;
use crate::dial::Egress;
use crate::error::{ProxyError, Result};
use crate::events::{Channel, Events};
use crate::hosts::{self, Allowlist};
use crate::mitm::Ca;
use crate::routes::RouteState;
use crate::{confine, tls};

/// Largest trust file read (the system bundle is about 200 KiB).
const MAX_TRUST_FILE: u64 = 16 << 20;

pub struct Unconfined {
    chan: Channel,
    creds: Option<OwnedFd>,
}

pub struct Confined {
    chan: Arc<Channel>,
    listener: TcpListener,
    forwards: Vec<(PortForward, TcpListener)>,
    parts: Parts,
}

/// Everything built before confinement.
struct Parts {
    token: zeroize::Zeroizing<Vec<u8>>,
    allow: Allowlist,
    egress: Egress,
    routes: Vec<RouteState>,
    /// The trust file's bytes (read before confinement, parsed after Ready).
    trust_pem: Vec<u8>,
    ca: Option<Ca>,
}

/// The configuration, the agent-facing listener and the forwards.
type Handshake = (ProxyConfig, TcpListener, Vec<(PortForward, TcpListener)>);

fn as_listener(fd: OwnedFd) -> Result<TcpListener> {
    if !getsockopt(&fd, sockopt::AcceptConn).map_err(|e| ProxyError::Listener(e.into()))? {
        return Err(ProxyError::NotAListener);
    }
    Ok(TcpListener::from(fd))
}

/// The agent-facing listener, then one per forwarded destination.
fn listeners(
    fds: Vec<OwnedFd>,
    forwards: &[PortForward],
) -> Result<(TcpListener, Vec<(PortForward, TcpListener)>)> {
    if fds.len() != forwards.len() + 1 {
        return Err(ProxyError::Descriptors {
            expected: forwards.len() + 1,
            got: fds.len(),
        });
    }
    let mut fds = fds.into_iter();
    let main = as_listener(fds.next().ok_or(ProxyError::Descriptors {
        expected: 1,
        got: 0,
    })?)?;
    let mut out = Vec::new();
    for (f, fd) in forwards.iter().zip(fds) {
        let l = as_listener(fd)?;
        if l.local_addr().map_err(ProxyError::Listener)? != f.listen {
            return Err(ProxyError::ListenerElsewhere(f.listen));
        }
        out.push((f.clone(), l));
    }
    Ok((main, out))
}

fn upstream(cfg: &ProxyConfig) -> Result<Option<(String, u16)>> {
    let Some(u) = &cfg.upstream_proxy else {
        return Ok(None);
    };
    let u = u.strip_prefix("http://").unwrap_or(u).trim_end_matches('/');
    match hosts::split_host_port(u).map_err(ProxyError::UpstreamHost)? {
        (h, Some(p)) => Ok(Some((hosts::normalize(&h), p))),
        (_, None) => Err(ProxyError::UpstreamProxyForm(u.to_string())),
    }
}

impl Unconfined {
    pub fn new(chan: OwnedFd, creds: Option<OwnedFd>) -> Unconfined {
        Unconfined {
            chan: Endpoint::from_fd(chan),
            creds,
        }
    }

    fn handshake(&self) -> Result<Handshake> {
        self.chan.answer_greeting()?;
        match self.chan.recv()? {
            (ProxyRequest::Configure(cfg), fds) => {
                let (main, forwards) = listeners(fds, &cfg.forwards)?;
                Ok((*cfg, main, forwards))
            }
            (ProxyRequest::Hello { .. }, _) => Err(ProxyError::ExpectedConfigure),
        }
    }

    fn build(&mut self, cfg: &ProxyConfig) -> Result<Parts> {
        let allow = cfg.hosts.clone();
        let names: Vec<String> = cfg.routes.iter().map(|r| r.name.clone()).collect();
        let mut secrets = match (names.is_empty(), self.creds.take()) {
            (true, _) => Vec::new(),
            (false, None) => return Err(ProxyError::NoCredentialsChannel),
            (false, Some(fd)) => {
                let chan: Endpoint<NoReply, CredentialMessage> = Endpoint::from_fd(fd);
                receive_all(&chan, &names).map_err(ProxyError::Credentials)?
            }
        };
        let mut routes = Vec::new();
        for r in &cfg.routes {
            let i = secrets
                .iter()
                .position(|(n, _)| *n == r.name)
                .ok_or(ProxyError::CredentialMissing)?;
            let (_, secret) = secrets.swap_remove(i);
            routes.push(RouteState::new(r.clone(), secret)?);
        }
        let trust = {
            use std::os::unix::ffi::OsStrExt;
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&cfg.trust_file))
        };
        let pem = read_limited(&trust)?;
        if !pem.windows(17).any(|w| w == b"BEGIN CERTIFICATE") {
            return Err(ProxyError::NoCertificates(trust));
        }
        let ca = if allow.intercepts() {
            Some(Ca::generate()?)
        } else {
            None
        };
        Ok(Parts {
            token: zeroize::Zeroizing::new(cfg.session_token.as_bytes().to_vec()),
            egress: Egress {
                literal: allow.literals(),
                upstream: upstream(cfg)?,
                bypass: cfg.upstream_bypass.clone(),
            },
            allow,
            routes,
            trust_pem: pem,
            ca,
        })
    }

    /// Receive the configuration and credentials, then confine.
    pub fn configure_and_confine(mut self) -> Result<Confined> {
        let (cfg, listener, forwards) = self.handshake()?;
        let parts = match self.build(&cfg) {
            Ok(p) => p,
            Err(e) => return Err(self.refuse(e)),
        };
        let mut ports = parts.allow.ports();
        ports.extend(parts.routes.iter().map(|r| r.port));
        ports.extend(parts.egress.upstream.as_ref().map(|u| u.1));
        ports.extend(forwards.iter().map(|(f, _)| f.port));
        if let Err(e) = confine::apply(&ports) {
            return Err(self.refuse(e));
        }
        Ok(Confined {
            chan: Arc::new(self.chan),
            listener,
            forwards,
            parts,
        })
    }

    /// Send the refusal to the front end, which reports it; only when that
    /// fails is it left for `main` to print (one message, never two).
    fn refuse(&self, error: ProxyError) -> ProxyError {
        let failed = ProxyResponse::Failed {
            message: error.to_string(),
        };
        match self.chan.send(&failed, &[]) {
            Ok(()) => ProxyError::Reported(Box::new(error)),
            Err(_) => error,
        }
    }
}

fn read_limited(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let cannot = |source| ProxyError::TrustFile {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(cannot)?;
    let mut buf = Vec::new();
    f.take(MAX_TRUST_FILE)
        .read_to_end(&mut buf)
        .map_err(cannot)?;
    Ok(buf)
}

impl Confined {
    /// Report ready, then serve until the front end hangs up.
    pub fn serve(self) -> Result<()> {
        let Confined {
            chan,
            listener,
            forwards,
            parts,
        } = self;
        let ca_pem = parts.ca.as_ref().map(Ca::cert_pem);
        chan.send(&ProxyResponse::Ready { ca_pem }, &[])?;
        // Parsing ~150 roots takes a while; the agent starts meanwhile. A
        // bad trust file ends the proxy, and nono ends the session.
        let tls = tls::client_config(&parts.trust_pem)?;
        let events = Events::start(chan.clone());
        let last = events.clone();
        std::thread::spawn(move || {
            // Nothing may follow Configure: a message ends it at once; a
            // hang-up once the queued events are sent (the front end reads
            // until the channel closes).
            match chan.recv_plain() {
                Err(ipc::IpcError::Closed) => last.finish(),
                _ => std::process::exit(1),
            }
        });
        let ctx = Arc::new(Ctx {
            token: parts.token,
            allow: parts.allow,
            egress: parts.egress,
            routes: parts.routes,
            tls,
            ca: parts.ca,
            events,
            pool: Arc::default(),
            own_port: listener.local_addr().map(|a| a.port()).unwrap_or(0),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .enable_all()
            .build()
            .map_err(ProxyError::Runtime)?;
        for (fwd, l) in forwards {
            rt.spawn(crate::portfwd::run(fwd, l, ctx.clone()));
        }
        rt.block_on(crate::serve::run(listener, ctx))
            .map_err(ProxyError::Serving)
    }
}

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

fn ipc_err(e: ipc::IpcError) -> String {
    format!("channel: {e}")
}

fn as_listener(fd: OwnedFd) -> Result<TcpListener, String> {
    if !getsockopt(&fd, sockopt::AcceptConn).map_err(|e| format!("listener: {e}"))? {
        return Err("a descriptor is not a listening socket".into());
    }
    Ok(TcpListener::from(fd))
}

/// The agent-facing listener, then one per forwarded destination.
fn listeners(
    fds: Vec<OwnedFd>,
    forwards: &[PortForward],
) -> Result<(TcpListener, Vec<(PortForward, TcpListener)>), String> {
    if fds.len() != forwards.len() + 1 {
        return Err(format!(
            "Configure must carry {} descriptor(s), not {}",
            forwards.len() + 1,
            fds.len()
        ));
    }
    let mut fds = fds.into_iter();
    let main = as_listener(fds.next().ok_or("no listener")?)?;
    let mut out = Vec::new();
    for (f, fd) in forwards.iter().zip(fds) {
        let l = as_listener(fd)?;
        if l.local_addr().map_err(|e| format!("listener: {e}"))? != f.listen {
            return Err(format!("the listener for {} is bound elsewhere", f.listen));
        }
        out.push((f.clone(), l));
    }
    Ok((main, out))
}

fn upstream(cfg: &ProxyConfig) -> Result<Option<(String, u16)>, String> {
    let Some(u) = &cfg.upstream_proxy else {
        return Ok(None);
    };
    let u = u.strip_prefix("http://").unwrap_or(u).trim_end_matches('/');
    match hosts::split_host_port(u)? {
        (h, Some(p)) => Ok(Some((hosts::normalize(&h), p))),
        (_, None) => Err(format!("--upstream-proxy '{u}' needs host:port")),
    }
}

impl Unconfined {
    pub fn new(chan: OwnedFd, creds: Option<OwnedFd>) -> Unconfined {
        Unconfined {
            chan: Endpoint::from_fd(chan),
            creds,
        }
    }

    fn handshake(&self) -> Result<Handshake, String> {
        self.chan.answer_greeting().map_err(ipc_err)?;
        match self.chan.recv().map_err(ipc_err)? {
            (ProxyRequest::Configure(cfg), fds) => {
                let (main, forwards) = listeners(fds, &cfg.forwards)?;
                Ok((*cfg, main, forwards))
            }
            (ProxyRequest::Hello { .. }, _) => Err("expected Configure".into()),
        }
    }

    fn build(&mut self, cfg: &ProxyConfig) -> Result<Parts, String> {
        let allow = Allowlist::parse(&cfg.hosts)?;
        let names: Vec<String> = cfg.routes.iter().map(|r| r.name.clone()).collect();
        let mut secrets = match (names.is_empty(), self.creds.take()) {
            (true, _) => Vec::new(),
            (false, None) => return Err("credential routes but no credentials channel".into()),
            (false, Some(fd)) => {
                let chan: Endpoint<NoReply, CredentialMessage> = Endpoint::from_fd(fd);
                receive_all(&chan, &names).map_err(|e| format!("credentials channel: {e}"))?
            }
        };
        let mut routes = Vec::new();
        for r in &cfg.routes {
            let i = secrets
                .iter()
                .position(|(n, _)| *n == r.name)
                .ok_or("credential missing")?;
            let (_, secret) = secrets.swap_remove(i);
            routes.push(RouteState::new(r.clone(), secret)?);
        }
        let trust = {
            use std::os::unix::ffi::OsStrExt;
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&cfg.trust_file))
        };
        let pem = read_limited(&trust)?;
        if !pem.windows(17).any(|w| w == b"BEGIN CERTIFICATE") {
            return Err(format!("trust file {}: no certificates", trust.display()));
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
    pub fn configure_and_confine(mut self) -> Result<Confined, String> {
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
    fn refuse(&self, message: String) -> String {
        let sent = self.chan.send(
            &ProxyResponse::Failed {
                message: message.clone(),
            },
            &[],
        );
        if sent.is_ok() {
            REPORTED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        message
    }
}

/// Whether a configuration failure went to the front end (which prints it).
pub static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn read_limited(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("trust file {}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(MAX_TRUST_FILE)
        .read_to_end(&mut buf)
        .map_err(|e| format!("trust file {}: {e}", path.display()))?;
    Ok(buf)
}

impl Confined {
    /// Report ready, then serve until the front end hangs up.
    pub fn serve(self) -> Result<(), String> {
        let Confined {
            chan,
            listener,
            forwards,
            parts,
        } = self;
        let ca_pem = parts.ca.as_ref().map(Ca::cert_pem);
        chan.send(&ProxyResponse::Ready { ca_pem }, &[])
            .map_err(ipc_err)?;
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
            .map_err(|e| format!("runtime: {e}"))?;
        for (fwd, l) in forwards {
            rt.spawn(crate::portfwd::run(fwd, l, ctx.clone()));
        }
        rt.block_on(crate::serve::run(listener, ctx))
            .map_err(|e| format!("serving: {e}"))
    }
}

//! Starting `nono-proxy` for a `run` session: the listening socket (from
//! the broker's fresh network namespace, or bound here in the Landlock
//! fallback), the configuration, the credentials (keyholder → proxy
//! directly), the session CA for the agent's trust bundle, and the
//! variables that point the agent's clients at the proxy. Afterwards the
//! proxy's decision events are collected for the post-run summary.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{bail, Context, Result};
use ipc::broker::{BrokerRequest, BrokerResponse};
use ipc::credentials::{CredentialMessage, NoReply};
use ipc::proxy::{PortForward, ProxyConfig, ProxyEvent, ProxyRequest, ProxyResponse};
use ipc::{Endpoint, CHANNEL_FD, CREDENTIALS_FD};

use super::credentials;
use super::prepare::Session;
use crate::helpers;
use crate::network::{self, Containment, ProxyPlan};
use crate::policy::plan::Plan;
use crate::{sys, ui};

pub type ProxyChannel = Endpoint<ProxyRequest, ProxyResponse>;
type BrokerFront = Endpoint<BrokerRequest, BrokerResponse>;

/// At most this long for the proxy to send its last events and close the
/// channel after the front end hung up (a bound for a stuck proxy only: a
/// healthy one closes as soon as its queue is empty).
const DRAIN_BOUND_MS: u16 = 2000;

/// Default trust roots for upstream TLS (the user's `SSL_CERT_FILE` wins).
const SYSTEM_TRUST: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A running proxy and what the session learned from it.
#[derive(Debug)]
pub struct Running {
    pub chan: ProxyChannel,
    child: Child,
    /// Variables for the agent.
    pub env: Vec<(String, String)>,
    /// Ports the agent may connect to: the proxy's, then its forwards'.
    pub agent_ports: Vec<u16>,
    allowed: u64,
    denied: BTreeMap<String, (ProxyEvent, u64)>,
    /// The live summary for `nono inspect`, kept up to date here.
    summary: Option<crate::sessions::ProxySummary>,
}

fn trust_file() -> PathBuf {
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(SYSTEM_TRUST))
}

/// The proxy's listening socket, its port, and the forwarded loopback
/// destinations with their listening sockets.
struct Listeners {
    proxy: OwnedFd,
    port: u16,
    forwards: Vec<(PortForward, OwnedFd)>,
}

/// The listening sockets the agent will reach.
fn listeners(px: &ProxyPlan, broker: &BrokerFront) -> Result<Listeners> {
    match &px.containment {
        Containment::Namespace => {
            let wanted: Vec<SocketAddr> = px.forwards.iter().map(|(a, _, _)| *a).collect();
            broker
                .send(
                    &BrokerRequest::Network {
                        port: px.port,
                        forwards: wanted,
                    },
                    &[],
                )
                .context("the broker (nono-broker) ended unexpectedly")?;
            match broker
                .recv()
                .context("the broker (nono-broker) ended unexpectedly")?
            {
                (BrokerResponse::Network { port, forwards }, fds)
                    if fds.len() == forwards.len() + 1 =>
                {
                    let mut fds = fds.into_iter();
                    let proxy = fds.next().context("listener")?;
                    let mut out = Vec::new();
                    for (at, fd) in forwards.into_iter().zip(fds) {
                        let Some((_, host, port)) = px.forwards.iter().find(|(a, _, _)| *a == at)
                        else {
                            bail!("the broker answered with an address nono did not ask for");
                        };
                        let fwd = PortForward {
                            listen: at,
                            host: host.clone(),
                            port: *port,
                        };
                        out.push((fwd, fd));
                    }
                    Ok(Listeners {
                        proxy,
                        port,
                        forwards: out,
                    })
                }
                (BrokerResponse::Failed { message, .. }, _) => {
                    bail!("cannot contain the command's network: {message}")
                }
                _ => bail!("the broker answered out of order"),
            }
        }
        Containment::Landlock(why) => {
            ui::warn(format!(
                "{why}: the command is held to the proxy by Landlock and seccomp only \
                 (it could reach the proxy's port number on other addresses)"
            ));
            let l = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, px.port))
                .with_context(|| format!("cannot listen on 127.0.0.1:{}", px.port))?;
            let port = l.local_addr()?.port();
            Ok(Listeners {
                proxy: OwnedFd::from(l),
                port,
                forwards: Vec::new(),
            })
        }
    }
}

/// What the proxy enforces; the allowlist parsed here, once, for the wire.
fn config(px: &ProxyPlan, trust: &Path, forwards: Vec<PortForward>) -> Result<ProxyConfig> {
    use std::os::unix::ffi::OsStrExt;
    Ok(ProxyConfig {
        session_token: px.session_token.clone(),
        hosts: ipc::hostrules::Allowlist::parse(&px.hosts)?,
        routes: px.routes.iter().map(|r| r.route.clone()).collect(),
        upstream_proxy: px.upstream_proxy.clone(),
        upstream_bypass: px.bypass.clone(),
        trust_file: trust.as_os_str().as_bytes().to_vec(),
        forwards,
    })
}

/// Write the agent's trust bundle (roots + session CA) and the CA alone.
fn write_ca(res: &Session, trust: &Path, ca_pem: &str) -> Result<(String, String)> {
    let Some((bundle, ca)) = &res.ca_files else {
        bail!("no session directory for the CA files");
    };
    let mut roots =
        std::fs::read(trust).with_context(|| format!("cannot read {}", trust.display()))?;
    roots.extend_from_slice(b"\n");
    roots.extend_from_slice(ca_pem.as_bytes());
    std::fs::write(bundle, roots).with_context(|| format!("cannot write {}", bundle.display()))?;
    std::fs::write(ca, ca_pem).with_context(|| format!("cannot write {}", ca.display()))?;
    Ok((bundle.display().to_string(), ca.display().to_string()))
}

fn spawn(creds: Option<OwnedFd>) -> Result<(ProxyChannel, Child)> {
    let exe = helpers::path("nono-proxy")?;
    let (front, end) = ipc::socketpair::<ProxyRequest, ProxyResponse>()
        .context("cannot create the proxy channel")?;
    let mut cmd = Command::new(&exe);
    cmd.env_clear();
    let mut fds = vec![(end.into_fd(), CHANNEL_FD)];
    fds.extend(creds.map(|c| (c, CREDENTIALS_FD)));
    sys::place_fds(&mut cmd, fds);
    sys::own_session(&mut cmd);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    Ok((front, child))
}

/// The proxy process, started before the broker is greeted so that its
/// exec and start-up overlap the broker's; it waits for its configuration
/// and serves nothing until [`start`] has sent it. Killed if dropped
/// before that.
pub struct Spawned {
    started: Option<(ProxyChannel, Child)>,
    keyholder_end: Option<OwnedFd>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some((_, child)) = self.started.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Start the proxy process when the plan has one (nothing configured yet).
pub fn spawn_early(plan: &Plan) -> Result<Option<Spawned>> {
    let Some(px) = plan.network.proxy.as_ref() else {
        return Ok(None);
    };
    let (keyholder_end, proxy_creds) = if px.routes.is_empty() {
        (None, None)
    } else {
        let (k, p) = ipc::socketpair::<CredentialMessage, NoReply>()?;
        (Some(k.into_fd()), Some(p.into_fd()))
    };
    Ok(Some(Spawned {
        started: Some(spawn(proxy_creds)?),
        keyholder_end,
    }))
}

/// Configure the proxy [`spawn_early`] started; returns once it is
/// confined and serving.
pub fn start(
    plan: &Plan,
    res: &Session,
    broker: &BrokerFront,
    spawned: Option<Spawned>,
) -> Result<Option<Running>> {
    let (Some(px), Some(mut spawned)) = (plan.network.proxy.clone(), spawned) else {
        return Ok(None);
    };
    let Listeners {
        proxy: listen_fd,
        port,
        forwards,
    } = listeners(&px, broker)?;
    let keyholder_end = spawned.keyholder_end.take();
    let Some((chan, mut child)) = spawned.started.take() else {
        bail!("the proxy (nono-proxy) was not started");
    };
    let died = |child: &mut Child| {
        let _ = child.kill();
        let _ = child.wait();
        anyhow::anyhow!("the proxy (nono-proxy) ended unexpectedly; nothing was run")
    };
    let trust = trust_file();
    if chan.greet().is_err() {
        return Err(died(&mut child));
    }
    let (forwards, forward_fds): (Vec<PortForward>, Vec<OwnedFd>) = forwards.into_iter().unzip();
    let forward_ports: Vec<u16> = forwards.iter().map(|f| f.listen.port()).collect();
    let forward_addrs: Vec<SocketAddr> = forwards.iter().map(|f| f.listen).collect();
    let mut fds = vec![listen_fd.as_fd()];
    fds.extend(forward_fds.iter().map(|f| f.as_fd()));
    match chan.send(
        &ProxyRequest::Configure(Box::new(config(&px, &trust, forwards)?)),
        &fds,
    ) {
        Ok(()) => {}
        Err(ipc::IpcError::FrameTooLarge(n)) => {
            let _ = died(&mut child);
            bail!("the proxy configuration ({} hosts) is {n} bytes, over the {}-byte limit of one message to nono-proxy; allow fewer hosts, e.g. one '*.example.com' instead of many subdomains", px.hosts.len(), ipc::MAX_FRAME);
        }
        Err(_) => return Err(died(&mut child)),
    }
    drop(fds);
    drop((listen_fd, forward_fds));
    if let Some(k) = keyholder_end {
        let items: Vec<_> = px.routes.iter().map(|r| r.item.clone()).collect();
        if let Err(e) = credentials::fetch(&items, k, "for the proxy") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    }
    let ca_pem = match chan.recv_plain() {
        Ok(ProxyResponse::Ready { ca_pem }) => ca_pem,
        Ok(ProxyResponse::Failed { message }) => {
            let _ = child.wait();
            bail!("the proxy refused its configuration: {message}");
        }
        _ => return Err(died(&mut child)),
    };
    let ca = match &ca_pem {
        Some(pem) => Some(write_ca(res, &trust, pem)?),
        None => None,
    };
    crate::learn::seen::proxy_port(port);
    // In the agent's namespace the only listeners on these ports are the
    // proxy's forwards.
    let mut agent_ports = vec![port];
    agent_ports.extend(&forward_ports);
    let env = network::agent_env(
        &px,
        port,
        ca.as_ref().map(|(b, c)| (b.as_str(), c.as_str())),
    );
    ui::info(format!(
        "proxy on 127.0.0.1:{port} ({} host rule(s), {} credential route(s){}{})",
        px.hosts.len(),
        px.routes.len(),
        if ca.is_some() {
            ", TLS interception for path rules"
        } else {
            ""
        },
        relayed(&forward_addrs),
    ));
    Ok(Some(Running {
        chan,
        child,
        env,
        agent_ports,
        allowed: 0,
        denied: BTreeMap::new(),
        summary: None,
    }))
}

/// `; relays 127.0.0.1:8081, [::1]:8081` for the start-up line.
fn relayed(addrs: &[SocketAddr]) -> String {
    if addrs.is_empty() {
        return String::new();
    }
    let list: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    format!("; relays {}", list.join(", "))
}

fn describe(e: &ProxyEvent) -> String {
    let target = if e.port == 0 {
        e.host.clone()
    } else {
        format!("{}:{}", e.host, e.port)
    };
    // The host and path are the command's: shown, not sent, to a terminal.
    let shown = crate::ui::shown(&target);
    format!("{} {}{}", e.kind, shown, crate::ui::shown(&e.path))
}

impl Running {
    /// Keep a live summary of the proxy's decisions in the session's
    /// directory (for `nono inspect`).
    pub fn summarise_to(&mut self, session_dir: &std::path::Path) {
        let s = crate::sessions::ProxySummary::new(session_dir);
        s.save();
        self.summary = Some(s);
    }

    /// Read one event (the channel is readable). Err: the proxy is gone.
    pub fn on_readable(&mut self) -> Result<()> {
        match self.chan.recv_plain() {
            Ok(ProxyResponse::Event(e)) => {
                crate::record::proxy(&e);
                crate::learn::seen::proxy_event(&e);
                if let Some(s) = &mut self.summary {
                    s.count(&e);
                }
                let what = describe(&e);
                if e.allowed {
                    self.allowed += 1;
                    tracing::trace!("proxy: allowed {what}");
                } else {
                    let why = super::reasons::proxy(&e.reason);
                    tracing::info!("proxy: denied {what}: {why}");
                    let key = format!("{what} ({why})");
                    self.denied.entry(key).or_insert((e, 0)).1 += 1;
                }
                Ok(())
            }
            Ok(_) => bail!("the proxy (nono-proxy) answered out of order"),
            Err(e) => bail!("the proxy (nono-proxy) ended unexpectedly ({e}); the session is over and the command was stopped"),
        }
    }

    /// Stop the proxy; what it refused goes to the session's denials
    /// (summary or diagnostic footer).
    pub fn finish(mut self, denials: &mut super::denials::Denials) {
        // Hang up; the proxy sends what it has queued and closes: read
        // until then (no fixed wait).
        if self.chan.close_send().is_ok() {
            while nix::poll::poll(
                &mut [nix::poll::PollFd::new(
                    self.chan.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )],
                nix::poll::PollTimeout::from(DRAIN_BOUND_MS),
            )
            .unwrap_or(0)
                > 0
            {
                if self.on_readable().is_err() {
                    break;
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.denied.is_empty() {
            ui::info(format!(
                "the proxy allowed {} request(s) and denied none",
                self.allowed
            ));
        }
        denials.proxy(self.allowed, self.denied.into_values().collect());
    }
}

//! Proxy mode: which hosts the agent may reach through `nono-proxy`, which
//! credentials are injected, how the agent is contained, and the variables
//! that point its clients at the proxy.

mod ca_env;
pub mod catalog;
pub mod routes;

use std::net::SocketAddr;

use anyhow::{bail, Result};
use ipc::hostrules::allowlist::{Allowlist, ANY};

use crate::cli::{PolicyArgs, ProxyArgs};
use crate::policy::profile::Profile;
pub use ca_env::REMOVED_WITH_INTERCEPTION;
pub use routes::PlannedRoute;

/// How the agent is kept from reaching anything but the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Containment {
    /// A fresh network namespace with only loopback (plus Landlock + seccomp).
    Namespace,
    /// Landlock (TCP connect only to the proxy port, on any address) and
    /// seccomp (no UDP); the reason namespaces are not used.
    Landlock(String),
}

#[derive(Debug, Clone)]
pub struct ProxyPlan {
    pub hosts: Vec<String>,
    pub routes: Vec<PlannedRoute>,
    pub upstream_proxy: Option<String>,
    pub bypass: Vec<String>,
    /// 0: any free port.
    pub port: u16,
    pub listen_ports: Vec<u16>,
    pub containment: Containment,
    pub session_token: String,
    /// `--listen-port`/`--open-port`: the agent may have loopback peers of
    /// its own, which its clients must reach directly.
    pub local_ports: bool,
    /// Allowed loopback destinations (`--allow-domain 127.0.0.1:PORT`)
    /// listened on inside the agent's namespace and relayed by the proxy,
    /// for clients that ignore the proxy variables: (address there, host
    /// and port of the rule). Namespace containment only.
    pub forwards: Vec<(SocketAddr, String, u16)>,
}

#[derive(Debug, Clone, Default)]
pub struct NetworkPlan {
    pub proxy: Option<ProxyPlan>,
    pub open_ports: Vec<u16>,
}

/// 32 random bytes as 64 hex characters.
pub fn random_hex() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|e| anyhow::anyhow!("cannot read random bytes: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The flags that turn proxy mode on, in order, that are set.
fn mode_flags(p: &ProxyArgs) -> Vec<&'static str> {
    [
        (p.network_profile.is_some(), "--network-profile"),
        (!p.allow_domain.is_empty(), "--allow-domain"),
        (!p.credential.is_empty(), "--credential"),
        (!p.allow_endpoint.is_empty(), "--allow-endpoint"),
        (p.upstream_proxy.is_some(), "--upstream-proxy"),
        (!p.upstream_bypass.is_empty(), "--upstream-bypass"),
        (p.record_all, "nono learn --sandboxed"),
    ]
    .into_iter()
    .filter_map(|(set, f)| set.then_some(f))
    .collect()
}

fn first_flag(p: &ProxyArgs) -> Option<&'static str> {
    mode_flags(p).first().copied()
}

/// `--upstream-proxy` is `[http://]HOST:PORT`: checked here, before any
/// helper starts, so a mistake is reported once (the proxy checks again).
fn check_upstream(u: &str) -> Result<()> {
    let bare = u.strip_prefix("http://").unwrap_or(u).trim_end_matches('/');
    match ipc::hostrules::allowlist::split_host_port(bare) {
        Ok((h, Some(_))) if !h.is_empty() => Ok(()),
        Ok(_) => bail!("--upstream-proxy '{u}' needs HOST:PORT (e.g. squid.corp:3128)"),
        Err(e) => bail!("--upstream-proxy '{u}': {e}; expected HOST:PORT (e.g. squid.corp:3128)"),
    }
}

/// Every proxy flag given, for messages (wrap refuses them all at once):
/// those turning proxy mode on, then those only meaningful in it.
pub fn proxy_flags(p: &ProxyArgs) -> Vec<&'static str> {
    let mut flags = mode_flags(p);
    if flags.is_empty() {
        return flags; // the ports alone are refused as outside proxy mode
    }
    if p.proxy_port.is_some() {
        flags.push("--proxy-port");
    }
    if !p.listen_port.is_empty() {
        flags.push("--listen-port");
    }
    flags
}

fn hosts(p: &ProxyArgs, prof: &Profile, cat: &catalog::Catalog) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in p
        .network_profile
        .iter()
        .chain(prof.network.network_profile.iter())
    {
        let Some(np) = cat.profiles.get(name) else {
            bail!(
                "unknown network profile '{name}' (available: {})",
                cat.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        for g in &np.groups {
            out.extend(cat.groups[g].hosts.iter().cloned());
        }
    }
    out.extend(prof.network.allow_hosts.iter().cloned());
    out.extend(prof.network.allow_domain.iter().cloned());
    out.extend(p.allow_domain.iter().cloned());
    if out.iter().any(|h| h.trim() == ANY) {
        bail!(
            "'{ANY}' is not a host: name each host the command may reach \
             (nono learn --sandboxed lists the hosts a command uses)"
        );
    }
    if p.record_all {
        out.push(ANY.to_string());
    }
    out.dedup();
    Ok(out)
}

fn containment(listen: &[u16], open: &[u16]) -> Containment {
    if !listen.is_empty() || !open.is_empty() {
        return Containment::Landlock(
            "--listen-port/--open-port need the host's loopback, so no network namespace is used"
                .into(),
        );
    }
    let support = sandbox::SupportInfo::detect();
    if support.user_namespaces || nix::unistd::geteuid().is_root() {
        Containment::Namespace
    } else {
        Containment::Landlock("this system does not allow unprivileged user namespaces".into())
    }
}

/// Proxy-only settings without proxy mode would be silently ignored: refuse.
fn refuse_outside_proxy_mode(p: &ProxyArgs, prof: &Profile) -> Result<()> {
    const HOW: &str = "proxy mode (--allow-domain, --network-profile or --credential, \
                       or a profile's network.allow_domain/network_profile)";
    if let Some(port) = p.proxy_port {
        bail!("--proxy-port {port} only applies in {HOW}; drop it or turn proxy mode on");
    }
    if let Some(port) = p.listen_port.first() {
        bail!(
            "--listen-port {port} only applies in {HOW}; without it listening is not restricted \
             (use --open-port for localhost ports under --block-net)"
        );
    }
    if let Some(port) = prof.network.listen_port.first() {
        bail!("the profile's network.listen_port {port} only applies in {HOW}; remove it or turn proxy mode on");
    }
    Ok(())
}

/// Decide the network plan from flags and the merged profile.
/// Whether the session runs in proxy mode: a proxy flag, or the profile's
/// network settings unless `--allow-net`/`--block-net` overrides them.
pub fn wants_proxy(p: &ProxyArgs, policy: &PolicyArgs, prof: &Profile) -> bool {
    let profile_proxy = prof.network.network_profile.is_some()
        || !prof.network.allow_hosts.is_empty()
        || !prof.network.allow_domain.is_empty()
        || !prof.network.proxy_credentials.is_empty()
        || !prof.network.credentials.is_empty();
    first_flag(p).is_some() || (profile_proxy && !policy.allow_net && !policy.block_net)
}

pub fn plan(p: &ProxyArgs, policy: &PolicyArgs, prof: &Profile) -> Result<NetworkPlan> {
    let mut open_ports = prof.network.open_port.clone();
    open_ports.extend(&p.open_port);
    let cli = first_flag(p);
    if let Some(flag) = cli {
        if policy.allow_net {
            bail!("--allow-net conflicts with {flag}: choose unrestricted network or the filtering proxy");
        }
        if policy.block_net {
            bail!("--block-net conflicts with {flag}: choose a blocked network or the filtering proxy");
        }
    }
    if !p.upstream_bypass.is_empty() && p.upstream_proxy.is_none() {
        bail!("--upstream-bypass requires --upstream-proxy");
    }
    if let Some(u) = &p.upstream_proxy {
        check_upstream(u)?;
    }
    if !wants_proxy(p, policy, prof) {
        refuse_outside_proxy_mode(p, prof)?;
        return Ok(NetworkPlan {
            proxy: None,
            open_ports,
        });
    }
    if prof.network.block == Some(true) && cli.is_some() && !policy.block_net {
        crate::ui::info(
            "the profile's network.block is replaced by proxy mode from the command line",
        );
    }
    let cat = catalog::load()?;
    let mut names: Vec<String> = p.credential.clone();
    for n in prof
        .network
        .proxy_credentials
        .iter()
        .chain(&prof.network.credentials)
    {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let endpoints = p
        .allow_endpoint
        .iter()
        .map(|s| routes::endpoint_flag(s))
        .collect::<Result<Vec<_>>>()?;
    let routes = routes::plan(&names, &endpoints, &cat, &prof.network.custom_credentials)?;
    let mut listen_ports = prof.network.listen_port.clone();
    listen_ports.extend(&p.listen_port);
    let hosts = hosts(p, prof, &cat)?;
    let containment = containment(&listen_ports, &open_ports);
    let port = p.proxy_port.unwrap_or(0);
    let forwards = match containment {
        Containment::Namespace => forwards(&hosts, port)?,
        Containment::Landlock(_) => Vec::new(),
    };
    Ok(NetworkPlan {
        proxy: Some(ProxyPlan {
            hosts,
            routes,
            upstream_proxy: p.upstream_proxy.clone(),
            bypass: p.upstream_bypass.clone(),
            port,
            containment,
            local_ports: !listen_ports.is_empty() || !open_ports.is_empty(),
            listen_ports,
            session_token: random_hex()?,
            forwards,
        }),
        open_ports,
    })
}

/// The loopback destinations to forward into the agent's namespace.
fn forwards(hosts: &[String], proxy_port: u16) -> Result<Vec<(SocketAddr, String, u16)>> {
    // Malformed entries are reported with context where the proxy plan is
    // checked; here they simply forward nothing.
    let Ok(list) = Allowlist::parse(hosts) else {
        return Ok(Vec::new());
    };
    let out = list.loopback_forwards();
    if out.len() > ipc::MAX_FORWARDS {
        bail!(
            "{} loopback destinations allowed (--allow-domain 127.0.0.1:PORT ...); at most {} are supported",
            out.len(),
            ipc::MAX_FORWARDS
        );
    }
    if let Some((at, _, _)) = out.iter().find(|(a, _, _)| {
        proxy_port != 0 && a.port() == proxy_port && a.ip() == std::net::Ipv4Addr::LOCALHOST
    }) {
        bail!("--proxy-port {proxy_port} is also an allowed destination ({at}); choose another proxy port");
    }
    Ok(out)
}

/// Variables that route the agent's clients through the proxy.
pub fn agent_env(
    plan: &ProxyPlan,
    port: u16,
    ca_bundle: Option<(&str, &str)>,
) -> Vec<(String, String)> {
    let url = format!("http://nono:{}@127.0.0.1:{port}", plan.session_token);
    let mut env: Vec<(String, String)> = ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]
        .into_iter()
        .map(|k| (k.to_string(), url.clone()))
        .collect();
    // Loopback bypasses the proxy only where the agent can have loopback
    // peers of its own (--listen-port/--open-port). Otherwise nothing on
    // its loopback is reachable directly, so loopback requests go to the
    // proxy too: an allowed `--allow-domain 127.0.0.1:PORT` works for
    // ordinary clients and every other loopback port gets the proxy's 403.
    let bypass = if plan.local_ports {
        "localhost,127.0.0.1,::1"
    } else {
        ""
    };
    for k in ["NO_PROXY", "no_proxy"] {
        env.push((k.into(), bypass.into()));
    }
    env.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
    for r in &plan.routes {
        env.push((
            r.base_url_var.clone(),
            format!("http://127.0.0.1:{port}/{}", r.route.name),
        ));
        env.push((r.env_var.clone(), r.route.phantom.clone()));
    }
    if let Some((bundle, ca_only)) = ca_bundle {
        env.extend(ca_env::vars(bundle, ca_only));
    }
    env
}

/// Variables the agent must never inherit in proxy mode (they would
/// bypass or confuse the proxy settings nono provides).
pub const REPLACED_VARS: &[&str] = &["ALL_PROXY", "all_proxy", "FTP_PROXY", "ftp_proxy"];

//! What `-v` says about a plan before anything starts, and what `-vv`
//! lists (see `crate::trace`): the policy the kernel gets, in brief and
//! rule by rule. Never a secret: credentials are counted, the proxy's
//! session token is not shown.

use sandbox::{GrantKind, NetworkPolicy};

use crate::policy::plan::Plan;

fn network(plan: &Plan) -> String {
    if let Some(px) = &plan.network.proxy {
        return format!(
            "proxy mode ({} host rule(s), {} credential route(s))",
            px.hosts.len(),
            px.routes.len()
        );
    }
    let (connect, bind) = plan.tcp_ports();
    match plan.policy.network {
        NetworkPolicy::Allowed => "unrestricted".into(),
        NetworkPolicy::Blocked => "blocked".into(),
        NetworkPolicy::UnixOnly => "unix sockets only".into(),
        NetworkPolicy::TcpPorts => format!("TCP to ports {:?}, listen on {:?}", connect, bind),
    }
}

/// The policy summary (`-v`) and every rule (`-vv`) of `mode` (run, shell,
/// wrap).
pub fn plan(plan: &Plan, mode: &str) {
    if !tracing::enabled!(tracing::Level::INFO) {
        return; // no -v: nothing to count
    }
    let grants = &plan.policy.rules;
    let writable = grants.iter().filter(|g| g.mode.writes()).count();
    let protections = plan.policy.active_protections();
    tracing::info!(
        "{mode}: profile {}, {} Landlock rule(s) ({} writable), {} protected path(s), \
         network {}, {} unix-socket grant(s), {} credential(s)",
        plan.policy.profile.name,
        grants.len(),
        writable,
        protections.len(),
        network(plan),
        plan.unix_grants.len(),
        plan.credentials.len()
    );
    for g in grants {
        let kind = match g.kind {
            GrantKind::Tree => "tree",
            GrantKind::File => "file",
        };
        tracing::debug!("rule [{}] {kind} {}", g.mode.short(), g.path.display());
    }
    for p in &protections {
        tracing::debug!(
            "protected {} ({}, {})",
            p.path.display(),
            p.category,
            p.origin
        );
    }
    if let Some(px) = &plan.network.proxy {
        for h in &px.hosts {
            tracing::debug!("proxy allows {h}");
        }
    }
}

//! The helpers' reasons, for the user. The broker and the proxy report why
//! they refused as data (`ipc::broker::BrokeredReason`,
//! `ipc::proxy::ProxyReason`) and name no flag; here each denial gets the
//! flag or profile field that grants it, as the live lines, the footer and
//! the audit log show it.

use ipc::broker::BrokeredReason;
use ipc::hostrules::addr::AddrClass;
use ipc::proxy::ProxyReason;

/// What grants a broker denial, when a grant can.
fn broker_hint(r: &BrokeredReason) -> Option<&'static str> {
    match r {
        BrokeredReason::OutsideWriteGrants => Some("--allow or --write grants it"),
        BrokeredReason::OutsideReadGrants => Some("--read or --allow grants it"),
        BrokeredReason::UnixSocketNotGranted => {
            Some("--allow-unix-socket and related flags grant it")
        }
        BrokeredReason::PortNotGranted => Some("--listen-port grants it"),
        BrokeredReason::UnboundListen => Some("--listen-port grants one"),
        BrokeredReason::Approved
        | BrokeredReason::NotApproved
        | BrokeredReason::Protected
        | BrokeredReason::TcpFastOpen
        | BrokeredReason::UnixPathTooLong
        | BrokeredReason::Errno(_)
        | BrokeredReason::Other(_) => None,
    }
}

/// What grants a proxy refusal, when a rule can.
fn proxy_hint(r: &ProxyReason) -> Option<&'static str> {
    match r {
        ProxyReason::NotListed => Some("--allow-domain or --network-profile grants it"),
        ProxyReason::PathNotAllowed => Some("an --allow-domain URL rule grants it"),
        ProxyReason::EndpointNotAllowed => Some("--allow-endpoint or endpoint_rules grants it"),
        ProxyReason::Destination(d) if d.class() == Some(AddrClass::NeedsLiteral) => {
            Some("the literal address and port in --allow-domain grants it")
        }
        ProxyReason::Allowed
        | ProxyReason::PathRule
        | ProxyReason::Intercepted
        | ProxyReason::Relayed
        | ProxyReason::CredentialInjected
        | ProxyReason::NoSessionToken
        | ProxyReason::NoSuchRoute
        | ProxyReason::NoPhantomToken
        | ProxyReason::RelayNeedsAllPaths
        | ProxyReason::InterceptionRefused
        | ProxyReason::Destination(_)
        | ProxyReason::Network(_) => None,
    }
}

fn with_hint(reason: String, hint: Option<&str>) -> String {
    match hint {
        Some(h) => format!("{reason} ({h})"),
        None => reason,
    }
}

/// A broker decision's reason, with what grants it.
pub fn broker(r: &BrokeredReason) -> String {
    with_hint(r.to_string(), broker_hint(r))
}

/// A proxy decision's reason, with what grants it.
pub fn proxy(r: &ProxyReason) -> String {
    with_hint(r.to_string(), proxy_hint(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipc::hostrules::addr::Refusal;

    #[test]
    fn denials_name_what_grants_them() {
        assert_eq!(
            broker(&BrokeredReason::OutsideWriteGrants),
            "outside the write grants (--allow or --write grants it)"
        );
        assert_eq!(
            broker(&BrokeredReason::Errno(libc::ENOENT)),
            "No such file or directory"
        );
        assert!(proxy(&ProxyReason::NotListed).contains("--allow-domain"));
        let private = ProxyReason::Destination(Refusal::Address {
            ip: [10, 0, 0, 1].into(),
            class: AddrClass::NeedsLiteral,
        });
        assert!(
            proxy(&private).ends_with("(the literal address and port in --allow-domain grants it)")
        );
        let metadata = ProxyReason::Destination(Refusal::MetadataName);
        assert!(!proxy(&metadata).contains("--"), "nothing grants it");
    }
}

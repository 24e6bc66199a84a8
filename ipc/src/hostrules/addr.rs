//! Which destination addresses the proxy may dial. Cloud metadata and
//! link-local addresses (and unspecified, multicast, broadcast) are always
//! denied; loopback and private ranges only when the user allowed that
//! exact address on that port (`127.0.0.1:8081` exempts 127.0.0.1 on
//! port 8081 only, whether reached by address or by a name resolving to
//! it).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Names of cloud metadata services (compared after normalisation).
const METADATA_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Metadata addresses outside link-local space.
const METADATA_V4: &[Ipv4Addr] = &[Ipv4Addr::new(100, 100, 100, 200)];
/// AWS IMDS over IPv6.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// An address the user allowed literally, with its rule's port (None:
/// the web ports 80 and 443, as for any bare host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Literal {
    ip: IpAddr,
    port: Option<u16>,
}

impl Literal {
    pub fn new(ip: IpAddr, port: Option<u16>) -> Literal {
        Literal {
            ip: unmap(ip),
            port,
        }
    }

    /// Exactly this address, on this one port (an address the user named
    /// in configuration, e.g. a credential upstream or the upstream proxy).
    pub fn exact(ip: IpAddr, port: u16) -> Literal {
        Literal::new(ip, Some(port))
    }

    fn covers(&self, ip: IpAddr, port: u16) -> bool {
        self.ip == ip
            && match self.port {
                Some(p) => p == port,
                None => port == 80 || port == 443,
            }
    }
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they carry.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Which class of address was refused. Reported as data: the front end
/// says which rule would allow it ([`AddrClass::NeedsLiteral`] only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddrClass {
    /// Cloud metadata and link-local addresses: never allowed.
    MetadataOrLinkLocal,
    /// Unspecified, multicast and broadcast addresses: never allowed.
    NotUnicast,
    /// Loopback and private addresses: only with a rule naming the
    /// literal address and port.
    NeedsLiteral,
}

impl fmt::Display for AddrClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrClass::MetadataOrLinkLocal => {
                "cloud metadata and link-local addresses are always denied"
            }
            AddrClass::NotUnicast => "unspecified, multicast and broadcast addresses are denied",
            AddrClass::NeedsLiteral => {
                "loopback and private addresses need a rule naming the literal address and port"
            }
        })
    }
}

/// Why a destination may not be dialled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// A cloud metadata service's name.
    MetadataName,
    /// The address asked for.
    Address { ip: IpAddr, class: AddrClass },
    /// What the name resolved to (the last address tried).
    Resolved {
        host: String,
        ip: IpAddr,
        class: AddrClass,
    },
    /// The name resolved to nothing.
    NoAddresses { host: String },
    /// A forwarded destination that is not a loopback address.
    NotLoopback(IpAddr),
}

impl Refusal {
    /// The class of address refused, when one was.
    pub fn class(&self) -> Option<AddrClass> {
        match self {
            Refusal::Address { class, .. } | Refusal::Resolved { class, .. } => Some(*class),
            Refusal::MetadataName => Some(AddrClass::MetadataOrLinkLocal),
            Refusal::NoAddresses { .. } | Refusal::NotLoopback(_) => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::MetadataName => f.write_str("cloud metadata names are always denied"),
            Refusal::Address { ip, class } => write!(f, "{ip}: {class}"),
            Refusal::Resolved { host, ip, class } => write!(f, "{host} resolves to {ip}: {class}"),
            Refusal::NoAddresses { host } => write!(f, "{host} has no addresses"),
            Refusal::NotLoopback(ip) => write!(f, "{ip} is not a loopback address"),
        }
    }
}

/// Why `ip` may not be dialled on `port`, or None.
pub fn refusal(ip: IpAddr, port: u16, allowed: &[Literal]) -> Option<AddrClass> {
    let ip = unmap(ip);
    let literal = allowed.iter().any(|l| l.covers(ip, port));
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, literal),
        IpAddr::V6(v6) => refusal_v6(v6, literal),
    }
}

/// Whether `host` (normalised) is a cloud metadata name.
pub fn is_metadata_name(host: &str) -> bool {
    METADATA_NAMES.contains(&host)
}

/// The checks that need no resolution: metadata names are refused, an IP
/// literal is checked (`Ok(Some(ip))`), a name needs resolving (`Ok(None)`).
pub fn precheck(host: &str, port: u16, allowed: &[Literal]) -> Result<Option<IpAddr>, Refusal> {
    if is_metadata_name(host) {
        return Err(Refusal::MetadataName);
    }
    match host.parse::<IpAddr>() {
        Ok(ip) => match refusal(ip, port, allowed) {
            Some(class) => Err(Refusal::Address { ip, class }),
            None => Ok(Some(ip)),
        },
        Err(_) => Ok(None),
    }
}

/// The first resolved address of `host` that may be dialled on `port`, or
/// why none may.
pub fn first_dialable(
    host: &str,
    port: u16,
    addrs: &[IpAddr],
    allowed: &[Literal],
) -> Result<IpAddr, Refusal> {
    let mut last = Refusal::NoAddresses {
        host: host.to_string(),
    };
    for &ip in addrs {
        match refusal(ip, port, allowed) {
            None => return Ok(ip),
            Some(class) => {
                last = Refusal::Resolved {
                    host: host.to_string(),
                    ip,
                    class,
                }
            }
        }
    }
    Err(last)
}

fn refusal_v4(ip: Ipv4Addr, literal: bool) -> Option<AddrClass> {
    let o = ip.octets();
    if METADATA_V4.contains(&ip) || ip.is_link_local() {
        return Some(AddrClass::MetadataOrLinkLocal);
    }
    if ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() || o[0] == 0 {
        return Some(AddrClass::NotUnicast);
    }
    let cgnat = o[0] == 100 && (64..128).contains(&o[1]);
    if (ip.is_loopback() || ip.is_private() || cgnat) && !literal {
        return Some(AddrClass::NeedsLiteral);
    }
    None
}

fn refusal_v6(ip: Ipv6Addr, literal: bool) -> Option<AddrClass> {
    let first = ip.segments()[0];
    if ip == METADATA_V6 || (first & 0xffc0) == 0xfe80 {
        return Some(AddrClass::MetadataOrLinkLocal);
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return Some(AddrClass::NotUnicast);
    }
    let unique_local = (first & 0xfe00) == 0xfc00;
    let site_local = (first & 0xffc0) == 0xfec0;
    if (ip.is_loopback() || unique_local || site_local) && !literal {
        return Some(AddrClass::NeedsLiteral);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn lit(s: &str, port: u16) -> Literal {
        Literal::exact(ip(s), port)
    }

    #[test]
    fn metadata_and_link_local_always_denied() {
        for a in [
            "169.254.169.254",
            "169.254.1.1",
            "100.100.100.200",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
        ] {
            assert!(refusal(ip(a), 80, &[lit(a, 80)]).is_some(), "{a}");
        }
    }

    #[test]
    fn literal_exemptions_are_per_port() {
        let allowed = [lit("127.0.0.1", 8081), Literal::new(ip("10.0.0.1"), None)];
        assert!(refusal(ip("127.0.0.1"), 8081, &allowed).is_none());
        assert!(refusal(ip("127.0.0.1"), 80, &allowed).is_some());
        assert!(refusal(ip("127.0.0.1"), 443, &allowed).is_some());
        assert!(refusal(ip("10.0.0.1"), 443, &allowed).is_none());
        assert!(refusal(ip("10.0.0.1"), 8081, &allowed).is_some());
        assert!(first_dialable("name.test", 80, &[ip("127.0.0.1")], &allowed).is_err());
        assert!(first_dialable("name.test", 8081, &[ip("127.0.0.1")], &allowed).is_ok());
        assert!(precheck("metadata.google.internal", 80, &allowed).is_err());
        assert!(precheck("127.0.0.1", 22, &allowed).is_err());
    }

    #[test]
    fn private_and_loopback_need_the_literal() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(refusal(ip(a), 443, &[]).is_some(), "{a}");
        }
        let one = [lit("127.0.0.1", 443)];
        assert!(refusal(ip("127.0.0.1"), 443, &one).is_none());
        assert!(refusal(ip("127.0.0.2"), 443, &one).is_some());
        assert!(refusal(ip("::ffff:127.0.0.1"), 443, &one).is_none());
        let mapped = [lit("::ffff:127.0.0.1", 443)];
        assert!(refusal(ip("127.0.0.1"), 443, &mapped).is_none());
    }

    #[test]
    fn public_addresses_pass_and_odd_ones_fail() {
        assert!(refusal(ip("93.184.216.34"), 443, &[]).is_none());
        assert!(refusal(ip("2606:4700::1"), 443, &[]).is_none());
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "ff02::1",
        ] {
            assert!(refusal(ip(a), 443, &[lit(a, 443)]).is_some(), "{a}");
        }
    }
}

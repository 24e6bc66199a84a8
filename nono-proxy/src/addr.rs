//! Which destination addresses the proxy may dial. Cloud metadata and
//! link-local addresses (and unspecified, multicast, broadcast) are always
//! denied; loopback and private ranges only when the user allowed that
//! exact address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Names of cloud metadata services (compared after normalisation).
pub const METADATA_NAMES: &[&str] = &[
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

/// Why an address may not be dialled, or None.
pub fn refusal(ip: IpAddr, literal_allowed: &[IpAddr]) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, literal_allowed.contains(&ip)),
        IpAddr::V6(v6) => refusal_v6(v6, literal_allowed.contains(&ip)),
    }
}

fn refusal_v4(ip: Ipv4Addr, literal: bool) -> Option<&'static str> {
    let o = ip.octets();
    if METADATA_V4.contains(&ip) || ip.is_link_local() {
        return Some("cloud metadata and link-local addresses are always denied");
    }
    if ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() || o[0] == 0 {
        return Some("unspecified, multicast and broadcast addresses are denied");
    }
    let cgnat = o[0] == 100 && (64..128).contains(&o[1]);
    if (ip.is_loopback() || ip.is_private() || cgnat) && !literal {
        return Some("loopback and private addresses need the literal address in --allow-domain");
    }
    None
}

fn refusal_v6(ip: Ipv6Addr, literal: bool) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip == METADATA_V6 || (first & 0xffc0) == 0xfe80 {
        return Some("cloud metadata and link-local addresses are always denied");
    }
    if ip.is_unspecified() || ip.is_multicast() {
        return Some("unspecified and multicast addresses are denied");
    }
    let unique_local = (first & 0xfe00) == 0xfc00;
    let site_local = (first & 0xffc0) == 0xfec0;
    if (ip.is_loopback() || unique_local || site_local) && !literal {
        return Some("loopback and private addresses need the literal address in --allow-domain");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
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
            assert!(refusal(ip(a), &[ip(a)]).is_some(), "{a}");
        }
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
            assert!(refusal(ip(a), &[]).is_some(), "{a}");
        }
        assert!(refusal(ip("127.0.0.1"), &[ip("127.0.0.1")]).is_none());
        assert!(refusal(ip("127.0.0.2"), &[ip("127.0.0.1")]).is_some());
        assert!(refusal(ip("::ffff:127.0.0.1"), &[ip("127.0.0.1")]).is_none());
    }

    #[test]
    fn public_addresses_pass_and_odd_ones_fail() {
        assert!(refusal(ip("93.184.216.34"), &[]).is_none());
        assert!(refusal(ip("2606:4700::1"), &[]).is_none());
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "ff02::1",
        ] {
            assert!(refusal(ip(a), &[ip(a)]).is_some(), "{a}");
        }
    }
}

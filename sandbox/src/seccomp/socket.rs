//! Which socket families a confined process may create.
//!
//! The policy is an allowlist, compiled into denials of every other family
//! number (the filter's default is allow, so the allowlist is expressed as
//! "deny each family not listed, and every number at or above `AF_MAX`").

use libc::{EOPNOTSUPP, EPERM, IPPROTO_MPTCP, SOCK_RAW};

/// `IPPROTO_SMC` (Linux 6.11: an SMC socket made through AF_INET or
/// AF_INET6); `libc` does not define it.
const IPPROTO_SMC: i32 = 256;

/// The obsolete `SOCK_PACKET` type of `AF_INET` sockets (raw link-layer access).
const SOCK_PACKET: i32 = 10;

use super::table::{ArgCmp, ArgRule, Cmp};
use crate::capability::NetworkPolicy;

/// One past the highest address family of current kernels (`AF_MCTP` = 45).
pub const AF_MAX: u64 = 46;

/// Families `socket(2)` may create under `policy`.
///
/// `AF_UNIX` is absent in both: until unix sockets are brokered, a confined
/// process cannot reach any pathname or abstract socket outside
/// (`socketpair(2)` stays available). Netlink is limited to `NETLINK_ROUTE`
/// (interface and address queries made by name resolution).
pub fn allowed_socket_families(policy: NetworkPolicy) -> &'static [i32] {
    match policy {
        NetworkPolicy::Allowed => &[libc::AF_INET, libc::AF_INET6, libc::AF_NETLINK],
        NetworkPolicy::Blocked => &[],
        NetworkPolicy::UnixOnly => &[libc::AF_UNIX],
        NetworkPolicy::TcpPorts => &[libc::AF_INET, libc::AF_INET6, libc::AF_NETLINK],
    }
}

/// The kernel reads `int` arguments as their low 32 bits; a comparison of
/// the whole register would miss a value with garbage above them.
const INT_MASK: u64 = 0xffff_ffff;

/// `arg` as a C `int` equals `v`.
fn int_eq(arg: u32, v: i32) -> ArgCmp {
    ArgCmp {
        arg,
        cmp: Cmp::MaskedEq {
            mask: INT_MASK,
            value: u64::from(v as u32),
        },
    }
}

/// The denials implementing the family allowlist and, within allowed IP
/// families, the closed socket types and protocols.
pub fn socket_rules(policy: NetworkPolicy, unix: bool) -> Vec<ArgRule> {
    let mut allowed = allowed_socket_families(policy).to_vec();
    if unix && !allowed.contains(&libc::AF_UNIX) {
        allowed.push(libc::AF_UNIX);
    }
    let allowed = &allowed[..];
    let mut rules: Vec<ArgRule> = (0..AF_MAX as i32)
        .filter(|af| !allowed.contains(af))
        .map(|af| ArgRule {
            name: "socket",
            when: vec![int_eq(0, af)],
            errno: EPERM,
            why: "socket family not granted",
        })
        .collect();
    rules.push(ArgRule {
        name: "socket",
        when: vec![ArgCmp {
            arg: 0,
            cmp: Cmp::Ge(AF_MAX),
        }],
        errno: EPERM,
        why: "unknown socket family",
    });
    rules.push(ArgRule {
        name: "socketpair",
        when: vec![ArgCmp {
            arg: 0,
            cmp: Cmp::Ne(libc::AF_UNIX as u64),
        }],
        errno: EPERM,
        why: "socketpair is for unix sockets only",
    });
    if !allowed.contains(&libc::AF_UNIX) {
        rules.extend(UNADDRESSED_UNIX_TYPES.iter().map(|&(ty, why)| ArgRule {
            name: "socketpair",
            when: vec![masked_type(ty)],
            errno: EPERM,
            why,
        }));
    }
    for af in allowed
        .iter()
        .copied()
        .filter(|&af| af == libc::AF_INET || af == libc::AF_INET6)
    {
        rules.push(type_rule(af, SOCK_RAW, "raw IP sockets"));
        rules.push(type_rule(af, SOCK_PACKET, "packet sockets"));
        rules.push(ArgRule {
            name: "socket",
            when: vec![int_eq(0, af), int_eq(2, IPPROTO_MPTCP)],
            errno: EPERM,
            why: "MPTCP sockets (not covered by Landlock TCP rules)",
        });
        rules.push(ArgRule {
            name: "socket",
            when: vec![int_eq(0, af), int_eq(2, IPPROTO_SMC)],
            errno: EPERM,
            why: "SMC over an IP socket (Linux 6.11; not covered by Landlock TCP rules)",
        });
        if policy == NetworkPolicy::TcpPorts {
            rules.extend(tcp_only_rules(af));
        }
    }
    if allowed.contains(&libc::AF_NETLINK) {
        rules.push(ArgRule {
            name: "socket",
            when: vec![
                int_eq(0, libc::AF_NETLINK),
                ArgCmp {
                    arg: 2,
                    cmp: Cmp::Ne(libc::NETLINK_ROUTE as u64),
                },
            ],
            errno: EPERM,
            why: "netlink families other than NETLINK_ROUTE",
        });
    }
    rules
}

/// The socket type without `SOCK_NONBLOCK` / `SOCK_CLOEXEC` (the kernel's `SOCK_TYPE_MASK`).
const SOCK_TYPE_MASK: u64 = 0xf;

/// `arg 1 & SOCK_TYPE_MASK == ty`: the type argument of socket/socketpair.
fn masked_type(ty: i32) -> ArgCmp {
    ArgCmp {
        arg: 1,
        cmp: Cmp::MaskedEq {
            mask: SOCK_TYPE_MASK,
            value: ty as u64,
        },
    }
}

/// Deny `socket(af, ty | flags, _)`.
fn type_rule(af: i32, ty: i32, why: &'static str) -> ArgRule {
    ArgRule {
        name: "socket",
        when: vec![int_eq(0, af), masked_type(ty)],
        errno: EPERM,
        why,
    }
}

/// `socketpair(AF_UNIX, …)` types refused where `socket(AF_UNIX)` is (no
/// supervisor mediates unix addresses): an end of a datagram pair is
/// connected to its peer, yet `sendto` with an address or a new `connect`
/// reaches any pathname datagram socket the user can write to, and
/// Landlock (ABI < 9) does not check unix addresses. Stream and
/// sequenced-packet pairs stay: they are connected for good (`connect`
/// answers EISCONN, a seqpacket `sendto` ignores its address).
const UNADDRESSED_UNIX_TYPES: &[(i32, &str)] = &[
    (
        libc::SOCK_DGRAM,
        "unix datagram pair: its ends can address any datagram socket outside",
    ),
    (
        SOCK_RAW,
        "unix SOCK_RAW pair: the kernel makes it a datagram pair",
    ),
];

/// `MSG_FASTOPEN` in the flags argument of the send calls.
const MSG_FASTOPEN: u64 = libc::MSG_FASTOPEN as u64;

/// TCP Fast Open, refused wherever Landlock's TCP rules are the boundary
/// ([`crate::CapabilitySet::restricts_tcp`]). A Fast Open send connects
/// from inside `sendto`/`sendmsg`/`sendmmsg` (`MSG_FASTOPEN` with an
/// address), past the connect hook where Landlock checks the port. The
/// errno is `EOPNOTSUPP`, what the kernel answers when client Fast Open is
/// switched off, so programs fall back to `connect(2)`, which Landlock
/// checks. `TCP_FASTOPEN_CONNECT` (connect later, on the first write) is
/// refused with it. The server side (`TCP_FASTOPEN` on a listener, its
/// key, `TCP_FASTOPEN_NO_COOKIE`) stays: it only changes how connections
/// to a port already bound under Landlock's bind rule are accepted.
pub fn fastopen_rules() -> Vec<ArgRule> {
    let flag = |arg| ArgCmp {
        arg,
        cmp: Cmp::MaskedEq {
            mask: MSG_FASTOPEN,
            value: MSG_FASTOPEN,
        },
    };
    let why = "TCP Fast Open connects past Landlock's connect check";
    vec![
        ArgRule {
            name: "sendto",
            when: vec![flag(3)],
            errno: EOPNOTSUPP,
            why,
        },
        ArgRule {
            name: "sendmsg",
            when: vec![flag(2)],
            errno: EOPNOTSUPP,
            why,
        },
        ArgRule {
            name: "sendmmsg",
            when: vec![flag(3)],
            errno: EOPNOTSUPP,
            why,
        },
        ArgRule {
            name: "setsockopt",
            when: vec![
                int_eq(1, libc::IPPROTO_TCP),
                int_eq(2, libc::TCP_FASTOPEN_CONNECT),
            ],
            errno: EOPNOTSUPP,
            why: "TCP_FASTOPEN_CONNECT (a deferred Fast Open connect)",
        },
    ]
}

/// Under [`NetworkPolicy::TcpPorts`]: within an IP family, only stream
/// sockets with the default or TCP protocol (Landlock's TCP rules cover
/// exactly those).
fn tcp_only_rules(af: i32) -> Vec<ArgRule> {
    let mut rules = vec![
        type_rule(
            af,
            libc::SOCK_DGRAM,
            "UDP and ICMP sockets (not covered by Landlock)",
        ),
        type_rule(af, libc::SOCK_RDM, "reliable datagram sockets"),
        type_rule(af, libc::SOCK_SEQPACKET, "SCTP sequenced-packet sockets"),
    ];
    rules.push(ArgRule {
        name: "socket",
        when: vec![int_eq(0, af), int_eq(2, libc::IPPROTO_SCTP)],
        errno: EPERM,
        why: "SCTP stream sockets (not covered by Landlock TCP rules)",
    });
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparison of an `int` argument with `v`.
    fn int(v: i32) -> Cmp {
        Cmp::MaskedEq {
            mask: 0xffff_ffff,
            value: v as u64,
        }
    }

    /// The family of a one-comparison `socket` rule.
    fn family(r: &ArgRule) -> Option<u64> {
        match r.when[..] {
            [ArgCmp {
                arg: 0,
                cmp:
                    Cmp::MaskedEq {
                        mask: 0xffff_ffff,
                        value,
                    },
            }] if r.name == "socket" => Some(value),
            _ => None,
        }
    }

    fn denied_families(policy: NetworkPolicy) -> Vec<u64> {
        socket_rules(policy, false)
            .iter()
            .filter_map(family)
            .collect()
    }

    #[test]
    fn blocked_network_denies_every_family() {
        let d = denied_families(NetworkPolicy::Blocked);
        assert_eq!(d.len() as u64, AF_MAX);
        for af in [
            libc::AF_UNIX,
            libc::AF_INET,
            libc::AF_INET6,
            libc::AF_NETLINK,
            libc::AF_VSOCK,
            libc::AF_PACKET,
        ] {
            assert!(d.contains(&(af as u64)), "family {af}");
        }
    }

    #[test]
    fn allowed_network_keeps_ip_but_not_unix_vsock_packet() {
        let d = denied_families(NetworkPolicy::Allowed);
        assert!(!d.contains(&(libc::AF_INET as u64)));
        assert!(!d.contains(&(libc::AF_INET6 as u64)));
        for af in [
            libc::AF_UNIX,
            libc::AF_VSOCK,
            libc::AF_PACKET,
            libc::AF_ALG,
            libc::AF_BLUETOOTH,
        ] {
            assert!(d.contains(&(af as u64)), "family {af}");
        }
    }

    #[test]
    fn tcp_ports_denies_datagrams_and_sctp_in_both_ip_families() {
        let rules = socket_rules(NetworkPolicy::TcpPorts, false);
        for af in [libc::AF_INET, libc::AF_INET6] {
            let typed = |ty: i32| {
                rules.iter().any(|r| {
                    r.when.first().map(|c| c.cmp) == Some(int(af))
                        && r.when.get(1).map(|c| c.cmp)
                            == Some(Cmp::MaskedEq {
                                mask: 0xf,
                                value: ty as u64,
                            })
                })
            };
            assert!(typed(libc::SOCK_DGRAM), "UDP for family {af}");
            assert!(typed(libc::SOCK_SEQPACKET), "SCTP for family {af}");
            assert!(!typed(libc::SOCK_STREAM), "TCP for family {af}");
        }
        assert!(denied_families(NetworkPolicy::TcpPorts).contains(&(libc::AF_UNIX as u64)));
    }

    #[test]
    fn brokered_unix_sockets_open_only_af_unix() {
        let d: Vec<u64> = socket_rules(NetworkPolicy::Blocked, true)
            .iter()
            .filter_map(family)
            .collect();
        assert!(!d.contains(&(libc::AF_UNIX as u64)));
        assert!(d.contains(&(libc::AF_INET as u64)));
    }

    /// The socketpair rules that refuse a unix socket type.
    fn refused_pair_types(policy: NetworkPolicy, unix: bool) -> Vec<u64> {
        socket_rules(policy, unix)
            .iter()
            .filter(|r| r.name == "socketpair")
            .filter_map(|r| match r.when[..] {
                [ArgCmp {
                    arg: 1,
                    cmp: Cmp::MaskedEq { mask: 0xf, value },
                }] => Some(value),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn datagram_socketpairs_are_refused_where_unix_sockets_are() {
        let dgram = [libc::SOCK_DGRAM as u64, SOCK_RAW as u64];
        for policy in [
            NetworkPolicy::Allowed,
            NetworkPolicy::Blocked,
            NetworkPolicy::TcpPorts,
        ] {
            let refused = refused_pair_types(policy, false);
            assert_eq!(refused, dgram, "{policy:?} without a broker");
            assert!(!refused.contains(&(libc::SOCK_STREAM as u64)));
            assert!(!refused.contains(&(libc::SOCK_SEQPACKET as u64)));
            assert!(
                refused_pair_types(policy, true).is_empty(),
                "{policy:?} brokered"
            );
        }
        // Where socket(AF_UNIX) is open anyway, a pair adds nothing.
        assert!(refused_pair_types(NetworkPolicy::UnixOnly, false).is_empty());
    }

    #[test]
    fn fastopen_rules_check_the_flag_bit_and_the_int_options() {
        let rules = fastopen_rules();
        let flag = Cmp::MaskedEq {
            mask: libc::MSG_FASTOPEN as u64,
            value: libc::MSG_FASTOPEN as u64,
        };
        // The flags argument of each send call.
        for (name, arg) in [("sendto", 3), ("sendmsg", 2), ("sendmmsg", 3)] {
            let r = rules.iter().find(|r| r.name == name).unwrap();
            assert_eq!((r.when.len(), r.when[0].arg, r.when[0].cmp), (1, arg, flag));
            assert_eq!(r.errno, EOPNOTSUPP);
        }
        let opt = rules.iter().find(|r| r.name == "setsockopt").unwrap();
        let low32 = int;
        assert_eq!(opt.when[0].arg, 1);
        assert_eq!(opt.when[0].cmp, low32(libc::IPPROTO_TCP));
        assert_eq!(opt.when[1].arg, 2);
        assert_eq!(opt.when[1].cmp, low32(libc::TCP_FASTOPEN_CONNECT));
        // The server side stays.
        assert!(!rules
            .iter()
            .any(|r| r.when.iter().any(|c| c.cmp == low32(libc::TCP_FASTOPEN))));
    }

    #[test]
    fn int_arguments_are_compared_on_their_low_32_bits() {
        // A full-register Eq would let socket(AF_INET, SOCK_STREAM,
        // 1 << 32 | IPPROTO_MPTCP) through: the kernel keeps the low half.
        for policy in [NetworkPolicy::Allowed, NetworkPolicy::TcpPorts] {
            for r in socket_rules(policy, false) {
                assert!(
                    r.when.iter().all(|c| !matches!(c.cmp, Cmp::Eq(_))),
                    "{policy:?}: {r:?}"
                );
            }
            let mptcp = socket_rules(policy, false)
                .into_iter()
                .filter(|r| {
                    r.when
                        .iter()
                        .any(|c| c.arg == 2 && c.cmp == int(IPPROTO_MPTCP))
                })
                .count();
            assert_eq!(mptcp, 2, "{policy:?}: MPTCP in both IP families");
        }
    }

    #[test]
    fn raw_and_mptcp_denied_for_both_ip_families() {
        let rules = socket_rules(NetworkPolicy::Allowed, false);
        let two_arg = rules.iter().filter(|r| r.when.len() == 2).count();
        // raw + packet + mptcp + smc for AF_INET and AF_INET6, plus the
        // netlink protocol rule.
        assert_eq!(two_arg, 9);
        let smc = |af: i32| {
            rules.iter().any(|r| {
                r.when.len() == 2
                    && r.when[0].cmp == int_eq(0, af).cmp
                    && r.when[1].cmp == int_eq(2, IPPROTO_SMC).cmp
            })
        };
        assert!(smc(libc::AF_INET) && smc(libc::AF_INET6));
    }
}

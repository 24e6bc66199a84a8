//! Network enforcement, observed at local listeners: a denied attempt must
//! leave the listener with nothing; the allowed case shows the listener works.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener};
use std::time::Duration;

use nono_e2e::{is_root, run, sandboxed, unsandboxed, Scratch, EPERM};

const TCP_FASTOPEN_SYSCTL: &str = "/proc/sys/net/ipv4/tcp_fastopen";

fn tcp_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let a = l.local_addr().unwrap().to_string();
    (l, a)
}

fn received_tcp(l: &TcpListener) -> bool {
    std::thread::sleep(Duration::from_millis(50));
    match l.accept() {
        Ok((mut s, _)) => {
            let mut buf = [0u8; 32];
            s.set_read_timeout(Some(Duration::from_millis(200))).ok();
            let _ = s.read(&mut buf);
            true
        }
        Err(_) => false,
    }
}

fn udp_listener() -> (UdpSocket, String) {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_nonblocking(true).unwrap();
    let a = u.local_addr().unwrap().to_string();
    (u, a)
}

fn received_udp(u: &UdpSocket) -> bool {
    std::thread::sleep(Duration::from_millis(50));
    let mut buf = [0u8; 64];
    u.recv_from(&mut buf).is_ok()
}

#[test]
fn block_net_denies_tcp_and_the_listener_sees_nothing() {
    let (l, a) = tcp_listener();
    let r = run(&["--block-net"], &["tcp-connect", &a]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    assert!(!received_tcp(&l), "listener must receive nothing");
    // Positive control: without --block-net the same connect arrives.
    let r = run(&[], &["tcp-connect", &a]);
    assert!(r.is_ok(), "{r:?}");
    assert!(received_tcp(&l));
}

#[test]
fn block_net_denies_udp_and_the_socket_sees_nothing() {
    let (u, a) = udp_listener();
    let r = run(&["--block-net"], &["udp-send", &a]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    assert!(!received_udp(&u), "no datagram may arrive");
    let r = run(&[], &["udp-send", &a]);
    assert!(r.is_ok(), "{r:?}");
    assert!(received_udp(&u));
}

#[test]
fn block_net_denies_tcp_in_wrap_too() {
    let (l, a) = tcp_listener();
    let r = sandboxed("wrap", &["--block-net"], &["tcp-connect", &a]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
    assert!(!received_tcp(&l));
}

#[test]
fn mptcp_is_denied_with_and_without_block_net() {
    let (l, a) = tcp_listener();
    for flags in [&["--block-net"][..], &[][..]] {
        let r = run(flags, &["mptcp-connect", &a]);
        assert!(r.is_err(Some(EPERM)), "{flags:?}: {r:?}");
        assert!(
            !received_tcp(&l),
            "{flags:?}: listener must receive nothing"
        );
    }
    // Positive control where the kernel has MPTCP enabled.
    let r = unsandboxed(&["mptcp-connect", &a]);
    if r.is_ok() {
        assert!(received_tcp(&l));
        // The filter compares the protocol as the kernel reads it (32 bits).
        assert!(unsandboxed(&["mptcp-socket-high-bits"]).is_ok(), "control");
        for mode in ["run", "wrap"] {
            let r = sandboxed(mode, &[], &["mptcp-socket-high-bits"]);
            assert!(r.is_err(Some(EPERM)), "{mode}: {r:?}");
        }
    }
}

#[test]
fn raw_packet_vsock_netlink_audit_and_smc_sockets_are_denied() {
    if is_root() {
        // Positive control: outside the sandbox root can open a raw socket.
        assert!(unsandboxed(&["socket", "raw"]).is_ok());
    }
    for flags in [&["--block-net"][..], &[][..]] {
        // smc/smc6: the filter's EPERM, whether or not the kernel has SMC
        // (without it the call would fail with EPROTONOSUPPORT instead).
        for kind in [
            "raw",
            "raw6",
            "packet",
            "vsock",
            "netlink-audit",
            "smc",
            "smc6",
        ] {
            let r = run(flags, &["socket", kind]);
            assert!(r.is_err(Some(EPERM)), "{flags:?} {kind}: {r:?}");
        }
    }
}

#[test]
fn block_net_denies_every_socket_family_but_socketpair() {
    for kind in ["tcp", "udp"] {
        let r = run(&["--block-net"], &["socket", kind]);
        assert!(r.is_err(Some(EPERM)), "{kind}: {r:?}");
    }
    assert!(run(&["--block-net"], &["socketpair"]).is_ok());
    // Unix sockets: mediated by the broker in `run` (connect/bind only to
    // granted paths, see broker.rs), so creating one is allowed there;
    // `wrap` has no broker and refuses them.
    assert!(run(&["--block-net"], &["socket", "unix"]).is_ok());
    let r = sandboxed("wrap", &["--block-net"], &["socket", "unix"]);
    assert!(r.is_err(Some(EPERM)), "{r:?}");
}

#[test]
fn pathname_unix_socket_outside_receives_nothing() {
    let d = Scratch::new();
    let path = d.join("sock");
    let l = UnixListener::bind(&path).unwrap();
    l.set_nonblocking(true).unwrap();
    let p = path.to_str().unwrap();
    // Even with the socket's directory granted read-write.
    for flags in [&[][..], &["--allow", &d.s()][..]] {
        let r = run(flags, &["unix-connect", p]);
        assert!(r.is_err(None), "{flags:?}: {r:?}");
        assert!(
            l.accept().is_err(),
            "{flags:?}: listener must receive nothing"
        );
    }
    assert!(
        unsandboxed(&["unix-connect", p]).is_ok(),
        "positive control"
    );
    assert!(l.accept().is_ok());
}

#[test]
fn abstract_unix_socket_outside_receives_nothing() {
    let name = format!("nono-e2e-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    l.set_nonblocking(true).unwrap();
    let r = run(&[], &["unix-abstract", &name]);
    assert!(r.is_err(None), "{r:?}");
    assert!(l.accept().is_err(), "listener must receive nothing");
    assert!(
        unsandboxed(&["unix-abstract", &name]).is_ok(),
        "positive control"
    );
    assert!(l.accept().is_ok());
}

/// Client TCP Fast Open on, as root (so a build without the filter rule
/// would let the attack through); whether it is on for this host.
fn client_fastopen_on() -> bool {
    let read = || {
        std::fs::read_to_string(TCP_FASTOPEN_SYSCTL)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    if is_root() && read() & 3 != 3 {
        std::fs::write(TCP_FASTOPEN_SYSCTL, (read() | 3).to_string()).unwrap();
    }
    read() & 1 == 1
}

#[test]
fn tcp_fast_open_reaches_no_port_that_connect_may_not() {
    let (l, a) = tcp_listener();
    let (open_l, open_a) = tcp_listener();
    let open_port = open_l.local_addr().unwrap().port().to_string();
    // Positive control: outside a sandbox the Fast Open send arrives.
    if client_fastopen_on() {
        let r = unsandboxed(&["tfo-sendto", &a]);
        assert!(r.is_ok(), "{r:?}");
        assert!(
            received_tcp(&l),
            "control: Fast Open must arrive unsandboxed"
        );
    }
    let flags = ["--block-net", "--open-port", open_port.as_str()];
    for mode in ["run", "wrap"] {
        for op in ["tfo-sendto", "tfo-connect"] {
            // EOPNOTSUPP comes from the main filter; in `run` the broker's
            // notify filter also matches sendto, and the errno must win
            // (SECCOMP_RET_ERRNO outranks SECCOMP_RET_USER_NOTIF).
            let r = sandboxed(mode, &flags, &[op, &a]);
            assert!(r.is_err(Some(libc::EOPNOTSUPP)), "{mode} {op}: {r:?}");
            assert!(
                !received_tcp(&l),
                "{mode} {op}: listener must receive nothing"
            );
        }
        // The allowed port still works, by connect.
        let r = sandboxed(mode, &flags, &["tcp-connect", &open_a]);
        assert!(r.is_ok(), "{mode}: {r:?}");
        assert!(received_tcp(&open_l), "{mode}: the open port must work");
    }
}

fn received_dgram(u: &UnixDatagram) -> bool {
    std::thread::sleep(Duration::from_millis(50));
    let mut buf = [0u8; 64];
    u.recv(&mut buf).is_ok()
}

#[test]
fn wrap_refuses_unix_datagram_pairs_and_the_socket_outside_sees_nothing() {
    let d = Scratch::new();
    let path = d.join("dgram.sock");
    let u = UnixDatagram::bind(&path).unwrap();
    u.set_nonblocking(true).unwrap();
    let p = path.to_str().unwrap();
    for how in ["sendto", "connect"] {
        let r = unsandboxed(&["unix-dgram-pair", p, how]);
        assert!(r.is_ok() && received_dgram(&u), "control {how}: {r:?}");
        for flags in [&[][..], &["--block-net"][..]] {
            let r = sandboxed("wrap", flags, &["unix-dgram-pair", p, how]);
            assert!(r.is_err(Some(EPERM)), "wrap {flags:?} {how}: {r:?}");
            assert!(
                !received_dgram(&u),
                "wrap {flags:?} {how}: nothing may arrive"
            );
        }
        // `run`: the pair is allowed, and the broker refuses the address.
        let r = run(&[], &["unix-dgram-pair", p, how]);
        assert!(r.is_err(None), "run {how}: {r:?}");
        assert!(!received_dgram(&u), "run {how}: nothing may arrive");
    }
    // SOCK_RAW unix pairs are datagram pairs in the kernel.
    for ty in ["dgram", "raw"] {
        let r = sandboxed("wrap", &[], &["socketpair-type", ty]);
        assert!(r.is_err(Some(EPERM)), "{ty}: {r:?}");
    }
    for ty in ["stream", "seqpacket"] {
        let r = sandboxed("wrap", &["--block-net"], &["socketpair-type", ty]);
        assert!(r.is_ok(), "{ty} pairs stay: {r:?}");
    }
}

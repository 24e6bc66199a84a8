//! The library's network policies on the real kernel, each applied in a
//! forked child (Landlock binds only the calling thread on ABI < 8), with
//! the outcome observed from the parent at its own listeners.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use sandbox::{CapabilitySet, NetworkPolicy, Sandbox};

/// Run `f` confined to `policy` in a child; its exit status is 0 when `f` returned true.
fn in_child(policy: NetworkPolicy, f: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child only applies the sandbox, runs `f` and calls _exit; the parent waits for it.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let mut caps = CapabilitySet::new();
            caps.set_network(policy).set_abstract_unix_isolation(false);
            let ok = Sandbox::apply(&caps).is_ok() && f();
            // SAFETY: _exit never returns and runs no destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        nix::unistd::ForkResult::Parent { child } => matches!(
            nix::sys::wait::waitpid(child, None).unwrap(),
            nix::sys::wait::WaitStatus::Exited(_, 0)
        ),
    }
}

fn received(l: &TcpListener) -> bool {
    std::thread::sleep(Duration::from_millis(50));
    l.accept().is_ok()
}

#[test]
fn unix_only_denies_tcp_and_udp_but_allows_unix_sockets() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_nonblocking(true).unwrap();
    let udp_addr = udp.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let unix = UnixListener::bind(&path).unwrap();

    // Positive control: unrestricted, the child reaches the TCP listener.
    assert!(in_child(NetworkPolicy::Allowed, || TcpStream::connect(
        tcp_addr
    )
    .is_ok()));
    assert!(received(&tcp));

    assert!(in_child(NetworkPolicy::UnixOnly, || TcpStream::connect(
        tcp_addr
    )
    .is_err()));
    assert!(!received(&tcp), "the TCP listener must receive nothing");
    assert!(in_child(NetworkPolicy::UnixOnly, || {
        UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.send_to(b"x", udp_addr))
            .is_err()
    }));
    let mut buf = [0u8; 4];
    assert!(udp.recv_from(&mut buf).is_err(), "no datagram may arrive");

    let p = path.clone();
    assert!(in_child(NetworkPolicy::UnixOnly, move || {
        UnixStream::connect(&p).is_ok()
    }));
    let (mut s, _) = unix.accept().unwrap();
    assert_eq!(
        s.read(&mut buf).unwrap(),
        0,
        "connected, then closed by the exiting child"
    );
}

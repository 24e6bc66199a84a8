//! Probe operations through the session's proxy: a large transfer over a
//! `CONNECT` tunnel to an echo server, checked byte for byte in both
//! directions, with a half-close ending each. Each prints `OK …` /
//! `ERR …` and exits.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::exit;

fn ok(detail: impl std::fmt::Display) -> ! {
    println!("OK {detail}");
    exit(0)
}

fn fail(step: &str, e: impl std::fmt::Display) -> ! {
    println!("ERR 0 {step}: {e}");
    exit(10)
}

/// Run `action`; returns only when it is not one of these.
pub fn run(action: &str, args: &[String]) {
    if action == "tunnel-echo" {
        let target = args.get(2).map(String::as_str).unwrap_or_else(|| exit(2));
        let mib: usize = args
            .get(3)
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| exit(2));
        tunnel_echo(target, mib << 20)
    }
}

/// The byte at offset `i` of the stream sent (a pattern that shows
/// reordering, loss and duplication).
fn pattern(i: usize) -> u8 {
    ((i % 251) ^ (i >> 16)) as u8
}

/// `CONNECT target` through `$HTTP_PROXY` (user and token in the URL).
fn open_tunnel(target: &str) -> TcpStream {
    let url = std::env::var("HTTP_PROXY").unwrap_or_else(|e| fail("HTTP_PROXY", e));
    let rest = url.trim_start_matches("http://").trim_end_matches('/');
    let (auth, hostport) = rest
        .rsplit_once('@')
        .unwrap_or_else(|| fail("HTTP_PROXY", "no token"));
    let mut s = TcpStream::connect(hostport).unwrap_or_else(|e| fail("connect", e));
    let req = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: Basic {}\r\n\r\n",
        crate::base64(auth.as_bytes())
    );
    s.write_all(req.as_bytes())
        .unwrap_or_else(|e| fail("CONNECT", e));
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) if head.len() < 8192 => head.push(b[0]),
            Ok(_) => fail("CONNECT", "no complete answer"),
            Err(e) => fail("CONNECT", e),
        }
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        fail("CONNECT", String::from_utf8_lossy(&head));
    }
    s
}

/// Send `total` bytes and half-close while reading the echo to EOF.
fn tunnel_echo(target: &str, total: usize) -> ! {
    let s = open_tunnel(target);
    let mut w = s.try_clone().unwrap_or_else(|e| fail("clone", e));
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        let mut sent = 0;
        while sent < total {
            let n = buf.len().min(total - sent);
            for (k, b) in buf[..n].iter_mut().enumerate() {
                *b = pattern(sent + k);
            }
            w.write_all(&buf[..n])?;
            sent += n;
        }
        w.shutdown(Shutdown::Write)
    });
    let mut r = s;
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0usize;
    loop {
        let n = r.read(&mut buf).unwrap_or_else(|e| fail("read", e));
        if n == 0 {
            break;
        }
        if let Some(k) = (0..n).find(|&k| buf[k] != pattern(got + k)) {
            fail("echo", format!("byte {} differs", got + k));
        }
        got += n;
    }
    match writer.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail("write", e),
        Err(_) => fail("write", "writer panicked"),
    }
    if got != total {
        fail("echo", format!("{got} of {total} bytes came back"));
    }
    ok(format!("echoed {got} bytes"))
}

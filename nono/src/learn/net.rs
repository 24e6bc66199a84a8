//! Network calls in a trace: TCP/UDP destinations, listening ports,
//! pathname unix sockets, and the names DNS answers give to addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::event::Event;
use super::parse::{self, Call};

/// The address a `connect` names: inet destinations and unix socket paths.
pub fn connect(c: &Call) -> Vec<Event> {
    let (Some(fd), Some(sa)) = (c.args.first(), c.args.get(1)) else {
        return Vec::new();
    };
    if sa.contains("sa_family=AF_UNIX") {
        return unix(sa, false);
    }
    let udp = fd.contains("<UDP");
    inet(sa)
        .map(|addr| Event::Connect { addr, udp })
        .into_iter()
        .collect()
}

/// A bound unix socket, or a TCP port the command listens on.
pub fn bind(c: &Call) -> Vec<Event> {
    let (Some(fd), Some(sa)) = (c.args.first(), c.args.get(1)) else {
        return Vec::new();
    };
    if sa.contains("sa_family=AF_UNIX") {
        return unix(sa, true);
    }
    match inet(sa) {
        Some(a) if a.port() != 0 && fd.contains("<TCP") => vec![Event::Listen { port: a.port() }],
        _ => Vec::new(),
    }
}

fn unix(sa: &str, bind: bool) -> Vec<Event> {
    match parse::field(sa, "sun_path") {
        // Abstract (`@"..."`) and unnamed sockets have no path to grant.
        Some(v) if v.starts_with('"') => parse::path(v)
            .filter(|p| p.is_absolute())
            .map(|path| Event::Unix { path, bind })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// `sin_port=htons(N)` with `inet_addr("...")` or `inet_pton(AF_INET6, "...")`.
fn inet(sa: &str) -> Option<SocketAddr> {
    let port = parse::field(sa, "sin_port").or_else(|| parse::field(sa, "sin6_port"))?;
    let port: u16 = port
        .trim_start_matches("htons(")
        .trim_end_matches(')')
        .parse()
        .ok()?;
    let text = String::from_utf8(parse::string(sa)?).ok()?;
    let ip: IpAddr = text.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// A DNS response received from port 53: the question's name and the
/// addresses the answer gives it.
pub fn dns_answer(c: &Call) -> Vec<Event> {
    let from_dns = c
        .args
        .iter()
        .any(|a| a.contains(":53]") || a.contains("htons(53)"));
    if !from_dns || c.ret <= 0 {
        return Vec::new();
    }
    let buf = c
        .args
        .get(1)
        .and_then(|a| parse::string(a))
        .unwrap_or_default();
    match answer(&buf) {
        Some((name, addrs)) if !addrs.is_empty() => vec![Event::Dns { name, addrs }],
        _ => Vec::new(),
    }
}

/// Parse a DNS message: (question name, A and AAAA answers).
pub fn answer(m: &[u8]) -> Option<(String, Vec<IpAddr>)> {
    let u16_at = |i: usize| m.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let is_response = m.get(2)? & 0x80 != 0;
    let (qd, an) = (u16_at(4)?, u16_at(6)?);
    if !is_response || qd != 1 {
        return None;
    }
    let (name, mut i) = read_name(m, 12)?;
    i += 4;
    let mut addrs = Vec::new();
    for _ in 0..an {
        let (_, after) = read_name(m, i)?;
        let (ty, len) = (u16_at(after)?, usize::from(u16_at(after + 8)?));
        let data = m.get(after + 10..after + 10 + len)?;
        match (ty, len) {
            (1, 4) => addrs.push(IpAddr::V4(Ipv4Addr::new(
                data[0], data[1], data[2], data[3],
            ))),
            (28, 16) => {
                let b: [u8; 16] = data.try_into().ok()?;
                addrs.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {}
        }
        i = after + 10 + len;
    }
    Some((name.to_ascii_lowercase(), addrs))
}

/// A (possibly compressed) name at `i`: the name and the offset after it.
fn read_name(m: &[u8], mut i: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..128 {
        let len = *m.get(i)?;
        match len {
            0 => {
                let name = labels.join(".");
                return Some((name, end.unwrap_or(i + 1)));
            }
            l if l & 0xc0 == 0xc0 => {
                let ptr = usize::from(u16::from_be_bytes([l & 0x3f, *m.get(i + 1)?]));
                end.get_or_insert(i + 2);
                i = ptr;
            }
            l => {
                let label = m.get(i + 1..i + 1 + usize::from(l))?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                i += 1 + usize::from(l);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        for l in ["api", "example", "com"] {
            m.push(l.len() as u8);
            m.extend(l.as_bytes());
        }
        m.extend([0, 0, 1, 0, 1]);
        // CNAME-free answers pointing back at the question name (offset 12).
        m.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
        m.extend([0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
        m.extend([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        m
    }

    #[test]
    fn dns_answers_name_their_addresses() {
        let (name, addrs) = answer(&response()).unwrap();
        assert_eq!(name, "api.example.com");
        assert_eq!(
            addrs,
            vec![
                "93.184.216.34".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
        assert!(answer(&response()[..20]).is_none());
    }

    #[test]
    fn connect_reads_inet_and_unix_addresses() {
        let hex = |s: &str| -> String { s.bytes().map(|b| format!("\\x{b:02x}")).collect() };
        let l = format!(
            "connect(3<TCP:[9]>, {{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"{}\")}}, 16) = -1 EINPROGRESS (x)",
            hex("127.0.0.1")
        );
        let c = parse::line(&l).unwrap();
        assert_eq!(
            connect(&c),
            vec![Event::Connect {
                addr: "127.0.0.1:8080".parse().unwrap(),
                udp: false
            }]
        );
        let l = format!(
            "connect(3<UNIX-STREAM:[9]>, {{sa_family=AF_UNIX, sun_path=\"{}\"}}, 110) = 0",
            hex("/run/x.sock")
        );
        assert_eq!(
            connect(&parse::line(&l).unwrap()),
            vec![Event::Unix {
                path: "/run/x.sock".into(),
                bind: false
            }]
        );
        let l = "connect(3<UNIX-STREAM:[9]>, {sa_family=AF_UNIX, sun_path=@\"\\x61\"}, 4) = 0";
        assert!(connect(&parse::line(l).unwrap()).is_empty());
    }
}

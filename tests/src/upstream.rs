//! Local upstreams for the proxy tests: `nono-upstream` over HTTP or HTTPS
//! on 127.0.0.1, with a test CA made here, and the requests it logged.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{bin_dir, Scratch};

/// A test CA and a server certificate for 127.0.0.1 and localhost.
pub struct TestCa {
    pub ca_pem: PathBuf,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

impl TestCa {
    pub fn new(dir: &Scratch) -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
        let ca_key = KeyPair::generate().expect("ca key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "nono test CA");
        let ca = p.self_signed(&ca_key).expect("ca");
        let key = KeyPair::generate().expect("key");
        let mut s = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        s.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        let cert = s.signed_by(&key, &ca, &ca_key).expect("cert");
        let out = TestCa {
            ca_pem: dir.join("test-ca.pem"),
            cert_pem: dir.join("server.pem"),
            key_pem: dir.join("server.key"),
        };
        std::fs::write(&out.ca_pem, ca.pem()).expect("write");
        std::fs::write(&out.cert_pem, cert.pem()).expect("write");
        std::fs::write(&out.key_pem, key.serialize_pem()).expect("write");
        out
    }
}

/// A running upstream; killed on drop.
pub struct Upstream {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Upstream {
    /// Plain HTTP, or HTTPS with `ca`'s server certificate.
    pub fn start(dir: &Scratch, tag: &str, ca: Option<&TestCa>) -> Upstream {
        let tls: Vec<&std::path::Path> = ca
            .map(|c| vec![c.cert_pem.as_path(), c.key_pem.as_path()])
            .unwrap_or_default();
        Upstream::spawn(dir, tag, None, &tls)
    }

    /// A minimal CONNECT proxy (standing in for an enterprise proxy).
    pub fn connect_proxy(dir: &Scratch, tag: &str) -> Upstream {
        Upstream::spawn(dir, tag, Some("connect-proxy"), &[])
    }

    /// A TCP echo server: each connection's bytes come back, then EOF
    /// once the client half-closed.
    pub fn echo(dir: &Scratch, tag: &str) -> Upstream {
        Upstream::spawn(dir, tag, Some("echo"), &[])
    }

    fn spawn(dir: &Scratch, tag: &str, mode: Option<&str>, extra: &[&std::path::Path]) -> Upstream {
        let port_file = dir.join(&format!("{tag}.port"));
        let log = dir.join(&format!("{tag}.log"));
        let child = Command::new(bin_dir().join("nono-upstream"))
            .args(mode)
            .arg(&port_file)
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start nono-upstream");
        let port = wait_port(&port_file);
        Upstream { child, port, log }
    }

    /// Every request received so far, as logged.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The raw log (for canary searches).
    pub fn raw_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_port(port_file: &std::path::Path) -> u16 {
    let start = Instant::now();
    loop {
        if let Some(p) = std::fs::read_to_string(port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "upstream did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

//! Proxy mode end to end: containment observed at host listeners, the
//! allowlist observed at upstreams, credential injection with the real key
//! arriving upstream and never inside the sandbox, TLS tunnels and
//! interception, and real clients (curl, python urllib/requests, the
//! openai SDK, node fetch).

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use nono_e2e::upstream::{free_port, TestCa, Upstream};
use nono_e2e::{canary, nono_bin, run, run_sh, Ran, Scratch};

fn received_tcp(l: &TcpListener) -> bool {
    std::thread::sleep(Duration::from_millis(100));
    l.set_nonblocking(true).unwrap();
    match l.accept() {
        Ok((mut s, _)) => {
            let mut b = [0u8; 16];
            s.set_read_timeout(Some(Duration::from_millis(200))).ok();
            let _ = s.read(&mut b);
            true
        }
        Err(_) => false,
    }
}

fn shell(flags: &[&str], env: &[(&str, &str)], script: &str) -> Ran {
    run_sh(flags, env, script)
}

/// Direct TCP, UDP (DNS included), MPTCP, TCP Fast Open from inside all
/// fail and the host listeners receive nothing; ICMP and SCTP sockets are
/// refused by seccomp.
/// Returns the TCP listener and its address (for a positive control) and
/// nono's stderr of the first attempt.
fn assert_contained(flags: &[&str]) -> ((TcpListener, String), String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap().to_string();
    let first = run(flags, &["tcp-connect", &a]);
    assert!(first.is_err(None), "{first:?}");
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_nonblocking(true).unwrap();
    let r = run(flags, &["udp-send", &u.local_addr().unwrap().to_string()]);
    assert!(r.is_err(None), "{r:?}");
    let r = run(flags, &["mptcp-connect", &a]);
    assert!(r.is_err(None), "{r:?}");
    for kind in ["icmp", "sctp", "sctp-seqpacket"] {
        let r = run(flags, &["socket", kind]);
        assert!(r.is_err(Some(libc::EPERM)), "{kind}: {r:?}");
    }
    // TCP Fast Open connects past Landlock's connect check: refused.
    for op in ["tfo-sendto", "tfo-connect"] {
        let r = run(flags, &[op, &a]);
        assert!(r.is_err(Some(libc::EOPNOTSUPP)), "{op}: {r:?}");
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut buf = [0u8; 32];
    assert!(u.recv_from(&mut buf).is_err(), "no datagram may arrive");
    assert!(
        !received_tcp(&l),
        "direct TCP, MPTCP or Fast Open must not arrive"
    );
    ((l, a), first.stderr)
}

#[test]
fn contained_agent_reaches_nothing_but_the_proxy() {
    let proxy_port = free_port();
    let pp = proxy_port.to_string();
    let flags = [
        "--allow-domain",
        "allowed.test",
        "--proxy-port",
        pp.as_str(),
    ];
    let ((l, a), _) = assert_contained(&flags);
    // The proxy's port on another loopback address of the host.
    let other = TcpListener::bind(("127.0.0.2", proxy_port)).unwrap();
    let r = run(&flags, &["tcp-connect", &format!("127.0.0.2:{proxy_port}")]);
    assert!(r.is_err(None), "{r:?}");
    assert!(
        !received_tcp(&other),
        "the proxy port on another address must not arrive"
    );
    // Positive control: the same probes outside the proxy mode do arrive.
    assert!(run(&[], &["tcp-connect", &a]).is_ok());
    assert!(received_tcp(&l));
}

#[test]
fn connect_to_a_host_not_allowed_gets_403_and_the_destination_sees_nothing() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "denied", None);
    let url = format!("http://127.0.0.1:{}/", up.port);
    // Through the proxy (as HTTPS clients do: CONNECT), not allowed.
    let r = shell(
        &["--allow-domain", "allowed.test"],
        &[],
        &format!("curl -sS -o /dev/null -w '%{{http_connect}} %{{http_code}}' -p --noproxy '' -x \"$HTTPS_PROXY\" {url}; echo; curl -sS -o /dev/null -w '%{{http_code}}' --noproxy '' -x \"$HTTP_PROXY\" {url}"),
    );
    assert!(r.stdout.starts_with("403 "), "{r:?}");
    assert!(r.stdout.trim_end().ends_with("403"), "{r:?}");
    assert!(up.requests().is_empty(), "the destination must see nothing");
    assert!(
        r.stderr.contains("denied CONNECT 127.0.0.1:"),
        "summary: {}",
        r.stderr
    );
    // Allowed literally: the same request goes through.
    let allow = format!("127.0.0.1:{}", up.port);
    let r = shell(
        &["--allow-domain", &allow],
        &[],
        &format!("curl -sS -o /dev/null -w '%{{http_connect}} %{{http_code}}' -p --noproxy '' -x \"$HTTPS_PROXY\" {url}"),
    );
    assert_eq!(r.stdout, "200 200", "{r:?}");
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn requests_without_the_session_token_are_refused() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "tok", None);
    let allow = format!("127.0.0.1:{}", up.port);
    let r = shell(
        &["--allow-domain", &allow],
        &[],
        &format!("p=$(echo \"$HTTP_PROXY\" | sed 's|//.*@|//|'); curl -sS -o /dev/null -w '%{{http_code}}' --noproxy '' -x \"$p\" http://127.0.0.1:{}/", up.port),
    );
    assert_eq!(r.stdout, "407", "{r:?}");
    assert!(up.requests().is_empty());
}

#[test]
fn loopback_names_and_metadata_are_denied_even_when_allowed_by_name() {
    let r = shell(
        &["--allow-domain", "localhost", "--allow-domain", "metadata.google.internal", "--allow-domain", "169.254.169.254"],
        &[],
        "for u in http://localhost/ http://metadata.google.internal/ http://169.254.169.254/latest; do \
         curl -sS -o /dev/null -w '%{http_code} ' --noproxy '' -x \"$HTTP_PROXY\" $u; done",
    );
    assert_eq!(r.stdout.trim(), "403 403 403", "{r:?}");
}

fn profile_with_credential(dir: &Scratch, upstream: &str, key: &str, extra: &str) -> String {
    let p = dir.join("profile.json");
    std::fs::write(
        &p,
        format!(
            r#"{{"extends":"default","network":{{"custom_credentials":{{"testsvc":{{"upstream":"{upstream}","credential_key":"{key}","env_var":"TESTSVC_API_KEY","inject_header":"Authorization","credential_format":"Bearer {{}}"{extra}}}}}}}}}"#
        ),
    )
    .unwrap();
    p.display().to_string()
}

/// What the agent can read: its environment, every /proc/*/environ and
/// cmdline it may open, its files.
const LOOK_EVERYWHERE: &str = "env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; \
     grep -r . \"$TMPDIR\" 2>/dev/null; echo";

fn check_injection(key_ref: &str, env: &[(&str, &str)], secret: &str, extra_flags: &[&str]) {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "cred", None);
    let profile = profile_with_credential(
        &dir,
        &format!("http://127.0.0.1:{}/v1", up.port),
        key_ref,
        "",
    );
    let mut flags = vec!["--profile", profile.as_str(), "--credential", "testsvc"];
    flags.extend_from_slice(extra_flags);
    let script = format!(
        "{LOOK_EVERYWHERE}; \
         curl -sS -H \"Authorization: Bearer $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/echo-auth\"; echo; \
         curl -sS -D - -o /dev/null -H \"Authorization: Bearer $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/redirect\"; \
         curl -sS -o /dev/null -w 'wrong:%{{http_code}}' -H 'Authorization: Bearer 0000' \"$TESTSVC_BASE_URL/echo-auth\""
    );
    let r = shell(&flags, env, &script);
    assert_eq!(r.code, Some(0), "{r:?}");
    // The upstream got the real key, on the right path.
    let reqs = up.requests();
    assert_eq!(
        reqs.len(),
        2,
        "the wrong phantom must not be forwarded: {reqs:?}"
    );
    assert_eq!(reqs[0]["path"], "/v1/echo-auth");
    assert_eq!(
        reqs[0]["headers"]["authorization"],
        format!("Bearer {secret}")
    );
    // Nothing the agent saw contains it: env, /proc, files, bodies, headers.
    assert!(
        !r.stdout.contains(secret),
        "secret visible inside: {}",
        r.stdout
    );
    assert!(!r.stderr.contains(secret));
    assert!(
        r.stdout.contains("auth=Bearer ****"),
        "echo scrubbed: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("TESTSVC_BASE_URL=http://127.0.0.1:"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("wrong:401"), "{}", r.stdout);
    let phantom = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("TESTSVC_API_KEY="))
        .expect("phantom token in the environment");
    assert_eq!(phantom.len(), 64, "256-bit phantom token: {phantom}");
    assert!(
        !up.raw_log().contains(phantom),
        "the phantom must not reach the upstream"
    );
}

#[test]
fn env_credential_reaches_the_upstream_but_not_the_agent() {
    let secret = canary("proxykey");
    check_injection(
        "env://NONO_TEST_PROXY_KEY",
        &[("NONO_TEST_PROXY_KEY", &secret)],
        &secret,
        &[],
    );
}

#[test]
fn file_credential_reaches_the_upstream_but_not_the_agent() {
    let dir = Scratch::new();
    let secret = canary("proxyfile");
    let f = dir.join("key.txt");
    std::fs::write(&f, format!("{secret}\n")).unwrap();
    check_injection(&format!("file://{}", f.display()), &[], &secret, &[]);
}

#[test]
fn endpoint_rules_limit_a_credential() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "ep", None);
    let secret = canary("ep");
    let profile = profile_with_credential(
        &dir,
        &format!("http://127.0.0.1:{}/v1", up.port),
        "env://NONO_TEST_EP_KEY",
        "",
    );
    let r = shell(
        &["--profile", &profile, "--credential", "testsvc", "--allow-endpoint", "testsvc:GET:/v1/allowed/**"],
        &[("NONO_TEST_EP_KEY", &secret)],
        "for p in allowed/x other; do curl -sS -o /dev/null -w '%{http_code} ' -H \"Authorization: Bearer $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/$p\"; done",
    );
    assert_eq!(r.stdout.trim(), "200 403", "{r:?}");
    let paths: Vec<String> = up
        .requests()
        .iter()
        .map(|q| q["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(paths, vec!["/v1/allowed/x"]);
}

#[test]
fn https_tunnel_and_interception_with_path_rules() {
    let dir = Scratch::new();
    let ca = TestCa::new(&dir);
    let up = Upstream::start(&dir, "tls", Some(&ca));
    let ca_path = ca.ca_pem.display().to_string();
    let base = format!("https://127.0.0.1:{}", up.port);
    // Blind tunnel: the agent's own TLS to the upstream (it trusts the test CA).
    let allow = format!("127.0.0.1:{}", up.port);
    let r = shell(
        &["--allow-domain", &allow, "--read-file", &ca_path],
        &[],
        &format!("curl -sS --noproxy '' -x \"$HTTPS_PROXY\" --cacert {ca_path} {base}/tunnel"),
    );
    assert_eq!(r.stdout, "ok", "{r:?}");
    // Interception: paths are checked; the agent trusts the session CA via
    // the variables nono sets; the proxy trusts the test CA via SSL_CERT_FILE.
    let rule = format!("https://127.0.0.1:{}/allowed/**", up.port);
    let r = shell(
        &["--allow-domain", &rule],
        &[("SSL_CERT_FILE", &ca_path)],
        &format!(
            "for p in allowed/x denied/x allowed/../denied/x; do \
             curl -sS --path-as-is -o /dev/null -w '%{{http_code}} ' --noproxy '' -x \"$HTTPS_PROXY\" {base}/$p; done; \
             test -s \"$SSL_CERT_FILE\" && grep -c 'BEGIN CERTIFICATE' \"$NODE_EXTRA_CA_CERTS\""
        ),
    );
    assert_eq!(r.stdout.trim(), "200 403 403 1", "{r:?}");
    let paths: Vec<String> = up
        .requests()
        .iter()
        .map(|q| q["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(paths, vec!["/tunnel", "/allowed/x"]);
}

#[test]
fn real_clients_python_openai_sdk_and_node() {
    let dir = Scratch::new();
    let ca = TestCa::new(&dir);
    let up = Upstream::start(&dir, "clients", Some(&ca));
    let plain = Upstream::start(&dir, "plain", None);
    let secret = canary("sdk");
    let ca_path = ca.ca_pem.display().to_string();
    // A profile credential named like the built-in openai, pointing at the
    // local HTTPS upstream: OPENAI_BASE_URL and OPENAI_API_KEY are set.
    let profile = dir.join("openai.json");
    std::fs::write(
        &profile,
        format!(
            r#"{{"network":{{"custom_credentials":{{"openai":{{"upstream":"https://127.0.0.1:{}/v1","credential_key":"env://NONO_TEST_OPENAI","env_var":"OPENAI_API_KEY"}}}}}}}}"#,
            up.port
        ),
    )
    .unwrap();
    let script = dir.join("clients.py");
    std::fs::write(
        &script,
        format!(
            r#"
import os, json, urllib.request, requests, openai
# urllib and requests through HTTP_PROXY to an allowed plain upstream
print("urllib", urllib.request.urlopen("http://127.0.0.1:{plain}/u").status)
print("requests", requests.get("http://127.0.0.1:{plain}/r").status_code)
try:
    urllib.request.urlopen("http://denied.test/")
except Exception as e:
    print("urllib-denied", getattr(e, "code", e))
client = openai.OpenAI()
r = client.chat.completions.create(model="test", messages=[{{"role": "user", "content": "hi"}}])
print("openai", r.choices[0].message.content)
"#,
            plain = plain.port
        ),
    )
    .unwrap();
    let allow = format!("127.0.0.1:{}", plain.port);
    let py = script.display().to_string();
    let r = shell(
        &[
            "--profile", &profile.display().to_string(), "--credential", "openai", "--allow-domain", &allow,
            "--read-file", &py,
            // The agent inherits the user's SSL_CERT_FILE (the test CA).
            "--read-file", &ca_path,
        ],
        &[("SSL_CERT_FILE", &ca_path), ("NONO_TEST_OPENAI", &secret)],
        &format!("NO_PROXY= no_proxy= /usr/bin/python3 {py}; \
                  node -e 'fetch(process.env.OPENAI_BASE_URL + \"/models\", {{headers: {{authorization: \"Bearer \" + process.env.OPENAI_API_KEY}}}}).then(r => console.log(\"node\", r.status))'"),
    );
    assert!(r.stdout.contains("urllib 200"), "{r:?}");
    assert!(r.stdout.contains("requests 200"), "{r:?}");
    assert!(r.stdout.contains("urllib-denied 403"), "{r:?}");
    assert!(r.stdout.contains("openai hello from upstream"), "{r:?}");
    assert!(r.stdout.contains("node 200"), "{r:?}");
    let reqs = up.requests();
    assert!(
        reqs.iter().any(|q| q["path"] == "/v1/chat/completions"
            && q["headers"]["authorization"] == format!("Bearer {secret}")),
        "{reqs:?}"
    );
    assert!(reqs.iter().any(|q| q["path"] == "/v1/models"), "{reqs:?}");
    assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
}

#[test]
fn wrap_refuses_proxy_flags_and_conflicts_are_errors() {
    let r = nono_e2e::nono(&["wrap", "--allow-domain", "x.test", "--", "/bin/true"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("Use nono run instead"), "{}", r.stderr);
    let r = nono_e2e::nono(&[
        "run",
        "--block-net",
        "--allow-domain",
        "x.test",
        "--",
        "/bin/true",
    ]);
    assert!(
        r.stderr
            .contains("--block-net conflicts with --allow-domain"),
        "{}",
        r.stderr
    );
    let r = nono_e2e::nono(&["run", "--credential", "nosuch", "--", "/bin/true"]);
    assert!(
        r.stderr.contains("unknown credential service 'nosuch'"),
        "{}",
        r.stderr
    );
    let r = nono_e2e::nono(&["run", "--network-profile", "nosuch", "--", "/bin/true"]);
    assert!(
        r.stderr.contains("unknown network profile 'nosuch'"),
        "{}",
        r.stderr
    );
    let r = nono_e2e::nono(&["run", "--allow-domain", "x.test/path", "--", "/bin/true"]);
    assert!(r.stderr.contains("a path needs a URL"), "{}", r.stderr);
    let r = nono_e2e::nono(&[
        "run",
        "--upstream-bypass",
        "a.test",
        "--allow-domain",
        "x.test",
        "--",
        "/bin/true",
    ]);
    assert!(
        r.stderr
            .contains("--upstream-bypass requires --upstream-proxy"),
        "{}",
        r.stderr
    );
    // A trust file without certificates: refused before anything runs.
    let dir = Scratch::new();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let r = shell(
        &["--allow-domain", "x.test"],
        &[("SSL_CERT_FILE", &empty.display().to_string())],
        "echo ran",
    );
    assert!(
        r.stderr.contains("no certificates") && !r.stdout.contains("ran"),
        "{r:?}"
    );
}

#[test]
fn upstream_proxy_chains_and_bypass_goes_direct() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "behind", None);
    let corp = Upstream::connect_proxy(&dir, "corp");
    let allow = format!("127.0.0.1:{}", up.port);
    let corp_addr = format!("127.0.0.1:{}", corp.port);
    let script = format!(
        "curl -sS -o /dev/null -w '%{{http_code}}' -p --noproxy '' -x \"$HTTP_PROXY\" http://127.0.0.1:{}/via",
        up.port
    );
    let r = shell(
        &["--allow-domain", &allow, "--upstream-proxy", &corp_addr],
        &[],
        &script,
    );
    assert_eq!(r.stdout, "200", "{r:?}");
    assert!(
        corp.raw_log()
            .contains(&format!("CONNECT 127.0.0.1:{}", up.port)),
        "{}",
        corp.raw_log()
    );
    // Bypassed: straight to the upstream, the corporate proxy sees nothing new.
    let before = corp.raw_log().lines().count();
    let r = shell(
        &[
            "--allow-domain",
            &allow,
            "--upstream-proxy",
            &corp_addr,
            "--upstream-bypass",
            "127.0.0.1",
        ],
        &[],
        &script,
    );
    assert_eq!(r.stdout, "200", "{r:?}");
    assert_eq!(corp.raw_log().lines().count(), before);
    assert_eq!(up.requests().len(), 2);
    // Metadata stays denied through the upstream proxy too.
    let r = shell(
        &["--allow-domain", "169.254.169.254", "--upstream-proxy", &corp_addr],
        &[],
        "curl -sS -o /dev/null -w '%{http_code}' --noproxy '' -x \"$HTTP_PROXY\" http://169.254.169.254/",
    );
    assert_eq!(r.stdout, "403", "{r:?}");
}

#[test]
fn listen_port_falls_back_to_landlock_with_a_warning_and_still_contains() {
    let listen = free_port();
    let lp = listen.to_string();
    let flags = [
        "--allow-domain",
        "allowed.test",
        "--listen-port",
        lp.as_str(),
    ];
    let (_, stderr) = assert_contained(&flags);
    assert!(stderr.contains("Landlock and seccomp only"), "{stderr}");
    // The listen port is usable from the host.
    let mut server = Command::new(nono_bin())
        .args(["run", "--silent", "--allow-domain", "allowed.test", "--listen-port", &lp, "--"])
        .args(["/usr/bin/python3", "-c"])
        .arg(format!(
            "import socket; s=socket.socket(); s.bind(('127.0.0.1',{listen})); s.listen(); c,_=s.accept(); c.sendall(b'hello-from-inside'); c.close()"
        ))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut got = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", listen)) {
            let _ = s.read_to_string(&mut got);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.wait();
    assert_eq!(got, "hello-from-inside");
}

#[test]
fn open_port_with_block_net_allows_only_that_port() {
    let open = TcpListener::bind("127.0.0.1:0").unwrap();
    let oa = open.local_addr().unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let op = oa.port().to_string();
    let r = run(
        &["--block-net", "--open-port", &op],
        &["tcp-connect", &oa.to_string()],
    );
    assert!(r.is_ok(), "{r:?}");
    assert!(received_tcp(&open));
    let r = run(
        &["--block-net", "--open-port", &op],
        &["tcp-connect", &other.local_addr().unwrap().to_string()],
    );
    assert!(r.is_err(None), "{r:?}");
    assert!(!received_tcp(&other));
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let r = run(
        &["--block-net", "--open-port", &op],
        &["udp-send", &u.local_addr().unwrap().to_string()],
    );
    assert!(r.is_err(None), "{r:?}");
}

#[test]
fn killing_the_proxy_ends_the_session() {
    use nono_e2e::procfs::{children, comm};
    let child = Command::new(nono_bin())
        .args([
            "run",
            "--allow-domain",
            "allowed.test",
            "--",
            "/bin/sleep",
            "30",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (proxy, agent) = loop {
        let kids = children(child.id());
        let proxy = kids.iter().copied().find(|&p| comm(p) == "nono-proxy");
        let agent = nono_e2e::procfs::agent_of(child.id()).filter(|&a| comm(a) == "sleep");
        if let (Some(p), Some(a)) = (proxy, agent) {
            break (p, a);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "session did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // The proxy confined itself: no_new_privs, seccomp filters (baseline
    // and its allowlist), no capabilities, Landlock, not dumpable.
    use nono_e2e::procfs::status_field;
    assert_eq!(status_field(proxy, "NoNewPrivs:"), "1");
    assert_eq!(status_field(proxy, "Seccomp:"), "2");
    assert!(
        status_field(proxy, "Seccomp_filters:")
            .parse::<u32>()
            .unwrap_or(0)
            >= 2
    );
    assert_eq!(status_field(proxy, "CapEff:"), "0000000000000000");
    assert!(
        std::fs::read(format!("/proc/{proxy}/environ")).is_err() || nono_e2e::is_root(),
        "the proxy must not be dumpable"
    );
    let started = std::time::Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(proxy as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "session must end promptly"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the proxy (nono-proxy) ended unexpectedly")
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !std::path::Path::new(&format!("/proc/{agent}/exe")).exists() || comm(agent) != "sleep",
        "agent must be gone"
    );
}

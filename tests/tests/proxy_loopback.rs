//! Proxy mode and the host's loopback: a destination the user allowed
//! literally (`--allow-domain 127.0.0.1:PORT`, a local dev or model server)
//! is reachable for ordinary clients through the proxy, while every other
//! loopback port stays unreachable (observed at a second local server
//! that must see nothing). And expected misses stay quiet: glibc's probes
//! of the nscd socket print no warning; real denials are summarised once.

use nono_e2e::upstream::Upstream;
use nono_e2e::{run_sh, Scratch};

const CLIENTS: &str = r#"
/usr/bin/curl -sS -m 10 -o /dev/null -w "curl-allowed=%{http_code}\n" "http://127.0.0.1:$A/hello"
/usr/bin/curl -sS -m 10 -o /dev/null -w "curl-other=%{http_code}\n" "http://127.0.0.1:$B/secret"
/usr/bin/python3 - <<PY
import urllib.request, urllib.error, os
for tag, port in (("allowed", os.environ["A"]), ("other", os.environ["B"])):
    try:
        r = urllib.request.urlopen(f"http://localhost:{port}/py-{tag}", timeout=10)
        print(f"python-{tag}={r.status}")
    except urllib.error.HTTPError as e:
        print(f"python-{tag}={e.code}")
    except OSError as e:
        print(f"python-{tag}=error {e}")
PY
/usr/bin/python3 - <<PY
import socket, os
for tag, port in (("allowed", os.environ["A"]), ("other", os.environ["B"])):
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        s.sendall(f"GET /raw-{tag} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        print(f"raw-{tag}=" + s.recv(64).decode(errors="replace").split("\r\n")[0])
    except OSError as e:
        print(f"raw-{tag}=error {e.errno}")
PY
NODE_NO_WARNINGS=1 node -e '
(async () => {
  for (const [tag, url] of [["allowed", `http://127.0.0.1:${process.env.A}/node-allowed`],
                            ["localhost", `http://localhost:${process.env.A}/node-localhost`],
                            ["other", `http://127.0.0.1:${process.env.B}/node-other`]]) {
    try { const r = await fetch(url); console.log(`node-${tag}=${r.status}`); }
    catch (e) { console.log(`node-${tag}=error ${e.cause && e.cause.code}`); }
  }
})();'
id >/dev/null; whoami >/dev/null; ls -l / >/dev/null
"#;

#[test]
fn an_allowed_loopback_destination_works_and_others_stay_unreachable() {
    let dir = Scratch::new();
    let allowed = Upstream::start(&dir, "allowed", None);
    let other = Upstream::start(&dir, "other", None);
    let (a, b) = (allowed.port.to_string(), other.port.to_string());
    let r = run_sh(
        &[
            "--allow-domain",
            &format!("127.0.0.1:{a}"),
            "--allow-domain",
            &format!("localhost:{a}"),
        ],
        &[("A", &a), ("B", &b)],
        CLIENTS,
    );
    // Clients that honour the proxy variables go through it; the others
    // (Node's fetch, a raw socket) reach the relay inside the namespace.
    for ok in [
        "curl-allowed=200",
        "python-allowed=200",
        "raw-allowed=HTTP/1.0 200",
        "node-allowed=200",
        "node-localhost=200",
    ] {
        assert!(r.stdout.contains(ok), "{ok}: {r:?}");
    }
    for refused in [
        "curl-other=403",
        "python-other=403",
        "raw-other=error 13", // EACCES: Landlock, before any namespace lookup
        "node-other=error EACCES",
    ] {
        assert!(r.stdout.contains(refused), "{refused}: {r:?}");
    }
    let paths: Vec<String> = allowed
        .requests()
        .iter()
        .filter_map(|q| q["path"].as_str().map(String::from))
        .collect();
    assert!(paths.iter().any(|p| p == "/hello"), "{paths:?}");
    for p in [
        "/py-allowed",
        "/raw-allowed",
        "/node-allowed",
        "/node-localhost",
    ] {
        assert!(paths.iter().any(|q| q == p), "{p}: {paths:?}");
    }
    assert!(other.requests().is_empty(), "the other port saw nothing");
    // Name lookups probe nscd's socket: no warning for that.
    assert!(!r.stderr.contains("nscd"), "{}", r.stderr);
}

#[test]
fn real_denials_are_summarised_once_at_the_end() {
    let dir = Scratch::new();
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    let script = format!(
        "for i in 1 2 3; do chmod 600 {} 2>/dev/null; done; id >/dev/null; echo done",
        f.display()
    );
    let r = run_sh(&["--read", &dir.s()], &[], &script);
    assert!(r.stdout.contains("done"), "{r:?}");
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("denied chmod"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].contains("(3 times)"), "{}", r.stderr);
    assert!(
        r.stderr.contains("--allow or --write grants it"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("nscd"), "{}", r.stderr);
}

/// A loopback rule limited to paths is not relayed byte for byte (the
/// relay could not hold the paths): proxy-aware clients get the allowed
/// paths, direct connections are refused.
#[test]
fn a_path_limited_loopback_rule_is_not_relayed() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "paths", None);
    let a = up.port.to_string();
    let script = r#"
/usr/bin/curl -sS -m 10 -o /dev/null -w "curl-api=%{http_code}\n" "http://127.0.0.1:$A/api/x"
/usr/bin/curl -sS -m 10 -o /dev/null -w "curl-admin=%{http_code}\n" "http://127.0.0.1:$A/admin"
/usr/bin/python3 -c '
import socket, os
try:
    socket.create_connection(("127.0.0.1", int(os.environ["A"])), timeout=10)
    print("raw=connected")
except OSError as e:
    print(f"raw=error {e.errno}")'
"#;
    let rule = format!("http://127.0.0.1:{a}/api/**");
    let r = run_sh(&["--allow-domain", &rule], &[("A", &a)], script);
    for want in ["curl-api=200", "curl-admin=403", "raw=error 13"] {
        assert!(r.stdout.contains(want), "{want}: {r:?}");
    }
    let paths: Vec<String> = up
        .requests()
        .iter()
        .filter_map(|q| q["path"].as_str().map(String::from))
        .collect();
    assert_eq!(paths, ["/api/x"]);
}

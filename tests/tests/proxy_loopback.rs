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
    for ok in ["curl-allowed=200", "python-allowed=200"] {
        assert!(r.stdout.contains(ok), "{ok}: {r:?}");
    }
    for refused in ["curl-other=403", "python-other=403"] {
        assert!(r.stdout.contains(refused), "{refused}: {r:?}");
    }
    let paths: Vec<String> = allowed
        .requests()
        .iter()
        .filter_map(|q| q["path"].as_str().map(String::from))
        .collect();
    assert!(paths.iter().any(|p| p == "/hello"), "{paths:?}");
    assert!(paths.iter().any(|p| p == "/py-allowed"), "{paths:?}");
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

//! Proxy configuration errors: reported once, in one line, before any
//! helper starts.

use nono_e2e::nono;

#[test]
fn a_bad_upstream_proxy_is_reported_once_before_the_proxy_starts() {
    for (value, want) in [
        ("nope", "--upstream-proxy 'nope' needs HOST:PORT"),
        ("squid:99999", "invalid port '99999'"),
    ] {
        for extra in [&[][..], &["--dry-run"][..]] {
            let mut args = vec![
                "run",
                "--allow-domain",
                "example.com",
                "--upstream-proxy",
                value,
            ];
            args.extend_from_slice(extra);
            args.extend_from_slice(&["--", "true"]);
            let r = nono(&args);
            assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
            assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
            assert!(
                r.stderr.starts_with("nono: ") && r.stderr.contains(want),
                "{r:?}"
            );
            assert!(
                !r.stderr.contains("nono-proxy:"),
                "the proxy never started: {r:?}"
            );
        }
    }
}

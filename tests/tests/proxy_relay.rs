//! How the proxy relays, observed at real loopback upstreams: a large
//! blind tunnel arrives byte-exact in both directions and ends by
//! half-close; relayed HTTP requests share an upstream connection only
//! with requests to the same checked destination, never across a
//! credential route, never after the upstream asked to close.

use std::time::{Duration, Instant};

use nono_e2e::upstream::Upstream;
use nono_e2e::{canary, run, run_sh, Ran, Scratch};

/// The upstream connection (client port) each logged request came on,
/// by path, in order.
fn conns(up: &Upstream) -> Vec<(String, u64)> {
    up.requests()
        .iter()
        .map(|r| {
            let path = r["path"].as_str().unwrap_or("").to_string();
            (path, r["conn"].as_u64().expect("conn logged"))
        })
        .collect()
}

fn conn_of(log: &[(String, u64)], path: &str) -> u64 {
    let found: Vec<u64> = log
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(found.len(), 1, "{path} once: {log:?}");
    found[0]
}

/// curl through `$HTTP_PROXY` (plain forwarding), one invocation with
/// keep-alive between the given URLs.
fn forwarded(urls: &[String]) -> String {
    let outs: Vec<&str> = urls.iter().map(|_| "-o /dev/null").collect();
    format!(
        "curl -sS --noproxy '' -x \"$HTTP_PROXY\" -w '%{{http_code}} ' {} {}",
        outs.join(" "),
        urls.join(" ")
    )
}

#[test]
fn a_large_tunnel_arrives_byte_exact_both_ways_and_ends_by_half_close() {
    let dir = Scratch::new();
    let echo = Upstream::echo(&dir, "echo");
    let target = format!("127.0.0.1:{}", echo.port);
    let r = run(
        &["--allow-domain", &target],
        &["tunnel-echo", &target, "64"],
    );
    assert!(r.is_ok(), "{r:?}");
    assert!(r.stdout.contains("echoed 67108864 bytes"), "{r:?}");
    // The echo server saw the agent's EOF (it echoes until then) and
    // counted every byte; its line is written once it half-closed back.
    let start = Instant::now();
    while !echo.raw_log().contains("\"echoed\"") && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        echo.raw_log().contains("{\"echoed\":\"67108864\"}"),
        "{}",
        echo.raw_log()
    );
}

#[test]
fn forwarded_requests_reuse_a_connection_only_to_the_same_destination() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "pool", None);
    let (a, b) = (
        format!("127.0.0.1:{}", up.port),
        format!("localhost:{}", up.port),
    );
    let urls = [
        format!("http://{a}/first"),
        format!("http://{a}/second"),
        format!("http://{b}/other-host"),
    ];
    let r = run_sh(
        &["--allow-domain", &a, "--allow-domain", &b],
        &[],
        &forwarded(&urls),
    );
    assert_eq!(r.stdout.trim(), "200 200 200", "{r:?}");
    let log = conns(&up);
    assert_eq!(
        conn_of(&log, "/first"),
        conn_of(&log, "/second"),
        "two keep-alive requests to one destination share a connection: {log:?}"
    );
    assert_ne!(
        conn_of(&log, "/first"),
        conn_of(&log, "/other-host"),
        "another host never gets that connection: {log:?}"
    );
}

#[test]
fn an_upstream_that_closes_after_a_response_is_not_reused() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "closing", None);
    let a = format!("127.0.0.1:{}", up.port);
    let urls = [
        format!("http://{a}/close"),
        format!("http://{a}/after"),
        format!("http://{a}/again"),
    ];
    let r = run_sh(&["--allow-domain", &a], &[], &forwarded(&urls));
    assert_eq!(r.stdout.trim(), "200 200 200", "{r:?}");
    let log = conns(&up);
    assert_ne!(
        conn_of(&log, "/close"),
        conn_of(&log, "/after"),
        "a connection the upstream closed is never used again: {log:?}"
    );
    assert_eq!(conn_of(&log, "/after"), conn_of(&log, "/again"), "{log:?}");
}

fn with_route(dir: &Scratch, up: &Upstream, secret: &str, script: &str) -> Ran {
    let profile = dir.join("profile.json");
    std::fs::write(
        &profile,
        format!(
            r#"{{"extends":"default","network":{{"custom_credentials":{{"poolsvc":{{"upstream":"http://127.0.0.1:{}/v1","credential_key":"env://NONO_TEST_POOL_KEY","env_var":"POOLSVC_API_KEY","inject_header":"Authorization","credential_format":"Bearer {{}}"}}}}}}}}"#,
            up.port
        ),
    )
    .unwrap();
    let allow = format!("127.0.0.1:{}", up.port);
    let profile = profile.display().to_string();
    run_sh(
        &[
            "--profile",
            &profile,
            "--credential",
            "poolsvc",
            "--allow-domain",
            &allow,
        ],
        &[("NONO_TEST_POOL_KEY", secret)],
        script,
    )
}

#[test]
fn a_credential_routes_connection_never_carries_a_request_without_it() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "route", None);
    let secret = canary("pool");
    let route = "curl -sS -o /dev/null -w '%{http_code} ' \
                 -H \"Authorization: Bearer $POOLSVC_API_KEY\" \"$POOLSVC_BASE_URL/routed\"";
    let plain = forwarded(&[format!("http://127.0.0.1:{}/plain", up.port)]);
    let script = format!("{route}; {plain}; {route}; {plain}; curl -sS --noproxy '' -x \"$HTTP_PROXY\" http://127.0.0.1:{}/echo-auth", up.port);
    let r = with_route(&dir, &up, &secret, &script);
    assert!(r.stdout.starts_with("200 200 200 200 "), "{r:?}");
    assert!(r.stdout.contains("auth= "), "no credential echoed: {r:?}");
    assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    let reqs = up.requests();
    let mut routed = Vec::new();
    let mut plain = Vec::new();
    for q in &reqs {
        let conn = q["conn"].as_u64().expect("conn logged");
        let auth = q["headers"]["authorization"].as_str().unwrap_or("");
        if q["path"] == "/v1/routed" {
            assert_eq!(auth, format!("Bearer {secret}"), "{reqs:?}");
            routed.push(conn);
        } else {
            assert!(!auth.contains(&secret), "credential leaked: {reqs:?}");
            plain.push(conn);
        }
    }
    assert_eq!((routed.len(), plain.len()), (2, 3), "{reqs:?}");
    assert!(
        routed.iter().all(|c| !plain.contains(c)),
        "a route's connection served a request without its credential: {reqs:?}"
    );
    assert_eq!(
        routed[0], routed[1],
        "the route's own requests share: {reqs:?}"
    );
}

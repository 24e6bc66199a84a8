//! Proxy rules observed from both sides: literal-address exemptions are per
//! (address, port); endpoint rules refuse paths a server would read as
//! another path; base64 echoes of the injected value are masked; with TLS
//! interception every common CA variable follows the session bundle, and
//! curl, python requests, node and git verify through it.

use std::net::TcpListener;
use std::time::Duration;

use nono_e2e::upstream::{TestCa, Upstream};
use nono_e2e::{canary, run_sh, Scratch};

fn paths(up: &Upstream) -> Vec<String> {
    up.requests()
        .iter()
        .map(|q| q["path"].as_str().unwrap_or("").to_string())
        .collect()
}

fn credential_profile(dir: &Scratch, upstream: &str, key: &str, extra: &str) -> String {
    let p = dir.join("profile.json");
    std::fs::write(
        &p,
        format!(
            r#"{{"extends":"default","network":{{"custom_credentials":{{"testsvc":{{"upstream":"{upstream}","credential_key":"{key}","env_var":"TESTSVC_API_KEY"{extra}}}}}}}}}"#
        ),
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn a_literal_address_is_exempt_only_on_its_own_port() {
    let dir = Scratch::new();
    let allowed = Upstream::start(&dir, "lit", None);
    let other = Upstream::start(&dir, "other", None);
    // Port 80 on loopback, when free, to observe the web-port case too.
    let web = TcpListener::bind("127.0.0.1:80").ok();
    let flags = [
        "--allow-domain".to_string(),
        format!("127.0.0.1:{}", allowed.port),
        "--allow-domain".into(),
        format!("localhost:{}", allowed.port),
        "--allow-domain".into(),
        format!("localhost:{}", other.port),
        "--allow-domain".into(),
        "localhost".into(),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let r = run_sh(
        &flags,
        &[],
        &format!(
            "for u in http://localhost:{a}/named http://127.0.0.1:{a}/literal http://localhost:{o}/other \
             http://127.0.0.1:{o}/other-literal http://localhost/web; do \
             curl -sS --max-time 10 -o /dev/null -w '%{{http_code}} ' --noproxy '' -x \"$HTTP_PROXY\" $u; done",
            a = allowed.port,
            o = other.port
        ),
    );
    assert_eq!(r.stdout.trim(), "200 200 403 403 403", "{r:?}");
    assert_eq!(paths(&allowed), vec!["/named", "/literal"]);
    assert!(
        other.requests().is_empty(),
        "the other port saw {:?}",
        other.requests()
    );
    if let Some(web) = web {
        web.set_nonblocking(true).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(web.accept().is_err(), "port 80 must see nothing");
    }
}

#[test]
fn endpoint_rules_refuse_paths_a_server_would_read_differently() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "ep", None);
    let secret = canary("ep-ambiguous");
    let profile = credential_profile(
        &dir,
        &format!("http://127.0.0.1:{}/v1", up.port),
        "env://NONO_TEST_EP_KEY",
        "",
    );
    let tries = [
        "allowed/x",
        "allowed/..;/admin",
        "allowed/x;jsessionid=1",
        "allowed;/x",
        "allowed/%2e%2e/admin",
        "allowed/..%2fadmin",
        "allowed/..%2Fadmin",
        "allowed/%252e%252e/admin",
        "allowed/%3b/x",
        "allowed//x",
        "allowed/x//",
        "allowed/./x",
        "allowed/..\\admin",
    ];
    let r = run_sh(
        &["--profile", &profile, "--credential", "testsvc", "--allow-endpoint", "testsvc:GET:/v1/allowed/**"],
        &[("NONO_TEST_EP_KEY", &secret)],
        &format!(
            "for p in {}; do curl -sS --path-as-is -o /dev/null -w '%{{http_code}} ' -H \"Authorization: Bearer $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/$p\"; done",
            tries.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" ")
        ),
    );
    let want = std::iter::once("200")
        .chain(std::iter::repeat_n("403", tries.len() - 1))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(r.stdout.trim(), want, "{r:?}");
    // Only the unambiguous request reached the upstream with the key.
    assert_eq!(paths(&up), vec!["/v1/allowed/x"]);
    assert_eq!(up.raw_log().matches(&secret).count(), 1);
}

#[test]
fn base64_echoes_of_the_injected_value_are_masked() {
    let dir = Scratch::new();
    let up = Upstream::start(&dir, "b64", None);
    let secret = canary("b64");
    let upstream = format!("http://127.0.0.1:{}/v1", up.port);
    let header = credential_profile(&dir, &upstream, "env://NONO_TEST_B64_KEY", "");
    let script = "curl -sS -H \"Authorization: Bearer $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/echo-auth-b64\"; echo; \
                  curl -sS -H \"Authorization: Bearer $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/echo-auth\"; echo";
    let r = run_sh(
        &["--profile", &header, "--credential", "testsvc"],
        &[("NONO_TEST_B64_KEY", &secret)],
        script,
    );
    let sent = format!("Bearer {secret}");
    assert!(up.raw_log().contains(&sent), "the upstream got the key");
    assert!(
        r.stdout.contains("b64=") && r.stdout.contains("****"),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains(&nono_e2e::base64(sent.as_bytes())),
        "{r:?}"
    );
    assert!(!r.stdout.contains(&secret), "{r:?}");
    // Basic auth: the header carries base64(user:key); its echo, and the
    // echo of that header base64-encoded again, are masked.
    let user_key = format!("user:{secret}");
    let basic = credential_profile(
        &dir,
        &upstream,
        "env://NONO_TEST_B64_KEY",
        r#","inject_mode":"basic""#,
    );
    let r = run_sh(
        &["--profile", &basic, "--credential", "testsvc"],
        &[("NONO_TEST_B64_KEY", &user_key)],
        "curl -sS -H \"X-Api-Key: $TESTSVC_API_KEY\" \"$TESTSVC_BASE_URL/echo-auth\"; echo",
    );
    let enc = nono_e2e::base64(user_key.as_bytes());
    assert!(
        up.raw_log().contains(&format!("Basic {enc}")),
        "{}",
        up.raw_log()
    );
    assert!(r.stdout.contains("auth=Basic ****"), "{r:?}");
    assert!(
        !r.stdout.contains(&enc) && !r.stdout.contains(&secret),
        "{r:?}"
    );
}

const CA_VARS: &[&str] = &[
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "AWS_CA_BUNDLE",
    "CARGO_HTTP_CAINFO",
    "DENO_CERT",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "BUNDLE_SSL_CA_CERT",
    "HEX_CACERTS_PATH",
    "NIX_SSL_CERT_FILE",
];

#[test]
fn with_interception_every_ca_variable_follows_the_session_bundle() {
    let dir = Scratch::new();
    let ca = TestCa::new(&dir);
    let up = Upstream::start(&dir, "icpt", Some(&ca));
    let tunnel = Upstream::start(&dir, "tunnel", Some(&ca));
    let ca_path = ca.ca_pem.display().to_string();
    let base = format!("https://127.0.0.1:{}", up.port);
    let rule = format!("{base}/allowed/**");
    let plain = format!("127.0.0.1:{}", tunnel.port);
    let node = dir.join("connect.js");
    // Node 20 has no proxy support of its own: CONNECT by hand, then TLS
    // with the default trust (NODE_EXTRA_CA_CERTS included).
    std::fs::write(
        &node,
        r#"const http = require("http"), tls = require("tls");
const p = new URL(process.env.HTTPS_PROXY), t = new URL(process.argv[2]);
const auth = Buffer.from(decodeURIComponent(p.username) + ":" + decodeURIComponent(p.password)).toString("base64");
http.request({host: p.hostname, port: p.port, method: "CONNECT", path: t.host,
              headers: {"proxy-authorization": "Basic " + auth}})
  .on("connect", (res, sock) => {
    const s = tls.connect({socket: sock, host: t.hostname}, () => {
      s.write(`GET ${t.pathname} HTTP/1.1\r\nHost: ${t.host}\r\nConnection: close\r\n\r\n`);
    });
    let out = ""; s.on("data", d => out += d); s.on("end", () => console.log("node", out.split(" ")[1]));
    s.on("error", e => console.log("node-error", e.code));
  }).end();
"#,
    )
    .unwrap();
    let js = node.display().to_string();
    let script = format!(
        "export NO_PROXY= no_proxy=; \
         for v in {vars}; do eval \"echo $v=\\${{$v:-unset}}\"; done; echo \"SSL_CERT_DIR=${{SSL_CERT_DIR:-unset}}\"; \
         grep -c 'BEGIN CERTIFICATE' \"$SSL_CERT_FILE\"; \
         echo curl $(curl -sS -o /dev/null -w '%{{http_code}}' {base}/allowed/curl); \
         echo tunnel $(curl -sS -o /dev/null -w '%{{http_code}}' https://{plain}/tunnel); \
         /usr/bin/python3 -c 'import requests; print(\"requests\", requests.get(\"{base}/allowed/py\").status_code)'; \
         node {js} {base}/allowed/node; \
         (cd / && git ls-remote {base}/allowed/repo.git 2>&1 | tail -3); echo git-done",
        vars = CA_VARS.join(" ")
    );
    let r = run_sh(
        &[
            "--allow-domain",
            &rule,
            "--allow-domain",
            &plain,
            "--read-file",
            &js,
        ],
        // The user's trust (the proxy's roots) is the test CA; the agent's
        // own SSL_CERT_DIR must not survive.
        &[
            ("SSL_CERT_FILE", &ca_path),
            ("SSL_CERT_DIR", "/etc/ssl/certs"),
        ],
        &script,
    );
    let bundle = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("SSL_CERT_FILE="))
        .unwrap_or_else(|| panic!("{r:?}"))
        .to_string();
    assert!(bundle.ends_with("ca-bundle.pem"), "{r:?}");
    for v in CA_VARS {
        assert!(r.stdout.contains(&format!("{v}={bundle}\n")), "{v}: {r:?}");
    }
    assert!(r.stdout.contains("SSL_CERT_DIR=unset"), "{r:?}");
    // Roots (here the test CA) plus the session CA.
    assert!(r.stdout.contains("\n2\n"), "{r:?}");
    for client in [
        "curl 200",
        "tunnel 200",
        "requests 200",
        "node 200",
        "git-done",
    ] {
        assert!(r.stdout.contains(client), "{client}: {r:?}");
    }
    let seen = paths(&up);
    for p in [
        "/allowed/curl",
        "/allowed/py",
        "/allowed/node",
        "/allowed/repo.git/info/refs",
    ] {
        assert!(seen.iter().any(|s| s == p), "{p}: {seen:?} {r:?}");
    }
    assert_eq!(paths(&tunnel), vec!["/tunnel"]);
}

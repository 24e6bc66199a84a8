//! `nono why --host` must agree with the proxy. For several flag sets and
//! profiles, every (host, port, path) query is asked of `why --json`
//! outside the sandbox and of `why --self --json` inside a real `nono run`
//! session, and then sent as a real request through that session's proxy
//! (curl via HTTP_PROXY). 403 is a denial; any other answer (the upstream's
//! 200, 502 for a port nobody listens on) means the proxy let it through.
//! Names resolve only to loopback: the test runs in a private mount
//! namespace with its own /etc/hosts listing every name that can reach the
//! resolver (root only; skipped otherwise). No real DNS, no traffic off
//! loopback. Upstreams log what reached them, observed from outside.

use std::process::{Command, Stdio};

use nono_e2e::upstream::Upstream;
use nono_e2e::{bin_dir, canary, is_root, Scratch};

/// Every name the resolver may be asked about (allowed by some rule).
const HOSTS_FILE: &str = "127.0.0.1 localhost\n\
     127.0.0.1 api.diff.test www.diff.test docs.diff.test lo.diff.test a.wild.test b.c.wild.test\n";

const HOSTS: &[&str] = &[
    "127.0.0.1",
    "localhost",
    "api.diff.test",
    "www.diff.test",
    "docs.diff.test",
    "lo.diff.test",
    "a.wild.test",
    "b.c.wild.test",
    "wild.test",
    "evil.test",
    "metadata.google.internal",
    "169.254.169.254",
    "127.0.0.2",
    "[::1]",
];

const PATHS: &[&str] = &[
    "/ok/x",
    "/v1/a/items",
    "/ok/..;/admin",
    "/ok//x",
    "/ok/%2e%2e/x",
    "/ok/x;jsessionid=1",
];

struct Set {
    name: &'static str,
    flags: Vec<String>,
    env: Vec<(String, String)>,
}

fn sets(dir: &Scratch, p1: u16, p2: u16) -> Vec<Set> {
    let profile = dir.join("hosts-profile.json");
    std::fs::write(
        &profile,
        format!(
            r#"{{"extends":"default","network":{{"allow_domain":["www.diff.test:{p1}","127.0.0.1:{p2}","lo.diff.test:{p2}","metadata.google.internal:{p1}","169.254.169.254:{p1}","*.wild.test"]}}}}"#
        ),
    )
    .unwrap();
    let cred = dir.join("cred-profile.json");
    std::fs::write(
        &cred,
        format!(
            r#"{{"extends":"default","network":{{"allow_domain":["lo.diff.test:{p1}","api.diff.test:{p2}","127.0.0.1:{p2}"],"custom_credentials":{{"testsvc":{{"upstream":"http://127.0.0.1:{p1}/v1","credential_key":"env://NONO_DIFF_KEY"}}}}}}}}"#
        ),
    )
    .unwrap();
    let s = |v: &[String]| v.to_vec();
    let ad = |h: String| vec!["--allow-domain".to_string(), h];
    vec![
        Set {
            name: "flags-literal-and-names",
            flags: [
                ad(format!("127.0.0.1:{p1}")),
                ad("api.diff.test".into()),
                ad(format!("api.diff.test:{p1}")),
                ad(format!("*.wild.test:{p2}")),
                ad(format!("localhost:{p2}")),
            ]
            .concat(),
            env: vec![],
        },
        Set {
            name: "flags-url-paths",
            flags: [
                ad(format!("http://docs.diff.test:{p1}/ok/**")),
                ad(format!("http://docs.diff.test:{p1}/v1/*/items")),
                ad(format!("127.0.0.1:{p1}")),
                ad(format!("[::1]:{p2}")),
            ]
            .concat(),
            env: vec![],
        },
        Set {
            name: "profile-allow-domain",
            flags: s(&["--profile".into(), profile.display().to_string()]),
            env: vec![],
        },
        Set {
            name: "network-profile-minimal",
            flags: [
                vec!["--network-profile".to_string(), "minimal".into()],
                ad(format!("127.0.0.1:{p2}")),
                ad(format!("api.diff.test:{p2}")),
            ]
            .concat(),
            env: vec![],
        },
        Set {
            name: "profile-with-credential",
            flags: s(&[
                "--profile".into(),
                cred.display().to_string(),
                "--credential".into(),
                "testsvc".into(),
            ]),
            env: vec![("NONO_DIFF_KEY".into(), canary("diff"))],
        },
    ]
}

fn urls(p1: u16, p2: u16) -> Vec<String> {
    let mut out = Vec::new();
    for h in HOSTS {
        for port in [p1, p2, 80] {
            out.push(format!("http://{h}:{port}/ok/x"));
        }
    }
    for port in [p1, p2] {
        for p in PATHS {
            out.push(format!("http://docs.diff.test:{port}{p}"));
        }
    }
    out
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script run in a private mount namespace: the test's /etc/hosts,
/// `why` outside, then one session answering `why --self` and curl for
/// every URL.
fn script(dir: &Scratch, set: &Set, urls_file: &str) -> String {
    let nono = bin_dir().join("nono").display().to_string();
    let flags: Vec<String> = set.flags.iter().map(|f| quote(f)).collect();
    let flags = flags.join(" ");
    let inner = format!(
        "while read -r u; do \
           c=$(curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 --path-as-is --noproxy '' -x \"$HTTP_PROXY\" \"$u\" 2>/dev/null); \
           s=$({nono} why --self --json --host \"$u\" 2>&1 | tr -d '\\n'); \
           echo \"RUN $c $s\"; \
         done < {urls_file}"
    );
    format!(
        "mount --bind {hosts} /etc/hosts || exit 97\n\
         while read -r u; do echo \"WHY $({nono} why --json --host \"$u\" {flags} 2>&1 | tr -d '\\n')\"; done < {urls_file}\n\
         {nono} run {flags} --read {bin} --read-file {urls_file} -- sh -c {inner}\n",
        hosts = dir.join("hosts").display(),
        bin = bin_dir().display(),
        inner = quote(&inner),
    )
}

fn verdict(json: &str) -> Option<bool> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    match v["status"].as_str()? {
        "allowed" => Some(true),
        "denied" => Some(false),
        _ => None,
    }
}

#[test]
fn why_host_agrees_with_the_proxy_on_every_query() {
    if !is_root() {
        eprintln!("skipped: needs root for a private mount namespace with a test /etc/hosts");
        return;
    }
    let dir = Scratch::new();
    std::fs::write(dir.join("hosts"), HOSTS_FILE).unwrap();
    let up1 = Upstream::start(&dir, "diff1", None);
    let up2 = Upstream::start(&dir, "diff2", None);
    let urls = urls(up1.port, up2.port);
    let urls_file = dir.join("urls.txt");
    std::fs::write(&urls_file, urls.join("\n") + "\n").unwrap();
    let (mut compared, mut disagreements, mut passed, mut ok) =
        (0usize, Vec::new(), 0usize, 0usize);
    for set in sets(&dir, up1.port, up2.port) {
        let out = Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(script(&dir, &set, &urls_file.display().to_string()))
            .envs(set.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .output()
            .expect("unshare");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let why: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("WHY "))
            .collect();
        let run: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("RUN "))
            .collect();
        assert_eq!(
            (why.len(), run.len()),
            (urls.len(), urls.len()),
            "{}: {}\n{}",
            set.name,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        for ((u, w), r) in urls.iter().zip(&why).zip(&run) {
            let (code, self_json) = r.split_once(' ').unwrap_or((r, ""));
            assert!(
                code.len() == 3 && code != "000",
                "{}: {u}: curl failed: {r}",
                set.name
            );
            let proxy = code != "403";
            passed += usize::from(proxy);
            ok += usize::from(code == "200");
            for (side, json) in [("why", *w), ("why --self", self_json)] {
                compared += 1;
                if verdict(json) != Some(proxy) {
                    disagreements.push(format!("{} {side} {u}: proxy {code}, {json}", set.name));
                }
            }
        }
    }
    // Observed from outside: what reached the upstreams was let through.
    let reached = up1.requests().len() + up2.requests().len();
    assert_eq!(
        reached, ok,
        "every 200 and nothing else reached an upstream"
    );
    eprintln!(
        "{compared} comparisons ({} queries x why and why --self), {} disagreements, {passed} requests let through, {reached} reached an upstream",
        compared / 2,
        disagreements.len()
    );
    assert!(compared / 2 >= 200, "only {} queries", compared / 2);
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

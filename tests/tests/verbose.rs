//! `-v`, `-vv` and `-vvv` say something useful about a plain run: the
//! policy summary, the helpers started and confined, the command's start
//! and end and the teardown (`-v`); every Landlock rule (`-vv`); every
//! brokered call as it happens (`-vvv`). Without `-v` none of it; at any
//! level never a secret (a credential canary, the proxy's session token).

use std::process::{Command, Stdio};

use nono_e2e::upstream::Upstream;
use nono_e2e::{canary, nono_bin, Ran, Scratch};

fn nono(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(nono_bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let r = Ran::from(out);
    (r.code, r.stdout, r.stderr)
}

#[test]
fn each_level_adds_what_it_promises() {
    let d = Scratch::new();
    let up = Upstream::start(&d, "verbose", None);
    let port = up.port.to_string();
    let dest = format!("127.0.0.1:{port}");
    // A brokered call refused (chmod outside the grants) and a request
    // the proxy allowed.
    let script = format!(
        "chmod 600 /etc/hostname 2>/dev/null; \
         curl -s -o /dev/null -w '%{{http_code}}' http://{dest}/ok"
    );
    let dir = d.s();
    let run = |v: Option<&str>| {
        let mut args = vec!["run"];
        args.extend(v);
        args.extend(["--allow", &dir, "--allow-domain", &dest]);
        args.extend(["--", "/bin/sh", "-c", &script]);
        let (code, out, err) = nono(&args, &[]);
        assert_eq!((code, out.as_str()), (Some(0), "200"), "{err}");
        err
    };
    let quiet = run(None);
    assert!(!quiet.contains("Landlock rule"), "{quiet}");
    assert!(!quiet.contains("broker:"), "{quiet}");

    let v = run(Some("-v"));
    for line in [
        "run: profile default, ",
        "Landlock rule(s)",
        "protected path(s), network proxy mode (1 host rule(s)",
        "broker: started (pid ",
        "proxy on 127.0.0.1:",
        "broker confined; command started (pid ",
        "broker: denied chmod on /etc/hostname",
        "command ended with status 0",
        "teardown done in ",
    ] {
        assert!(v.contains(line), "-v lacks {line:?}:\n{v}");
    }
    assert!(!v.contains("debug rule"), "{v}");

    let vv = run(Some("-vv"));
    assert!(vv.contains(&format!("debug rule [rw] tree {dir}")), "{vv}");
    assert!(vv.contains("debug protected "), "{vv}");
    assert!(vv.contains(&format!("debug proxy allows {dest}")), "{vv}");
    assert!(!vv.contains("proxy: allowed"), "{vv}");

    let vvv = run(Some("-vvv"));
    assert!(vvv.contains("trace proxy: allowed"), "{vvv}");
    assert!(vvv.contains(&port), "{vvv}");
}

#[test]
fn wrap_says_how_it_confined_itself() {
    let (code, _, err) = nono(&["wrap", "-v", "--", "/bin/true"], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("wrap: profile default, "), "{err}");
    assert!(err.contains("sandbox applied: Landlock ABI "), "{err}");
}

#[test]
fn no_level_shows_a_secret() {
    let secret = canary("verbose");
    let (code, out, err) = nono(
        &[
            "run",
            "-vvv",
            "--env-credential-map",
            "env://NONO_VERBOSE_TOKEN",
            "GH_TOKEN",
            "--allow-domain",
            "127.0.0.1:9",
            "--",
            "/bin/sh",
            "-c",
            "echo \"$GH_TOKEN\"; echo \"$HTTPS_PROXY\"",
        ],
        &[("NONO_VERBOSE_TOKEN", &secret)],
    );
    assert_eq!(code, Some(0), "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(secret.as_str()),
        "the agent got its credential"
    );
    let proxy_url = lines.next().unwrap_or_default().to_string();
    assert!(err.contains("credential(s)"), "{err}");
    assert!(
        !err.contains(&secret),
        "the credential in -vvv output: {err}"
    );
    // The proxy's session token is the password part of the proxy URL.
    let token = proxy_url
        .split('@')
        .next()
        .and_then(|s| s.rsplit(':').next())
        .unwrap_or_default();
    assert!(token.len() >= 32, "no session token in {proxy_url:?}");
    assert!(
        !err.contains(token),
        "the proxy's session token in -vvv output: {err}"
    );
}

//! Environment credentials from a real Secret Service (gnome-keyring in a
//! private D-Bus session, see tests/fixtures/keyring-session.sh) and the
//! other backends. The secret is a canary that must appear only where it
//! was asked for.

use std::process::Command;

use nono_e2e::{canary, nono_bin};

fn fixture() -> String {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var("NONO_E2E_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| here.join("fixtures"))
        .join("keyring-session.sh")
        .display()
        .to_string()
}

/// Run `script` in a private keyring session; `$NONO` is the nono binary.
fn in_keyring(script: &str) -> String {
    let out = Command::new("sh")
        .arg(fixture())
        .arg(format!("NONO={}; {script}", nono_bin().display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn secret_service_credential_reaches_only_the_agent() {
    let secret = canary("sk");
    let out = in_keyring(&format!(
        "marker=$(mktemp); printf %s '{secret}' | secret-tool store --label=t service nono username openai_api_key; \
         for mode in run wrap; do \
           $NONO $mode --env-credential openai_api_key -- sh -c 'echo key=$OPENAI_API_KEY' 2>\"$HOME/err.$mode\"; echo rc=$?; \
           echo stderr_hits=$(grep -c '{secret}' \"$HOME/err.$mode\"); \
         done; \
         $NONO run --dry-run --env-credential openai_api_key -- true | grep -c 'Would inject 1 secret'; \
         files=$(find \"$HOME\" /tmp \"$XDG_RUNTIME_DIR\" -xdev -type f -newer \"$marker\" -size -20M 2>/dev/null | grep -v '/keyrings/'); \
         echo leaked=$(grep -l -F '{secret}' $files 2>/dev/null | wc -l)"
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| **l == format!("key={secret}"))
            .count(),
        2,
        "{out}"
    );
    assert_eq!(lines.iter().filter(|l| **l == "rc=0").count(), 2, "{out}");
    assert_eq!(
        out.matches("stderr_hits=0").count(),
        2,
        "secret on nono's stderr: {out}"
    );
    assert!(out.contains("leaked=0"), "{out}");
}

#[test]
fn keystore_errors_use_the_documented_messages() {
    let out = in_keyring(
        "$NONO run --env-credential nope_key -- true; echo rc=$?; \
         printf a | secret-tool store --label=a service nono username dup kind a; \
         printf b | secret-tool store --label=b service nono username dup kind b; \
         $NONO run --env-credential dup -- true; echo rc=$?",
    );
    assert!(
        out.contains("nono: Secret not found in keystore: nope_key\nrc=1"),
        "{out}"
    );
    assert!(
        out.contains("nono: Failed to access system keystore: Multiple entries (2) found for 'dup' - please resolve manually\nrc=1"),
        "{out}"
    );
    assert!(
        !out.contains("nono-broker:"),
        "the front end reports, the broker stays quiet: {out}"
    );
}

#[test]
fn env_and_file_references_and_refusals() {
    let (tok, file_secret) = (canary("env"), canary("file"));
    let out = in_keyring(&format!(
        "MYTOK={tok} $NONO run --env-credential-map env://MYTOK GH_TOKEN -- sh -c 'echo gh=$GH_TOKEN src=${{MYTOK:-gone}}'; \
         printf '{file_secret}\\n' > \"$HOME/f\"; \
         $NONO run --env-credential-map \"file://$HOME/f\" FILE_TOKEN -- sh -c 'echo f=$FILE_TOKEN'; \
         $NONO run --env-credential-map apple-password://a/b APW -- true; echo rc=$?; \
         $NONO run --env-credential-map 'op://v/i/f' OP_TOKEN -- true; echo rc=$?; \
         $NONO run --env-credential-map env://X LD_PRELOAD -- true; echo rc=$?; \
         $NONO run --env-credential-map env://X 'bad name' -- true; echo rc=$?"
    ));
    assert!(
        out.contains(&format!("gh={tok} src=gone")),
        "source variable must be removed: {out}"
    );
    assert!(out.contains(&format!("f={file_secret}")), "{out}");
    assert!(
        out.contains("apple-password:// references need macOS"),
        "{out}"
    );
    if which_op().is_none() {
        assert!(
            out.contains("the 1Password CLI (op) is not installed"),
            "{out}"
        );
    }
    assert!(
        out.contains("LD_PRELOAD cannot carry a credential"),
        "{out}"
    );
    assert!(
        out.contains("invalid environment variable name 'bad name'"),
        "{out}"
    );
    assert_eq!(out.matches("rc=1").count(), 4, "{out}");
}

#[test]
fn the_older_secrets_spelling_and_profile_sections_work() {
    let secret = canary("prof");
    let out = in_keyring(&format!(
        "printf %s '{secret}' | secret-tool store --label=t service nono username db_url; \
         printf '[meta]\\nname=\"p\"\\n[secrets]\\ndb_url = \"DATABASE_URL\"\\n' > \"$HOME/p.toml\"; \
         $NONO run --profile \"$HOME/p.toml\" --secrets -- sh -c 'echo db=$DATABASE_URL'; \
         $NONO run --secrets db_url -- sh -c 'echo up=$DB_URL'; \
         printf '{{\"env_credentials\": {{\"db_url\": \"DSN\"}}}}' > \"$HOME/q.json\"; \
         $NONO run --profile \"$HOME/q.json\" -- sh -c 'echo dsn=$DSN'"
    ));
    for want in [
        format!("db={secret}"),
        format!("up={secret}"),
        format!("dsn={secret}"),
    ] {
        assert!(out.contains(&want), "{want}: {out}");
    }
}

fn which_op() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("op"))
        .find(|p| p.is_file())
}

#[test]
fn kernel_keyring_backend() {
    let secret = canary("kernel");
    let script = format!(
        "keyctl add user 'keyring-rs:kk@nono' '{secret}' @s >/dev/null; \
         {nono} run --env-credential-map kernel://kk KK -- sh -c 'echo kk=$KK'; \
         {nono} run --env-credential-map kernel://absent KK -- true; echo rc=$?",
        nono = nono_bin().display()
    );
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", &script])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains(&format!("kk={secret}")), "{all}");
    assert!(
        all.contains("Secret not found in keystore: absent") && all.contains("rc=1"),
        "{all}"
    );
}

/// nono and the broker copied next to a stand-in keyholder script. A child
/// process writes the executables, so no descriptor open for writing can
/// leak into another test thread's fork (which would make exec fail with
/// ETXTBSY).
fn stage_with_keyholder(script: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let bin = nono_bin().parent().unwrap().display().to_string();
    let setup = format!(
        "cp '{bin}/nono' '{bin}/nono-broker' '{d}/' && printf '#!/bin/sh\n%s\n' '{script}' > '{d}/nono-keyholder' && chmod 755 '{d}/nono-keyholder'"
    );
    assert!(Command::new("sh")
        .arg("-c")
        .arg(&setup)
        .status()
        .unwrap()
        .success());
    let nono = dir.path().join("nono");
    (dir, nono)
}

#[test]
fn a_keyholder_that_dies_runs_nothing() {
    let (dir, nono) = stage_with_keyholder("kill -9 $$");
    let marker = dir.path().join("ran");
    for mode in ["run", "wrap"] {
        // Freshly written executables can be briefly "busy" while another
        // test thread forks; retry that (and only that).
        let out = (0..100)
            .find_map(|_| {
                match Command::new(&nono)
                    .args([mode, "--env-credential", "some_key", "--", "touch"])
                    .arg(&marker)
                    .output()
                {
                    Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                        None
                    }
                    other => Some(other.unwrap()),
                }
            })
            .expect("nono stayed busy");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode}: {err}");
        assert!(
            err.contains("keyholder ended unexpectedly"),
            "{mode}: {err}"
        );
        assert!(!marker.exists(), "{mode}: the command must not run");
    }
}

#[test]
fn the_keyholder_confines_itself_before_touching_a_keystore() {
    let Some(strace) = ["/usr/bin/strace", "/bin/strace"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        panic!("strace is required (the CI script installs it)");
    };
    let log = tempfile::NamedTempFile::new().unwrap();
    let script = format!(
        "{strace} -f -e trace=landlock_restrict_self,seccomp,connect,keyctl,execve -o {log} {nono} run --env-credential some_key -- true; true",
        log = log.path().display(),
        nono = nono_bin().display()
    );
    in_keyring(&script);
    let trace = std::fs::read_to_string(log.path()).unwrap();
    // The keyholder is the process that executed nono-keyholder.
    let pid = trace
        .lines()
        .find(|l| l.contains("execve(") && l.contains("nono-keyholder"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no keyholder in:\n{trace}"))
        .to_string();
    let mine: Vec<&str> = trace
        .lines()
        .filter(|l| l.starts_with(&format!("{pid} ")))
        .collect();
    let pos = |needle: &str| mine.iter().position(|l| l.contains(needle));
    let landlock = pos("landlock_restrict_self(").expect("keyholder applies Landlock");
    let filter = pos("SECCOMP_SET_MODE_FILTER, 0,").expect("keyholder loads a seccomp filter");
    let first_connect = pos("connect(").unwrap();
    assert!(
        landlock < first_connect && filter < first_connect,
        "{}",
        mine.join("\n")
    );
}

#[test]
fn a_locked_keystore_is_reported_and_runs_nothing() {
    let out = in_keyring(
        "printf %s s1 | secret-tool store --label=t service nono username k1; \
         secret-tool lock --collection=login >/dev/null 2>&1; \
         marker=\"$HOME/ran\"; \
         $NONO run --env-credential k1 -- touch \"$marker\" </dev/null 2>&1 | grep -v Gtk-WARNING | grep -v '^$'; \
         test -e \"$marker\" && echo ran || echo not-ran",
    );
    assert!(out.contains("Keystore access failed for 'k1'"), "{out}");
    assert!(
        out.contains("the keystore is locked; unlock it and run again"),
        "{out}"
    );
    assert!(out.contains("not-ran"), "{out}");
}

/// A `file://` reference to a FIFO (or any non-regular file) is refused
/// at once with a clear line, instead of blocking the launch forever.
#[test]
fn a_fifo_credential_source_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("secret.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let marker = dir.path().join("ran");
    let out = Command::new(nono_bin())
        .args(["run", "--env-credential-map"])
        .arg(format!("file://{}", fifo.display()))
        .args(["TOKEN", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is not a regular file"), "{err}");
    assert!(!marker.exists());
}

/// The keyholder blocked mid-fetch (a session bus that accepts and never
/// answers): it is confined and hardened, and killing it ends the session
/// cleanly.
#[test]
fn the_keyholder_is_hardened_and_killing_it_ends_the_session() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let bus = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&bus).unwrap();
    // Accept and hold every connection, saying nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let marker = dir.path().join("ran");
    let nono = Command::new(nono_bin())
        .args([
            "run",
            "--env-credential-map",
            "silent_bus_account",
            "TOKEN",
            "--",
            "touch",
        ])
        .arg(&marker)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", bus.display()),
        )
        .env("XDG_RUNTIME_DIR", dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let keyholder = loop {
        let kh = nono_e2e::procfs::children(nono.id()).into_iter().find(|p| {
            nono_e2e::procfs::comm(*p) == "nono-keyholder"
                && nono_e2e::procfs::status_field(*p, "Seccomp:") == "2"
        });
        if let Some(kh) = kh {
            break kh;
        }
        assert!(Instant::now() < deadline, "keyholder did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let it reach the silent bus, confined.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        nono_e2e::procfs::status_field(keyholder, "NoNewPrivs:"),
        "1"
    );
    assert_eq!(nono_e2e::procfs::status_field(keyholder, "Seccomp:"), "2");
    assert_eq!(
        nono_e2e::procfs::status_field(keyholder, "CapEff:"),
        "0000000000000000"
    );
    if !nono_e2e::is_root() {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(format!("/proc/{keyholder}/environ"))
            .unwrap()
            .uid();
        assert_eq!(owner, 0, "keyholder must be non-dumpable");
    }
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(keyholder as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = nono.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keyholder ended unexpectedly"));
    assert!(!marker.exists(), "the command must never have run");
}

#[test]
fn secret_service_credential_reaches_the_upstream_through_the_proxy_only() {
    use nono_e2e::upstream::Upstream;
    let dir = nono_e2e::Scratch::new();
    let up = Upstream::start(&dir, "ss", None);
    let secret = canary("proxy-ss");
    let profile = dir.join("p.json");
    std::fs::write(
        &profile,
        format!(
            r#"{{"network":{{"custom_credentials":{{"svc":{{"upstream":"http://127.0.0.1:{}","credential_key":"svc_token","credential_format":"Bearer {{}}"}}}}}}}}"#,
            up.port
        ),
    )
    .unwrap();
    let out = in_keyring(&format!(
        "printf %s '{secret}' | secret-tool store --label=t service nono username svc_token; \
         $NONO run --profile {p} --credential svc -- sh -c 'env; curl -sS -H \"Authorization: Bearer $SVC_TOKEN\" \"$SVC_BASE_URL/echo-auth\"; echo; echo rc=$?' 2>&1",
        p = profile.display()
    ));
    assert!(
        out.contains("rc=0") && out.contains("auth=Bearer *"),
        "{out}"
    );
    assert!(!out.contains(&secret), "the agent saw the key: {out}");
    let reqs = up.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(
        reqs[0]["headers"]["authorization"],
        format!("Bearer {secret}")
    );
}

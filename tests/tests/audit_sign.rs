//! `--audit-sign-key` on the real kernel: the attestation is signed inside
//! `nono-keyholder` for every reference form (file://, env://, a keystore
//! trust key on a real Secret Service); `nono audit verify` accepts it only
//! with the right public key; a bad or unreachable key stops the session
//! before the command runs; the private key appears nowhere nono writes or
//! shows, nor in the command's environment.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nono_e2e::{base64, canary, nono_bin, Ran, Scratch};

struct Env {
    _dir: Scratch,
    home: PathBuf,
    proj: PathBuf,
    keys: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = Scratch::new();
        let (home, proj, keys) = (dir.join("home"), dir.join("proj"), dir.join("keys"));
        for d in [&home, &proj, &keys] {
            fs::create_dir_all(d).unwrap();
        }
        Env {
            _dir: dir,
            home,
            proj,
            keys,
        }
    }

    fn state(&self) -> PathBuf {
        self.home.join(".local/state/nono")
    }

    fn nono_env(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let o = Command::new(nono_bin())
            .args(args)
            .current_dir(&self.proj)
            .env("HOME", &self.home)
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NONO_PROFILE")
            .env_remove("NONO_ALLOW")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Ran {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn nono(&self, args: &[&str]) -> Ran {
        self.nono_env(args, &[])
    }

    /// A file key `NAME.pem` and its public key `NAME.pub` (PEM).
    fn file_key(&self, name: &str) -> (String, String) {
        let kr = format!("file://{}/{name}.pem", self.keys.display());
        let r = self.nono(&["trust", "keygen", "--keyref", &kr]);
        assert_eq!(r.code, Some(0), "{r:?}");
        let pem = self.nono(&["trust", "export-key", "--keyref", &kr, "--pem"]);
        let public = self.keys.join(format!("{name}.pub"));
        fs::write(&public, pem.stdout).unwrap();
        (kr, public.display().to_string())
    }

    /// `nono run --allow proj FLAGS -- sh -c SCRIPT` with `env`.
    fn run(&self, flags: &[&str], script: &str, env: &[(&str, &str)]) -> Ran {
        let p = self.proj.display().to_string();
        let mut args = vec!["run", "--allow", &p];
        args.extend_from_slice(flags);
        args.extend(["--", "/bin/sh", "-c", script]);
        self.nono_env(&args, env)
    }

    fn last_id(&self) -> String {
        let r = self.nono(&["audit", "list", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn session_json(&self, id: &str) -> serde_json::Value {
        let p = self.state().join("audit").join(id).join("session.json");
        serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| A.contains(c)) {
        bits = (bits << 6) | A.iter().position(|a| *a == c).unwrap() as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// The forms a private key in PKCS#8 PEM could leak as: each line of the
/// PEM body, the body in one piece, the 32-byte scalar raw, in hex and in
/// base64.
fn key_forms(pem: &str) -> Vec<Vec<u8>> {
    let lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let body: String = lines.concat();
    let der = decode_base64(&body);
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("a P-256 PKCS#8 key")
        + 5;
    let scalar = der[at..at + 32].to_vec();
    let hex: String = scalar.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms: Vec<Vec<u8>> = lines
        .iter()
        .filter(|l| l.len() >= 40)
        .map(|l| l.as_bytes().to_vec())
        .collect();
    forms.extend([
        body.as_bytes().to_vec(),
        scalar.clone(),
        hex.as_bytes().to_vec(),
        hex.to_ascii_uppercase().into_bytes(),
        base64(&scalar).trim_end_matches('=').as_bytes().to_vec(),
    ]);
    forms
}

fn holds(bytes: &[u8], forms: &[Vec<u8>]) -> bool {
    forms
        .iter()
        .any(|f| bytes.windows(f.len()).any(|w| w == f.as_slice()))
}

/// Files under `dir` holding any of `forms`.
fn files_holding(dir: &Path, forms: &[Vec<u8>]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for ent in fs::read_dir(&d).unwrap().flatten() {
            let p = ent.path();
            if ent.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if fs::read(&p).is_ok_and(|b| holds(&b, forms)) {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_file_key_signs_and_verify_pins_it() {
    let e = Env::new();
    let (right, right_pub) = e.file_key("right");
    let (_, wrong_pub) = e.file_key("wrong");
    let r = e.run(&["--audit-sign-key", &right], "echo ran", &[]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let id = e.last_id();
    let v = e.nono(&["audit", "verify", &id, "--public-key-file", &right_pub]);
    assert_eq!(v.code, Some(0), "{v:?}");
    assert!(v.stdout.contains("signed by the pinned key"), "{v:?}");
    let v = e.nono(&["audit", "verify", &id, "--public-key-file", &wrong_pub]);
    assert_eq!(v.code, Some(1), "{v:?}");
    assert!(v.stdout.contains("not by the pinned public key"), "{v:?}");
    let s = e.session_json(&id);
    assert_eq!(s["attestation"]["key_id"], "right", "{s}");
    assert_eq!(
        s["helpers"]["keyholder (audit signing)"], "ended; signed the attestation",
        "{s}"
    );
    let pem = fs::read_to_string(e.keys.join("right.pem")).unwrap();
    let forms = key_forms(&pem);
    assert!(
        holds(pem.as_bytes(), &forms[..1]) && forms.len() > 4,
        "the control matches"
    );
    let hits = files_holding(&e.state(), &forms);
    assert!(hits.is_empty(), "the private key is in {hits:?}");
    assert!(!holds(format!("{r:?}{v:?}").as_bytes(), &forms));
}

#[test]
fn an_env_key_signs_and_never_reaches_the_command() {
    let e = Env::new();
    let (kr, public) = e.file_key("envkey");
    let pem = fs::read_to_string(kr.strip_prefix("file://").unwrap()).unwrap();
    let forms = key_forms(&pem);
    let r = e.run(
        &["--audit-sign-key", "env://NONO_TEST_AUDIT_KEY"],
        "env > seen-env; echo ran",
        &[("NONO_TEST_AUDIT_KEY", &pem)],
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("ran"), "{r:?}");
    let seen = fs::read(e.proj.join("seen-env")).unwrap();
    assert!(!seen.is_empty());
    assert!(
        !String::from_utf8_lossy(&seen).contains("NONO_TEST_AUDIT_KEY"),
        "the key's variable reached the command"
    );
    assert!(!holds(&seen, &forms), "the key reached the command");
    let id = e.last_id();
    let v = e.nono(&["audit", "verify", &id, "--public-key-file", &public]);
    assert_eq!(v.code, Some(0), "{v:?}");
    assert!(v.stdout.contains("signed by the pinned key"), "{v:?}");
    assert_eq!(
        e.session_json(&id)["attestation"]["key_id"],
        "env://NONO_TEST_AUDIT_KEY"
    );
    let hits = files_holding(&e.state(), &forms);
    assert!(hits.is_empty(), "the private key is in {hits:?}");
    assert!(!holds(format!("{r:?}{v:?}").as_bytes(), &forms));
}

#[test]
fn a_bad_or_unreachable_key_stops_the_session_before_the_command() {
    let e = Env::new();
    let marker = e.proj.join("ran");
    let script = format!("touch {}", marker.display());
    let not_key = e.keys.join("not-a-key.pem");
    let secret = canary("not-a-key");
    fs::write(&not_key, format!("{secret}\n")).unwrap();
    let cases = [
        (
            "env://NONO_TEST_UNSET_KEY".to_string(),
            "environment variable NONO_TEST_UNSET_KEY is not set",
        ),
        (
            format!("file://{}/missing.pem", e.keys.display()),
            "cannot read",
        ),
        (
            format!("file://{}", not_key.display()),
            "not an ECDSA P-256 private key",
        ),
        ("file://relative.pem".into(), "absolute path"),
        ("kernel://x".into(), "expected a trust key id"),
    ];
    for (reference, why) in cases {
        let r = e.run(&["--audit-sign-key", &reference], &script, &[]);
        assert_eq!(r.code, Some(1), "{reference}: {r:?}");
        assert!(!marker.exists(), "{reference}: the command ran: {r:?}");
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains("--audit-sign-key"))
            .unwrap_or_else(|| panic!("{reference}: {r:?}"));
        assert!(line.contains(why), "{reference}: {r:?}");
        assert!(!r.stderr.contains(&secret), "the file's content was shown");
    }
    assert!(!e.state().join("audit").exists(), "nothing was recorded");
}

fn fixture() -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var("NONO_E2E_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| here.join("fixtures"))
        .join("keyring-session.sh")
        .display()
        .to_string()
}

#[test]
fn a_keystore_key_signs_in_the_keyholder() {
    let keep = Scratch::new();
    let script = format!(
        "NONO={nono}; P=$HOME/proj; mkdir -p $P; cd $P; \
         $NONO trust keygen --id audit >/dev/null 2>&1; echo keygen=$?; \
         $NONO trust export-key --id audit --pem > $HOME/audit.pub; echo export=$?; \
         $NONO run --allow $P --audit-sign-key audit -- sh -c 'echo ran > marker' \
           >$HOME/run.out 2>$HOME/run.err; echo run=$?; echo marker=$(cat marker); \
         $NONO run --allow $P --audit-sign-key keystore://missing -- sh -c 'echo ran > marker2' \
           >$HOME/miss.out 2>$HOME/miss.err; echo missing=$? marker2=$(test -e marker2 && echo yes || echo no); \
         ID=$($NONO audit list --json | sed -n 's/.*\"id\": \"\\([^\"]*\\)\".*/\\1/p' | tail -1); \
         $NONO audit verify $ID --public-key-file $HOME/audit.pub >$HOME/verify.out 2>&1; echo verify=$?; \
         secret-tool lookup service nono username trust-key:audit > $HOME/control.pem; \
         rm -rf $HOME/.local/share/keyrings; cp -a $HOME {keep}/home",
        nono = nono_bin().display(),
        keep = keep.s()
    );
    let out = Command::new("sh")
        .arg(fixture())
        .arg(script)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let home = keep.join("home");
    let read = |f: &str| fs::read_to_string(home.join(f)).unwrap_or_default();
    for want in ["keygen=0", "export=0", "run=0", "marker=ran", "verify=0"] {
        assert!(out.contains(want), "{want}: {out} {}", read("run.err"));
    }
    assert!(
        read("verify.out").contains("signed by the pinned key"),
        "{out}"
    );
    assert!(out.contains("missing=1 marker2=no"), "{out}");
    assert!(
        read("miss.err").contains("keystore signing key 'missing'"),
        "{}",
        read("miss.err")
    );
    let control = read("control.pem");
    let forms = key_forms(&control);
    assert!(
        holds(control.as_bytes(), &forms[..1]) && forms.len() > 4,
        "the control matches"
    );
    let hits: Vec<PathBuf> = files_holding(&home, &forms)
        .into_iter()
        .filter(|f| !f.ends_with("control.pem"))
        .collect();
    assert!(hits.is_empty(), "the private key is in {hits:?}");
    assert!(!holds(out.as_bytes(), &forms));
}

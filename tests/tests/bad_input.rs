//! Bad input of every kind gets one line on stderr naming the culprit
//! (file:line:column where there is a file) and what to do, exit 1, and no
//! Rust or serde jargon; `profile validate` and `--dry-run` refuse what
//! `run` refuses.

use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, Ran, Scratch};

/// Words that must never reach the user.
const JARGON: &[&str] = &[
    "invalid type:",
    "unknown variant",
    "expected a sequence",
    "expected a boolean",
    "expected a string",
    "expected struct",
    "expected u16",
    "os error",
    "invalid digit found",
    "tip:",
    "'?'",
    ".?'",
];

/// `nono ARGS` in `dir`, with its own configuration directory and the
/// extra environment `env`.
fn nono_env(dir: &Scratch, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let o = Command::new(nono_bin())
        .args(args)
        .current_dir(&dir.path)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env_remove("NONO_PROFILE")
        .env_remove("NONO_STARTUP_TIMEOUT")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Ran::from(o)
}

fn nono_in(dir: &Scratch, args: &[&str]) -> Ran {
    nono_env(dir, args, &[])
}

/// Exit 1, exactly one line on stderr, holding every one of `want`, and
/// none of the jargon.
fn one_line(r: &Ran, want: &[&str]) -> String {
    assert_eq!(r.code, Some(1), "{r:?}");
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {r:?}");
    for w in want {
        assert!(lines[0].contains(w), "wanted {w:?}: {r:?}");
    }
    for j in JARGON {
        assert!(!lines[0].contains(j), "jargon {j:?}: {r:?}");
    }
    lines[0].to_string()
}

/// The file `name` in `d` holding `text`; the path as given to nono.
fn file(d: &Scratch, name: &str, text: &str) -> String {
    std::fs::write(d.join(name), text).unwrap();
    format!("./{name}")
}

/// Refused alike by `run --dry-run` and `profile validate`.
fn refused_both(d: &Scratch, path: &str, want: &[&str]) {
    let run = ["run", "--profile", path, "--dry-run", "--", "true"];
    one_line(&nono_in(d, &run), want);
    one_line(&nono_in(d, &["profile", "validate", path]), want);
}

#[test]
fn wrong_types_in_profiles_are_said_in_plain_words() {
    let d = Scratch::new();
    for (name, text, want) in [
        (
            "b.toml",
            "[network]\nblock = \"yes\"\n",
            &["b.toml:2:9: field 'network.block': expected true or false, found the text \"yes\""]
                [..],
        ),
        (
            "l.toml",
            "[filesystem]\nallow = \"/tmp\"\n",
            &["l.toml:2:9:", "expected a list (e.g. [\"…\"])"][..],
        ),
        (
            "e.toml",
            "[workdir]\naccess = \"rw\"\n",
            &[
                "e.toml:2:10:",
                "'rw' is not one of: none, read, write, readwrite",
            ][..],
        ),
        (
            "p.toml",
            "[network]\nopen_port = [70000]\n",
            &["p.toml:2:14:", "70000 is out of range (0–65535)"][..],
        ),
        (
            "t.toml",
            "filesystem = \"x\"\n",
            &["t.toml:1:14: field 'filesystem': expected a table"][..],
        ),
        (
            "x.json",
            "{\"extends\": {\"a\": 1}}",
            &["x.json:1:13:", "found a table"][..],
        ),
        (
            "n.json",
            "{\"filesystem\": {\"allow\": [1, 2]}}",
            &[
                "n.json:1:27:",
                "expected text in quotes",
                "found the number 1",
            ][..],
        ),
    ] {
        refused_both(&d, &file(&d, name, text), want);
    }
}

#[test]
fn json_syntax_errors_never_show_a_made_up_field() {
    let d = Scratch::new();
    let comma = file(&d, "c.json", "{\"meta\": {\"name\": \"x\",}}");
    let line = one_line(
        &nono_in(&d, &["profile", "validate", &comma]),
        &["c.json:1:23:", "not valid JSON: trailing comma"],
    );
    assert!(!line.contains('?'), "{line}");
    let toml = file(&d, "t.json", "[meta]\nname = \"x\"\n");
    let line = one_line(
        &nono_in(&d, &["profile", "validate", &toml]),
        &["t.json:1:", "not valid JSON"],
    );
    assert!(!line.contains("[0]"), "{line}");
    let empty = file(&d, "e.json", "");
    let run = ["run", "--profile", &empty, "--dry-run", "--", "true"];
    let line = one_line(&nono_in(&d, &run), &["e.json:1:1:", "the file is empty"]);
    assert!(!line.contains(":0:"), "{line}");
}

#[test]
fn credential_fields_are_checked_when_the_profile_loads() {
    let d = Scratch::new();
    let scheme = file(
        &d,
        "s.toml",
        "[env_credentials]\n\"bogus://x\" = \"MYVAR\"\n",
    );
    refused_both(
        &d,
        &scheme,
        &["s.toml:2:1:", "bogus://x", "env://VAR", "file:///PATH"],
    );
    let url = file(
        &d,
        "u.json",
        "{\"network\": {\"custom_credentials\": {\"my\": {\"upstream\": \"not a url\", \"credential_key\": \"k\"}}}}",
    );
    refused_both(
        &d,
        &url,
        &[
            "u.json:1:",
            "network.custom_credentials.my.upstream",
            "not an http(s) URL",
        ],
    );
    let run = [
        "run",
        "--profile",
        &url,
        "--credential",
        "my",
        "--dry-run",
        "--",
        "true",
    ];
    one_line(&nono_in(&d, &run), &["u.json:1:", "not an http(s) URL"]);
    let field = file(
        &d,
        "f.json",
        "{\"network\": {\"custom_credentials\": {\"my\": {\"upstream\": \"https://a.example\", \"bogus\": 1}}}}",
    );
    refused_both(
        &d,
        &field,
        &[
            "f.json:1:",
            "network.custom_credentials.my.bogus",
            "unknown field",
        ],
    );
}

#[test]
fn a_blocked_network_beside_a_proxy_field_is_refused_like_the_flags() {
    let d = Scratch::new();
    let both = file(
        &d,
        "c.toml",
        "[network]\nblock = true\nallow_domain = [\"example.com\"]\n",
    );
    refused_both(
        &d,
        &both,
        &[
            "c.toml:2:1:",
            "network.block = true conflicts with network.allow_domain",
            "choose a blocked network or the filtering proxy",
        ],
    );
}

#[test]
fn dry_runs_check_the_signing_key_and_the_decisions_file() {
    let d = Scratch::new();
    let key = [
        "run",
        "--audit-sign-key",
        "bogus://x",
        "--dry-run",
        "--",
        "true",
    ];
    one_line(
        &nono_in(&d, &key),
        &["--audit-sign-key bogus://x", "env://VAR"],
    );
    let none = d.join("none").display().to_string();
    let decisions = [
        "run",
        "--capability-elevation",
        "--elevation-decisions",
        &none,
        "--dry-run",
        "--",
        "true",
    ];
    one_line(
        &nono_in(&d, &decisions),
        &["--elevation-decisions", "No such file or directory"],
    );
}

#[test]
fn the_configuration_file_refuses_unknown_sections_and_keys() {
    for (text, want) in [
        (
            "[bogus]\nx = 1\n",
            &[
                "config.toml:1:2:",
                "unknown field `bogus`",
                "ui, redaction, rollback",
            ][..],
        ),
        (
            "[redaction]\nextra_flag = [\"--x\"]\n",
            &["config.toml:2:1:", "did you mean `extra_flags`"][..],
        ),
        (
            "[ui]\ntheme = 5\n",
            &[
                "config.toml:2:9:",
                "expected text in quotes",
                "found the number 5",
            ][..],
        ),
    ] {
        let d = Scratch::new();
        std::fs::create_dir_all(d.join("cfg/nono")).unwrap();
        std::fs::write(d.join("cfg/nono/config.toml"), text).unwrap();
        one_line(&nono_in(&d, &["run", "--dry-run", "--", "true"]), want);
    }
}

#[test]
fn devices_and_fifos_are_not_regular_files() {
    let d = Scratch::new();
    let run = ["run", "--profile", "/dev/null", "--dry-run", "--", "true"];
    one_line(&nono_in(&d, &run), &["/dev/null", "not a regular file"]);
    assert!(Command::new("mkfifo")
        .arg(d.join("ff"))
        .status()
        .unwrap()
        .success());
    // Opening the FIFO for reading would block: the test would hang.
    for args in [
        &["profile", "validate", "ff"][..],
        &["run", "--profile", "./ff", "--dry-run", "--", "true"][..],
    ] {
        let line = one_line(&nono_in(&d, args), &["FIFO", "not a regular file"]);
        assert!(
            !line.contains("does not exist") && !line.contains("no such"),
            "{line}"
        );
    }
}

#[test]
fn system_errors_keep_their_text_without_the_number() {
    let d = Scratch::new();
    std::os::unix::fs::symlink(d.join("loop"), d.join("loop")).unwrap();
    let lp = d.join("loop").display().to_string();
    one_line(
        &nono_in(&d, &["run", "--read", &lp, "--dry-run", "--", "true"]),
        &["--read", "Too many levels of symbolic links"],
    );
    let missing = format!("file://{}", d.join("none").display());
    let r = nono_in(
        &d,
        &[
            "run",
            "--env-credential-map",
            &missing,
            "MYVAR",
            "--",
            "true",
        ],
    );
    one_line(&r, &["No such file or directory"]);
}

#[test]
fn clap_suggestions_and_variables_read_as_sentences() {
    let d = Scratch::new();
    one_line(
        &nono_in(&d, &["why", "--pth", "/etc"]),
        &["(did you mean '--path'?)", "see 'nono why --help'"],
    );
    one_line(
        &nono_in(&d, &["completions", "nosh"]),
        &["(did you mean 'zsh'?)"],
    );
    let r = nono_env(
        &d,
        &["run", "--dry-run", "--", "true"],
        &[("NONO_STARTUP_TIMEOUT", "abc")],
    );
    let line = one_line(&r, &["NONO_STARTUP_TIMEOUT=abc", "expected a whole number"]);
    assert!(
        !line.contains("<SECS>"),
        "the variable, not the flag: {line}"
    );
    one_line(
        &nono_in(&d, &["run", "--alow", ".", "--", "true"]),
        &[
            "'--alow'",
            "(did you mean '--allow'?)",
            "see 'nono run --help'",
        ],
    );
}

#[test]
fn wrap_names_credential_and_proxy_port_in_its_refusal() {
    let d = Scratch::new();
    let r = nono_in(
        &d,
        &[
            "wrap",
            "--allow-domain",
            "example.com",
            "--credential",
            "openai",
            "--proxy-port",
            "19999",
            "--rollback",
            "--",
            "true",
        ],
    );
    one_line(
        &r,
        &[
            "--allow-domain",
            "--credential",
            "--proxy-port",
            "--rollback",
            "Use nono run instead",
        ],
    );
}

#[test]
fn an_unreachable_keystore_is_one_sentence_with_the_next_step() {
    let d = Scratch::new();
    let o = Command::new(nono_bin())
        .args(["run", "--env-credential", "my_key=MYVAR", "--", "true"])
        .current_dir(&d.path)
        .env("XDG_CONFIG_HOME", d.join("cfg"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let line = one_line(
        &Ran::from(o),
        &[
            "'my_key'",
            "no Secret Service is reachable",
            "env://",
            "file://",
        ],
    );
    assert!(!line.contains("DBus error"), "{line}");
}

#[test]
fn allow_gpu_without_a_gpu_warns_and_still_runs() {
    let present = ["/dev/dri", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    let d = Scratch::new();
    let r = nono_in(&d, &["run", "--allow-gpu", "--dry-run", "--", "true"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let warned = r.stderr.contains("no GPU device found");
    assert_eq!(warned, !present, "{r:?}");
    if warned {
        assert!(r.stderr.contains("/dev/dri/renderD*"), "{r:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    }
}

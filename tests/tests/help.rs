//! Help a user can read: completion scripts and man pages generated from
//! the command-line definitions, grouped `--help` with examples.

use std::process::Command;

use nono_e2e::{nono, Scratch};

#[test]
fn completion_scripts_cover_every_flag_and_bash_loads_one() {
    let r = nono(&["completions", "bash"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    for flag in [
        "--allow-domain",
        "--bypass-protection",
        "--write-file",
        "--theme",
    ] {
        assert!(r.stdout.contains(flag), "bash script lacks {flag}");
    }
    let d = Scratch::new();
    std::fs::write(d.join("nono.bash"), &r.stdout).unwrap();
    let o = Command::new("bash")
        .args(["-c", "source \"$1\" && complete -p nono", "sh"])
        .arg(d.join("nono.bash"))
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && shown.contains("_nono"), "{o:?}");
    assert!(nono(&["completions", "zsh"])
        .stdout
        .starts_with("#compdef nono"));
    assert!(nono(&["completions", "fish"])
        .stdout
        .contains("complete -c nono"));
    let bad = nono(&["completions", "tcsh"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("possible values: bash"), "{bad:?}");
}

#[test]
fn man_pages_are_generated_for_nono_and_each_command() {
    let r = nono(&["man"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stdout.contains(".TH nono 1"),
        "{}",
        &r.stdout[..200.min(r.stdout.len())]
    );
    assert!(
        r.stdout.contains("nono\\-run(1)"),
        "SEE ALSO names the commands"
    );
    let d = Scratch::new();
    let r = nono(&["man", "--dir", &d.s()]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let run = std::fs::read_to_string(d.join("nono-run.1")).unwrap();
    assert!(
        run.contains("\\-\\-allow\\-domain"),
        "nono-run.1 lists the flags"
    );
    assert!(d.join("nono-profile-list.1").exists());
    let r = nono(&["man", "--dir", "/nonexistent-nono-man"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not an existing directory"), "{r:?}");
}

#[test]
fn run_help_groups_flags_under_the_spec_headings_with_examples() {
    let r = nono(&["run", "--help"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let at = |h: &str| {
        r.stdout
            .find(&format!("\n{h}:\n"))
            .unwrap_or_else(|| panic!("no heading {h}"))
    };
    let order = [
        "Directory Permissions",
        "File Permissions",
        "Network Control",
        "AF_UNIX Socket Permissions",
        "Credential Options",
        "Execution Mode Flags",
        "Operational Flags",
        "Global Options",
        "Examples",
    ];
    let pos: Vec<usize> = order.iter().map(|h| at(h)).collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "headings out of order: {pos:?}"
    );
    let net = &r.stdout[at("Network Control")..at("AF_UNIX Socket Permissions")];
    assert!(
        net.contains("--block-net") && net.contains("--allow-domain"),
        "{net}"
    );
    assert!(!net.contains("--allow-file"));
}

/// Whether `help` has an option line for `flag`.
fn lists(help: &str, flag: &str) -> bool {
    help.lines().any(|l| {
        let l = l.trim_start();
        let l = l
            .split_once(", ")
            .filter(|(s, _)| s.len() == 2)
            .map_or(l, |(_, r)| r);
        l.starts_with(flag)
    })
}

#[test]
fn wrap_help_shows_only_what_wrap_accepts_and_says_what_it_does_not_do() {
    for flag in ["-h", "--help"] {
        let r = nono(&["wrap", flag]);
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(
            r.stdout
                .contains("no proxy, no broker, no rollback, no audit"),
            "{flag}: {}",
            r.stdout
        );
        for hidden in [
            "--allow-domain",
            "--credential ",
            "--rollback",
            "--no-audit",
            "--detached",
            "--allow-unix-socket",
            "--capability-elevation",
        ] {
            assert!(!lists(&r.stdout, hidden), "wrap {flag} shows {hidden}");
        }
        for shown in [
            "--allow ",
            "--read-file",
            "--block-net",
            "--open-port",
            "--profile",
            "--dry-run",
        ] {
            assert!(lists(&r.stdout, shown.trim()), "wrap {flag} lacks {shown}");
        }
    }
    let r = nono(&["wrap", "--allow-domain", "example.com", "--", "true"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("Use nono run instead"), "{r:?}");
}

#[test]
fn every_command_has_examples() {
    for cmd in [
        "run",
        "wrap",
        "shell",
        "why",
        "learn",
        "setup",
        "profile",
        "trust",
        "ps",
        "stop",
        "inspect",
        "logs",
        "attach",
        "audit",
        "rollback",
        "completions",
        "man",
    ] {
        let r = nono(&[cmd, "--help"]);
        assert_eq!(r.code, Some(0), "{cmd}: {r:?}");
        let ex = r
            .stdout
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{cmd} --help has no examples"));
        assert!(ex.contains(&format!("nono {cmd}")), "{cmd}: {ex}");
    }
}

#[test]
fn spec_flags_without_effect_here_parse_and_are_refused_or_harmless() {
    let r = nono(&["run", "--allow-launch-services", "--", "true"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("--allow-launch-services is only supported on macOS"),
        "{r:?}"
    );
    let r = nono(&["run", "-c", "./nono.toml", "--", "true"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("--config ./nono.toml: configuration files named on the command line are not supported yet"), "{r:?}");
    for flag in ["--suppress-save-prompt", "--ignore-denied"] {
        let r = nono(&["run", flag, "/nonexistent-x", "--", "true"]);
        assert_eq!(r.code, Some(0), "{flag}: {r:?}");
    }
}

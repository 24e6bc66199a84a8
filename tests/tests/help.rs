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

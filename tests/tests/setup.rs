//! `nono setup`: the helpers are checked (a missing one is not "ready"),
//! `--profiles` writes example profiles that validate and never overwrites,
//! `--shell-integration` prints aliases and edits nothing.

use std::process::Command;

use nono_e2e::{nono_bin, Scratch};

fn setup(home: &Scratch, nono: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(nono)
        .arg("setup")
        .args(args)
        .env("HOME", &home.path)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_missing_helper_is_not_ready() {
    let home = Scratch::new();
    let (code, out) = setup(&home, &nono_bin(), &["--check-only"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Status: ready"), "{out}");
    // nono alone, without its helpers.
    let lone = Scratch::new();
    let copy = lone.join("nono");
    // Copied by another process: a descriptor open for writing in this
    // one could leak into a concurrent test's fork and make the exec
    // below fail with ETXTBSY.
    assert!(Command::new("cp")
        .arg(nono_bin())
        .arg(&copy)
        .status()
        .unwrap()
        .success());
    let (code, out) = setup(&home, &copy, &["--check-only"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("nono-proxy") && out.contains("MISSING"),
        "{out}"
    );
    assert!(out.contains("Status: incomplete installation"), "{out}");
    assert!(!out.contains("Status: ready"), "{out}");
}

#[test]
fn example_profiles_validate_and_are_never_overwritten() {
    let home = Scratch::new();
    let (code, out) = setup(&home, &nono_bin(), &["--profiles"]);
    assert_eq!(code, Some(0), "{out}");
    let dir = home.join(".config/nono/profiles");
    let mut written: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    written.sort();
    assert_eq!(written.len(), 2, "{out}");
    for p in &written {
        let v = Command::new(nono_bin())
            .args(["profile", "validate"])
            .arg(p)
            .env("HOME", &home.path)
            .output()
            .unwrap();
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    }
    std::fs::write(&written[0], "# mine\n").unwrap();
    let (code, out) = setup(&home, &nono_bin(), &["--profiles"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("nothing overwritten"), "{out}");
    assert_eq!(std::fs::read_to_string(&written[0]).unwrap(), "# mine\n");
    // --check-only creates nothing, so it cannot be combined with --profiles.
    let (code, out) = setup(&home, &nono_bin(), &["--check-only", "--profiles"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cannot be used with"), "{out}");
}

#[test]
fn shell_integration_prints_aliases_and_edits_nothing() {
    let home = Scratch::new();
    let (code, out) = setup(&home, &nono_bin(), &["--shell-integration"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("alias claude='nono run --profile claude-code"),
        "{out}"
    );
    // The completion line it offers names a command that works.
    let shell = ["bash", "zsh", "fish"]
        .into_iter()
        .find(|s| out.contains(&format!("nono completions {s}")))
        .unwrap_or_else(|| panic!("no completion line: {out}"));
    let script = std::process::Command::new(nono_bin())
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(script.status.success() && script.stdout.len() > 1000);
    assert_eq!(std::fs::read_dir(&home.path).unwrap().count(), 0);
}

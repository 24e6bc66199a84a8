//! The diagnostic footer of `nono run`: after a non-zero exit, the denials
//! nono saw with the flag that grants each, and the pointer to `nono learn`
//! and `nono why` for what it cannot see; never after success, never with
//! `--no-diagnostics` or `--silent`.

use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, Scratch};

fn run(pre: &[&str], flags: &[&str], script: &str) -> (Option<i32>, String) {
    let out = Command::new(nono_bin())
        .args(pre)
        .arg("run")
        .args(flags)
        .args(["--", "/bin/sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A name the command chose cannot drive the user's terminal through
/// nono's messages: escape sequences, carriage returns and line breaks in
/// it are shown escaped, in the footer's row and in its suggestion alike.
#[test]
fn names_the_command_chose_are_shown_escaped() {
    let d = Scratch::new();
    let name = "a\u{1b}[2K\rb\nnono: fake";
    std::fs::write(d.join(name), "x").unwrap();
    let script = format!(
        "chmod 600 \"$(printf '%s/a\\033[2K\\rb\\nnono: fake' '{}')\"; exit 4",
        d.path.display()
    );
    let (code, err) = run(&[], &[], &script);
    assert_eq!(code, Some(4), "{err}");
    let escaped = "a\\u{1b}[2K\\rb\\nnono: fake";
    assert!(
        err.contains(&format!("chmod {}/{escaped}", d.path.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("--write-file {}/{escaped}", d.path.display())),
        "{err}"
    );
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    assert!(!err.lines().any(|l| l.starts_with("nono: fake")), "{err}");
}

#[test]
fn failed_run_shows_denials_with_their_grants() {
    let d = Scratch::new();
    let f = d.join("f");
    std::fs::write(&f, "x").unwrap();
    let script = format!("chmod 600 {}; exit 4", f.display());
    let (code, err) = run(&[], &[], &script);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("exited with status 4"), "{err}");
    assert!(err.contains(&format!("chmod {}", f.display())), "{err}");
    assert!(
        err.contains(&format!("--write-file {}", f.display()))
            && err.contains("filesystem.write_file"),
        "{err}"
    );
    assert!(
        err.contains("nono learn --sandboxed") && err.contains("nono why"),
        "{err}"
    );
    // Why Landlock's own records are not shown: who may read the kernel's
    // audit, or that it is off.
    let why = if nono_e2e::is_root() {
        [
            "audit subsystem is off",
            "type 1423",
            "can only be read by root",
        ]
        .iter()
        .any(|w| err.contains(w))
    } else {
        err.contains("can only be read by root")
    };
    assert!(why, "{err}");
    // Applying the suggested flag makes the same call succeed.
    let (code, err) = run(
        &[],
        &["--write-file", &f.display().to_string()],
        &script.replace("exit 4", "exit 0"),
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn footer_is_quiet_on_success_and_when_suppressed() {
    let (code, err) = run(&[], &[], "exit 0");
    assert_eq!(code, Some(0));
    assert!(!err.contains("exited with status"), "{err}");
    let (code, err) = run(&[], &["--no-diagnostics"], "exit 3");
    assert_eq!(code, Some(3));
    assert!(err.is_empty(), "{err}");
    let (code, err) = run(&["-s"], &[], "exit 3");
    assert_eq!(code, Some(3));
    assert!(err.is_empty(), "{err}");
    let (_, err) = run(&[], &[], "exit 3");
    assert!(
        err.contains("exited with status 3") && err.contains("not visible to nono"),
        "{err}"
    );
}

#[test]
fn no_footer_when_the_command_was_stopped_by_a_signal_and_nothing_was_denied() {
    for (sig, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let (got, err) = run(&[], &[], &format!("trap - {sig}; kill -{sig} $$; sleep 5"));
        assert_eq!(got, Some(code), "{err}");
        assert!(!err.contains("exited with status"), "SIG{sig}: {err}");
    }
    // Any other failure still gets it.
    let (got, err) = run(&[], &[], "exit 3");
    assert_eq!(got, Some(3));
    assert!(err.contains("exited with status 3"), "{err}");
}

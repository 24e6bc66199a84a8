//! The deprecated startup-only command blocklist: the directly invoked
//! command is refused by name (nothing runs); lifted by --allow-command or
//! a profile; and, as documented, not a boundary for child processes.

use nono_e2e::{nono, Scratch};

fn victim(d: &Scratch) -> String {
    let f = d.join("victim");
    std::fs::write(&f, "x").unwrap();
    f.display().to_string()
}

#[test]
fn blocked_commands_never_start_and_the_message_names_the_flag() {
    let d = Scratch::new();
    let f = victim(&d);
    let r = nono(&["run", "--allow", &d.s(), "--", "rm", &f]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.starts_with("nono: blocked command: rm ("), "{r:?}");
    assert!(r.stderr.contains("not a sandbox boundary") && r.stderr.contains("--allow-command rm"));
    assert!(std::path::Path::new(&f).exists(), "rm must not have run");
    let r = nono(&["wrap", "--allow", &d.s(), "--", "/bin/chmod", "000", &f]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("blocked command: chmod"), "{r:?}");
    let r = nono(&["run", "--block-command", "true", "--", "true"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains("--block-command is deprecated")
            && r.stderr.contains("blocked command: true")
    );
}

#[test]
fn allow_command_and_profiles_lift_it_with_deprecation_warnings() {
    let d = Scratch::new();
    let f = victim(&d);
    let r = nono(&[
        "run",
        "--allow",
        &d.s(),
        "--allow-command",
        "rm",
        "--",
        "rm",
        &f,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stderr.contains("warning: --allow-command is deprecated"),
        "{r:?}"
    );
    assert!(!std::path::Path::new(&f).exists());
    let f = victim(&d);
    let prof = d.join("p.toml");
    std::fs::write(
        &prof,
        "extends = \"default\"\n[commands]\nallow = [\"rm\"]\n",
    )
    .unwrap();
    let r = nono(&[
        "run",
        "--profile",
        &prof.display().to_string(),
        "--allow",
        &d.s(),
        "--",
        "rm",
        &f,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stderr
            .contains("commands.allow/commands.block are deprecated"),
        "{r:?}"
    );
    let f = victim(&d);
    std::fs::write(
        &prof,
        "extends = \"default\"\n[security]\nallowed_commands = [\"rm\"]\n",
    )
    .unwrap();
    let r = nono(&[
        "run",
        "--profile",
        &prof.display().to_string(),
        "--allow",
        &d.s(),
        "--",
        "rm",
        &f,
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.stderr
            .contains("security.allowed_commands is deprecated: use commands.allow"),
        "{r:?}"
    );
}

#[test]
fn child_processes_are_not_checked_as_documented() {
    let d = Scratch::new();
    let f = victim(&d);
    let r = nono(&[
        "run",
        "--allow",
        &d.s(),
        "--",
        "sh",
        "-c",
        &format!("rm {f}"),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        !std::path::Path::new(&f).exists(),
        "the blocklist is not a boundary"
    );
    let outside = Scratch::new();
    let g = victim(&outside);
    let r = nono(&[
        "run",
        "--allow",
        &d.s(),
        "--",
        "sh",
        "-c",
        &format!("rm -f {g}"),
    ]);
    assert_ne!(r.code, Some(0), "{r:?}");
    assert!(
        std::path::Path::new(&g).exists(),
        "the grants are the boundary"
    );
}

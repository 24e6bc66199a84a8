//! `nono profile list`: built-ins keep their own descriptions when a user
//! profile overrides them, and each line says which overrides which.

use std::process::Command;

use nono_e2e::{nono_bin, Scratch};

#[test]
fn a_user_override_is_named_on_both_lines_with_its_own_description() {
    let d = Scratch::new();
    let dir = d.join("cfg/nono/profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("claude-code.toml"),
        "[meta]\ndescription = \"My own claude\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.toml"), "[meta\n").unwrap();
    let o = Command::new(nono_bin())
        .args(["profile", "list"])
        .env("XDG_CONFIG_HOME", d.join("cfg"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let line = |start: &str| {
        out.lines()
            .filter(|l| l.trim_start().starts_with(start))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let claude = line("claude-code ");
    assert_eq!(claude.len(), 2, "{out}");
    let file = dir.join("claude-code.toml").display().to_string();
    assert!(
        claude[0].contains("Anthropic Claude Code CLI agent"),
        "built-in keeps its own: {out}"
    );
    assert!(
        claude[0].contains(&format!("(overridden by {file})")),
        "{out}"
    );
    assert!(!claude[0].contains("My own claude"), "{out}");
    assert!(
        claude[1].contains("My own claude")
            && claude[1].contains("overrides the built-in claude-code"),
        "{out}"
    );
    let broken = line("broken ");
    assert!(
        broken[0].contains("(invalid: ") && broken[0].contains("broken.toml:1:6"),
        "{out}"
    );
    let stray = out
        .lines()
        .find(|l| !l.starts_with("  ") && !l.ends_with(':'));
    assert!(stray.is_none(), "one line per profile: {stray:?} in {out}");
}

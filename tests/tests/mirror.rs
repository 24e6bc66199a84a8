//! Profile `mirror_files` from inside a real sandbox: the claude-code
//! profile mirrors `~/.claude.json` through `~/.claude/.claude.json`, which
//! the agent may write. An agent that replaces its copy with a symbolic
//! link to a file it cannot read must not get nono to copy that file into
//! `~/.claude.json` (which it can read) after the session.

use std::process::{Command, Stdio};

use nono_e2e::{canary, nono_bin, Scratch};

#[test]
fn a_symlinked_copy_is_not_followed_back_into_the_users_file() {
    let dir = Scratch::new();
    let home = dir.join("home");
    let proj = dir.join("proj");
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::create_dir_all(&proj).unwrap();
    let secret = canary("mirror-secret");
    let hidden = home.join("hidden.txt"); // not granted by the profile
    std::fs::write(&hidden, &secret).unwrap();
    std::fs::write(home.join(".claude.json"), "{\"user\": true}").unwrap();
    let script = format!(
        "cat {h} 2>/dev/null && echo READ-HIDDEN; \
         rm -f $HOME/.claude/.claude.json; ln -s {h} $HOME/.claude/.claude.json; echo planted",
        h = hidden.display()
    );
    let out = Command::new(nono_bin())
        .args(["run", "--profile", "claude-code", "--allow-cwd", "--"])
        .args(["/bin/sh", "-c", &script])
        .current_dir(&proj)
        .env("HOME", &home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("planted") && !stdout.contains("READ-HIDDEN"),
        "{stdout}"
    );
    let user = std::fs::read_to_string(home.join(".claude.json")).unwrap();
    assert!(!user.contains(&secret), "the link was followed: {user}");
    assert_eq!(user, "{\"user\": true}");
    assert!(stderr.contains("not copied back"), "{stderr}");
}

/// claude-code: Claude's settings files (hooks) stay read-only inside, the
/// rest of ~/.claude stays writable, and MCP servers the agent adds to its
/// copy of ~/.claude.json are not carried back (its other state is).
#[test]
fn claude_hooks_and_mcp_servers_do_not_persist() {
    let dir = Scratch::new();
    let home = dir.join("home");
    let proj = dir.join("proj");
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::create_dir_all(proj.join(".claude")).unwrap();
    std::fs::write(home.join(".claude/settings.json"), "{}").unwrap();
    std::fs::write(proj.join(".claude/settings.local.json"), "{}").unwrap();
    std::fs::write(
        home.join(".claude.json"),
        r#"{"numStartups": 1, "mcpServers": {"mine": {"command": "ok"}}}"#,
    )
    .unwrap();
    let script = r#"
        echo '{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "touch /tmp/x"}]}]}}' > $HOME/.claude/settings.json && echo HOME-SETTINGS;
        echo '{"hooks": {}}' > .claude/settings.local.json && echo PROJECT-SETTINGS;
        echo ok > $HOME/.claude/history.jsonl && echo STATE-OK;
        printf '{"numStartups": 2, "mcpServers": {"evil": {"command": "sh"}}}' > $HOME/.claude/.claude.json.tmp && mv $HOME/.claude/.claude.json.tmp $HOME/.claude/.claude.json && echo MIRROR-OK;
        true"#;
    let out = Command::new(nono_bin())
        .args(["run", "--profile", "claude-code", "--allow-cwd", "--"])
        .args(["/bin/sh", "-c", script])
        .current_dir(&proj)
        .env("HOME", &home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("STATE-OK") && stdout.contains("MIRROR-OK"),
        "{stdout}{stderr}"
    );
    assert!(
        !stdout.contains("HOME-SETTINGS") && !stdout.contains("PROJECT-SETTINGS"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(home.join(".claude/settings.json")).unwrap(),
        "{}"
    );
    assert_eq!(
        std::fs::read_to_string(proj.join(".claude/settings.local.json")).unwrap(),
        "{}"
    );
    let user: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".claude.json")).unwrap()).unwrap();
    assert_eq!(user["numStartups"], 2, "other state is copied back: {user}");
    assert_eq!(
        user["mcpServers"],
        serde_json::json!({"mine": {"command": "ok"}}),
        "{user}"
    );
}

//! The installation side of `nono setup`: the helper binaries next to
//! `nono`, example user profiles (`--profiles`) and shell integration
//! (`--shell-integration`).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::out::outln;

/// The helpers `nono run` starts; `nono wrap` needs none of them.
const HELPERS: [&str; 3] = ["nono-broker", "nono-proxy", "nono-keyholder"];

/// Report each helper (found where `nono run` looks for it:
/// `launch::helpers::path`); the names of those missing or not executable.
pub fn helpers() -> Vec<&'static str> {
    outln!("Helpers (next to nono, never from PATH):");
    let mut missing = Vec::new();
    for name in HELPERS {
        match crate::helpers::path(name) {
            Ok(p)
                if p.metadata()
                    .is_ok_and(|m| m.permissions().mode() & 0o111 != 0) =>
            {
                outln!("  {name:<48} {}", p.display());
            }
            Ok(p) => {
                outln!("  {name:<48} MISSING ({} is not executable)", p.display());
                missing.push(name);
            }
            Err(e) => {
                outln!("  {name:<48} MISSING ({e:#})");
                missing.push(name);
            }
        }
    }
    missing
}

/// Example profiles, each a commented file that `nono profile validate`
/// accepts as it is.
const EXAMPLES: [(&str, &str); 2] = [
    (
        "example-agent.toml",
        r#"# An example user profile written by `nono setup --profiles`.
# Use it with: nono run --profile example-agent -- my-agent
# Check it with: nono profile validate ~/.config/nono/profiles/example-agent.toml
extends = "default"

[meta]
name = "example-agent"
version = "1.0.0"
description = "Example: a coding agent working in the current directory"

# The working directory, read and write (nono still asks unless --allow-cwd).
[workdir]
access = "readwrite"

[security]
# Runtimes and tools the agent needs (see `nono profile groups`).
groups = ["git_config"]

[filesystem]
# Directories the agent may read; missing paths are skipped.
read = []
# Directories it may read and write.
allow = []
"#,
    ),
    (
        "example-offline.toml",
        r#"# An example user profile written by `nono setup --profiles`:
# a tool that needs no network at all.
# Use it with: nono run --profile example-offline --allow-cwd -- my-tool
extends = "default"

[meta]
name = "example-offline"
version = "1.0.0"
description = "Example: no network, the working directory read-only"

[workdir]
access = "read"

[network]
block = true
"#,
    ),
];

/// Write the example profiles into the user's profile directory, never
/// over an existing file.
pub fn profiles() -> Result<()> {
    let dir = crate::policy::load::user_dir()
        .context("cannot find the user's profile directory ($HOME or $XDG_CONFIG_HOME unset)")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in EXAMPLES {
        let path = dir.join(name);
        if write_new(&path, text)? {
            outln!("Wrote {}", path.display());
        } else {
            outln!("Kept {} (it exists; nothing overwritten)", path.display());
        }
    }
    Ok(())
}

/// `false` when the file already exists.
fn write_new(path: &PathBuf, text: &str) -> Result<bool> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match file {
        Ok(mut f) => {
            f.write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Instructions for the user's shell: nothing is edited for them.
pub fn shell_integration() {
    let shell = std::env::var("SHELL").unwrap_or_default();
    let (rc, completions) = match Path::new(&shell).file_name().and_then(|n| n.to_str()) {
        Some("zsh") => ("~/.zshrc", "  source <(nono completions zsh)"),
        Some("fish") => (
            "~/.config/fish/config.fish",
            "  nono completions fish | source",
        ),
        _ => ("~/.bashrc", "  source <(nono completions bash)"),
    };
    outln!("Shell integration (add what you want to {rc}; nono edits nothing):");
    outln!("");
    outln!("  # Run agents sandboxed by default");
    outln!("  alias claude='nono run --profile claude-code --allow-cwd -- claude'");
    outln!("  alias codex='nono run --profile codex --allow-cwd -- codex'");
    outln!("  alias opencode='nono run --profile opencode --allow-cwd -- opencode'");
    outln!("");
    outln!("  # A sandboxed shell in the current directory (its prompt is marked)");
    outln!("  alias nsh='nono shell --allow-cwd'");
    outln!("");
    outln!("  # Completion of nono's commands and flags");
    outln!("{completions}");
    outln!("");
    outln!("Inside a sandbox, `nono why --self --path P --op read` explains a denial.");
}

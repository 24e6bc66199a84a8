//! The real agent CLIs start under their built-in profiles. Each missing CLI
//! is installed from the npm registry first: globally when running as root,
//! otherwise into a per-user prefix that the sandbox is then granted.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use nono_e2e::{is_root, nono_bin, Scratch};

const AGENTS: [(&str, &str, &str); 3] = [
    ("claude-code", "claude", "@anthropic-ai/claude-code"),
    ("codex", "codex", "@openai/codex"),
    ("opencode", "opencode", "opencode-ai"),
];

fn in_path(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// The command to run, and a directory to grant when it is not a system install.
fn ensure(cmd: &str, package: &str) -> (PathBuf, Option<PathBuf>) {
    if let Some(p) = in_path(cmd) {
        return (p, None);
    }
    let npm = in_path("npm").expect("npm is needed to install the agent CLIs");
    if is_root() {
        let ok = Command::new(&npm)
            .args(["install", "-g", "--no-fund", "--no-audit", package])
            .status()
            .unwrap();
        assert!(ok.success(), "npm install -g {package} failed");
        return (
            in_path(cmd).unwrap_or_else(|| panic!("{cmd} not in PATH after install")),
            None,
        );
    }
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let prefix = home.join(".cache/nono-e2e-agents");
    let bin = prefix.join("node_modules/.bin").join(cmd);
    if !bin.exists() {
        let ok = Command::new(&npm)
            .args(["install", "--no-fund", "--no-audit", "--prefix"])
            .arg(&prefix)
            .arg(package)
            .status()
            .unwrap();
        assert!(ok.success(), "npm install {package} failed");
    }
    (bin, Some(prefix))
}

#[test]
fn agent_clis_start_under_their_profiles() {
    let cwd = Scratch::new();
    for (profile, cmd, package) in AGENTS {
        let (bin, grant) = ensure(cmd, package);
        let mut c = Command::new(nono_bin());
        c.current_dir(&cwd.path)
            .args(["run", "--profile", profile, "--allow-cwd"]);
        if let Some(dir) = &grant {
            c.arg("--read").arg(dir);
        }
        let out = c
            .arg("--")
            .arg(&bin)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{profile}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.chars().any(|c| c.is_ascii_digit()) && stdout.contains('.'),
            "{profile}: {stdout}"
        );
    }
}

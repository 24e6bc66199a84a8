//! `nono shell`: an interactive shell inside the sandbox, supervised like
//! `nono run`. The shell is `--shell`, else `$SHELL`, else `/bin/sh`; its
//! prompt starts with `(nono) ` so the user sees they are inside (bash
//! through a small rc file in the session's private tmp that first reads
//! the user's `~/.bashrc`; other shells through `PS1`).

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::policy::plan::Plan;

/// The prompt marker.
pub const MARKER: &str = "(nono) ";

/// The shell to start, from `--shell` or `$SHELL`.
pub fn program(flag: Option<PathBuf>) -> OsString {
    flag.map(PathBuf::into_os_string)
        .or_else(|| std::env::var_os("SHELL").filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "/bin/sh".into())
}

fn is_bash(program: &Path) -> bool {
    program.file_name().is_some_and(|n| n == "bash")
}

fn set_env(env: &mut Vec<CString>, name: &str, value: &str) -> Result<()> {
    let prefix = format!("{name}=");
    env.retain(|e| !e.as_bytes().starts_with(prefix.as_bytes()));
    env.push(CString::new(format!("{name}={value}")).context("environment value")?);
    Ok(())
}

/// Mark the prompt and make the shell interactive.
pub fn prepare(plan: &mut Plan, session: &super::prepare::Session) -> Result<()> {
    let program = PathBuf::from(std::ffi::OsStr::from_bytes(plan.program.as_bytes()));
    set_env(&mut plan.env, "NONO_SHELL", "1")?;
    if !is_bash(&program) {
        set_env(&mut plan.env, "PS1", &format!("{MARKER}$ "))?;
        return Ok(());
    }
    let Some(session) = &session.dir else {
        bail!("nono shell needs a session directory");
    };
    let rc = session.tmp.join("nono-shell.bashrc");
    std::fs::write(
        &rc,
        format!(
            "[ -r \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\" 2>/dev/null\n\
             PS1=\"{MARKER}${{PS1:-\\\\u@\\\\h:\\\\w\\\\$ }}\"\n"
        ),
    )
    .with_context(|| format!("cannot write {}", rc.display()))?;
    let mut argv = vec![plan.argv[0].clone()];
    for a in ["--rcfile".as_bytes(), rc.as_os_str().as_bytes(), b"-i"] {
        argv.push(CString::new(a).context("shell argument")?);
    }
    plan.argv = argv;
    Ok(())
}

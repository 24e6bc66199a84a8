//! Finding helper executables: next to the `nono` executable, never via PATH.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

pub fn path(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the nono executable")?;
    let dir = exe
        .parent()
        .context("the nono executable has no directory")?;
    let p = dir.join(name);
    if !p.is_file() {
        bail!(
            "{name} not found next to nono ({}); reinstall nono with its helpers (they are never looked up in PATH)",
            p.display()
        );
    }
    Ok(p)
}

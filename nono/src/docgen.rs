//! `nono completions SHELL` and `nono man`: shell completion scripts and
//! man pages generated from the clap definitions in `cli`, so they always
//! list the flags this binary takes.

use std::path::Path;

use crate::help::definition;
use anyhow::{Context, Result};

/// The completion script for `shell`, on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut definition(), "nono", &mut buf);
    crate::out::write(format_args!("{}", String::from_utf8_lossy(&buf)));
    Ok(0)
}

/// nono(1) on stdout, or with `dir` one page per command (`nono.1`,
/// `nono-run.1`, `nono-profile-list.1`, ...) written into that existing
/// directory.
pub fn man(dir: Option<&Path>) -> Result<i32> {
    let cmd = definition();
    match dir {
        Some(d) => {
            anyhow::ensure!(
                d.is_dir(),
                "man --dir {}: not an existing directory",
                d.display()
            );
            clap_mangen::generate_to(cmd, d)
                .with_context(|| format!("man --dir {}: cannot write the pages", d.display()))?;
            crate::ui::note(format!("wrote man pages to {}", d.display()));
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .context("cannot render the man page")?;
            crate::out::write(format_args!("{}", String::from_utf8_lossy(&buf)));
        }
    }
    Ok(0)
}

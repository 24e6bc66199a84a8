//! Refusing flags whose features are not in this release, with a message
//! that says so (what `wrap` refuses because it keeps no helper is
//! `policy/plan/needs.rs`). Refusing is fail-closed: the user asked for a
//! restriction or a grant nono cannot provide yet.

use anyhow::{bail, Result};

use crate::cli::CompatArgs;

/// Spec flags Linux or this release cannot honour: refused, never ignored.
pub fn check_compat(c: &CompatArgs) -> Result<()> {
    if c.allow_launch_services {
        bail!(
            "--allow-launch-services is only supported on macOS (LaunchServices); on Linux a \
             sandboxed command opens URLs through nothing but its own grants"
        );
    }
    if let Some(f) = &c.config {
        bail!(
            "--config {}: configuration files named on the command line are not supported yet \
             (the spec lists them as planned); nono reads ~/.config/nono/config.toml",
            f.display()
        );
    }
    Ok(())
}

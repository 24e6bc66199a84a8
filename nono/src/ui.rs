//! Messages to the user. Errors always print; warnings and notes unless
//! `--silent`; info at `-v` and up. Everything goes to stderr so the
//! command's own stdout stays clean, through [`crate::stderr`], which never
//! panics or stalls on a closed or slow stderr.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::stderr;
use crate::theme::{Role, Theme};

static LEVEL: AtomicU8 = AtomicU8::new(1);
/// The theme when colour is on (stderr a terminal, no `NO_COLOR`).
static COLOUR: OnceLock<Option<Theme>> = OnceLock::new();

/// Choose the theme (see `theme`) once, before any message: `--theme`,
/// `NONO_THEME`, the configuration's `[ui] theme`. An unknown name warns
/// and falls back to mocha; an invalid configuration file is an error.
pub fn init_theme(flag: Option<&str>) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let env = std::env::var("NONO_THEME").ok().filter(|s| !s.is_empty());
    let config = crate::theme::read_config();
    let no_color = std::env::var("NO_COLOR").ok();
    let on = crate::theme::colour_wanted(std::io::stderr().is_terminal(), no_color.as_deref());
    let cfg = config.as_ref().ok().and_then(Option::as_ref);
    let (theme, warning) = crate::theme::resolve(
        flag,
        env.as_deref(),
        cfg.map(|(t, p)| (t.as_str(), p.as_path())),
    );
    let _ = COLOUR.set(on.then_some(theme));
    if let Some(w) = warning {
        warn(w);
    }
    config.map(|_| ())
}

/// `text` in the theme's style for `role`, or as it is without colour.
pub fn paint(role: Role, text: &str) -> String {
    match COLOUR.get().copied().flatten() {
        Some(t) => t.paint(role, text),
        None => text.to_string(),
    }
}

/// Set from the global flags: 0 silent, 1 normal, 2+ verbose.
pub fn init(silent: bool, verbose: u8) {
    let level = if silent { 0 } else { 1 + verbose };
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    LEVEL.load(Ordering::Relaxed).saturating_sub(1)
}

pub fn error(msg: impl std::fmt::Display) {
    stderr::line(&format!("{} {msg}", paint(Role::Error, "nono:")));
}

pub fn warn(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        stderr::line(&format!("nono: {} {msg}", paint(Role::Warning, "warning:")));
    }
}

/// A plain status line (e.g. "wrote FILE"), unless `--silent`.
pub fn note(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        stderr::line(&msg.to_string());
    }
}

/// A `-v` line (an info event; see `trace`).
pub fn info(msg: impl std::fmt::Display) {
    tracing::info!("{msg}");
}

/// True with `--silent`.
pub fn verbosity_silent() -> bool {
    LEVEL.load(Ordering::Relaxed) == 0
}

//! Messages to the user. Errors always print; warnings and notes unless
//! `--silent`; info at `-v` and up. Everything goes to stderr so the
//! command's own stdout stays clean, through [`crate::stderr`], which never
//! panics or stalls on a closed or slow stderr.

use std::borrow::Cow;
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
    let msg = msg.to_string();
    stderr::line(&format!(
        "{} {}",
        paint(Role::Error, "nono:"),
        terminal_safe(&msg)
    ));
}

pub fn warn(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        let msg = msg.to_string();
        stderr::line(&format!(
            "nono: {} {}",
            paint(Role::Warning, "warning:"),
            terminal_safe(&msg)
        ));
    }
}

/// A plain status line (e.g. "wrote FILE"), unless `--silent`.
pub fn note(msg: impl std::fmt::Display) {
    if LEVEL.load(Ordering::Relaxed) >= 1 {
        stderr::line(&terminal_safe(&msg.to_string()));
    }
}

/// `text` as nono may write it to a terminal (its messages on stderr, and
/// what its commands print on stdout, `out::write`): every control character
/// but newline and tab (escape sequences, carriage returns, backspaces,
/// C1 controls) and every bidirectional override shown escaped
/// (`\u{1b}`), so nothing in a message — a file name, a host, a path the
/// command chose — can move the cursor, recolour, retitle or rewrite
/// what nono prints. Messages keep their own line breaks; a value the
/// command chose goes through [`shown`] as well.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c != '\n' && c != '\t' && hazardous(c))
}

/// A value the sandboxed command chose (a path, a host, a request path),
/// for a message: [`terminal_safe`], and its line breaks and tabs shown
/// escaped too, so it stays on its line and cannot pose as a line of
/// nono's own.
pub fn shown(value: &str) -> Cow<'_, str> {
    escaped(value, hazardous)
}

/// Control characters (C0, DEL, C1) and the bidirectional formatting
/// characters, which reorder what a terminal shows.
fn hazardous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escaped(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A `-v` line (an info event; see `trace`).
pub fn info(msg: impl std::fmt::Display) {
    tracing::info!("{msg}");
}

/// True with `--silent`.
pub fn verbosity_silent() -> bool {
    LEVEL.load(Ordering::Relaxed) == 0
}

#[cfg(test)]
mod tests {
    use super::{shown, terminal_safe};

    #[test]
    fn escape_sequences_and_bidi_controls_are_shown_not_sent() {
        let evil = "/tmp/x\u{1b}[2K\rnono: ok\u{9b}31m\u{7}\u{202e}txt.exe";
        let safe = terminal_safe(evil);
        assert!(
            !safe.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{safe}"
        );
        assert_eq!(
            safe,
            "/tmp/x\\u{1b}[2K\\rnono: ok\\u{9b}31m\\u{7}\\u{202e}txt.exe"
        );
    }

    #[test]
    fn messages_keep_their_lines_values_do_not() {
        assert_eq!(terminal_safe("a\n\tb"), "a\n\tb");
        assert_eq!(shown("a\n\tb"), "a\\n\\tb");
        // Plain text (backslashes and quotes included) is left as it is.
        for plain in ["/home/u/a b/\\x'\"", "ünïcödé", ""] {
            assert!(matches!(shown(plain), std::borrow::Cow::Borrowed(_)));
            assert_eq!(shown(plain), plain);
        }
    }
}

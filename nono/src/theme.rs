//! The CLI colour theme: `--theme`, else `NONO_THEME`, else `[ui] theme`
//! in `~/.config/nono/config.toml`, else mocha. An unknown name falls back
//! to mocha with a warning. Colour is used only when stderr is a terminal,
//! and never when `NO_COLOR` is set to anything non-empty, whatever the
//! theme.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

/// What a piece of styled text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Error,
    Warning,
    /// Secondary details (`-v` output).
    Subtle,
}

/// One theme: a 24-bit colour per role, or none (minimal: bold only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub name: &'static str,
    /// error, warning, subtle as (r, g, b).
    colours: Option<[(u8, u8, u8); 3]>,
}

/// The six themes of the spec, as data: (error, warning, subtle) are
/// Catppuccin's red, yellow and overlay0 of each flavour, Tokyo Night's
/// red, yellow and comment; minimal has no colour (bold errors only).
pub const THEMES: [Theme; 6] = [
    Theme {
        name: "mocha",
        colours: Some([(243, 139, 168), (249, 226, 175), (108, 112, 134)]),
    },
    Theme {
        name: "latte",
        colours: Some([(210, 15, 57), (223, 142, 29), (156, 160, 176)]),
    },
    Theme {
        name: "frappe",
        colours: Some([(231, 130, 132), (229, 200, 144), (115, 121, 148)]),
    },
    Theme {
        name: "macchiato",
        colours: Some([(237, 135, 150), (238, 212, 159), (110, 115, 141)]),
    },
    Theme {
        name: "tokyo-night",
        colours: Some([(247, 118, 142), (224, 175, 104), (86, 95, 137)]),
    },
    Theme {
        name: "minimal",
        colours: None,
    },
];

pub const DEFAULT: Theme = THEMES[0];

impl Theme {
    pub fn named(name: &str) -> Option<Theme> {
        THEMES.iter().copied().find(|t| t.name == name)
    }

    /// `text` wrapped in this theme's escape sequence for `role`.
    pub fn paint(&self, role: Role, text: &str) -> String {
        let bold = matches!(role, Role::Error | Role::Warning);
        let b = if bold { "1;" } else { "" };
        match self.colours {
            Some(c) => {
                let (r, g, bl) = c[role as usize];
                format!("\x1b[{b}38;2;{r};{g};{bl}m{text}\x1b[0m")
            }
            None if bold => format!("\x1b[1m{text}\x1b[0m"),
            None => text.to_string(),
        }
    }
}

/// Where the chosen name came from (for the fallback warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Config(PathBuf),
}

/// `--theme` over `NONO_THEME` over the configuration's `[ui] theme`.
/// Returns the theme and, for an unknown name, the warning to print.
pub fn resolve(
    flag: Option<&str>,
    env: Option<&str>,
    config: Option<(&str, &Path)>,
) -> (Theme, Option<String>) {
    let (name, source) = match (flag, env, config) {
        (Some(f), _, _) => (f, Source::Flag),
        (None, Some(e), _) => (e, Source::Env),
        (None, None, Some((c, p))) => (c, Source::Config(p.to_path_buf())),
        (None, None, None) => return (DEFAULT, None),
    };
    match Theme::named(name) {
        Some(t) => (t, None),
        None => {
            let from = match source {
                Source::Flag => "--theme".to_string(),
                Source::Env => "NONO_THEME".to_string(),
                Source::Config(p) => format!("[ui] theme in {}", p.display()),
            };
            let names: Vec<&str> = THEMES.iter().map(|t| t.name).collect();
            let warn = format!(
                "unknown theme '{name}' ({from}); using mocha. Themes: {}",
                names.join(", ")
            );
            (DEFAULT, Some(warn))
        }
    }
}

/// Colour only on a terminal, and never with a non-empty `NO_COLOR`.
pub fn colour_wanted(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

/// `~/.config/nono/config.toml` (`$XDG_CONFIG_HOME` first).
pub fn config_file() -> Option<PathBuf> {
    let abs = |v: &str| {
        std::env::var_os(v)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    abs("XDG_CONFIG_HOME")
        .or_else(|| abs("HOME").map(|h| h.join(".config")))
        .map(|c| c.join("nono/config.toml"))
}

/// The whole configuration file: every section nono reads, so that an
/// unknown section or key is an error wherever the file is read (the
/// other sections are used by `record::state`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    ui: Ui,
    #[serde(default)]
    #[allow(dead_code)] // checked here, used by `record::state::redaction`
    redaction: audit::RedactionConfig,
    #[serde(default)]
    #[allow(dead_code)] // checked here, used by `record::state::retention`
    rollback: crate::record::state::Retention,
}

/// `[ui]` of the configuration.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Ui {
    theme: Option<String>,
}

/// `[ui] theme` of the configuration text, once the whole file is checked;
/// errors name file:line:column and the field (see `policy::plain`).
pub fn config_theme(text: &str, file: &Path) -> Result<Option<String>> {
    let de = toml::Deserializer::new(text);
    let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        anyhow!(crate::policy::plain::toml(
            text,
            &file.display().to_string(),
            &e
        ))
    })?;
    Ok(cfg.ui.theme)
}

/// The configuration's theme, if the file exists; an unreadable or
/// invalid file is an error.
pub fn read_config() -> Result<Option<(String, PathBuf)>> {
    let Some(path) = config_file().filter(|p| p.exists()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(config_theme(&text, &path)?.map(|t| (t, path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_env_beats_config_beats_default() {
        let p = Path::new("/c.toml");
        let cfg = Some(("frappe", p));
        assert_eq!(
            resolve(Some("latte"), Some("macchiato"), cfg).0.name,
            "latte"
        );
        assert_eq!(resolve(None, Some("macchiato"), cfg).0.name, "macchiato");
        assert_eq!(resolve(None, None, cfg).0.name, "frappe");
        assert_eq!(resolve(None, None, None), (DEFAULT, None));
    }

    #[test]
    fn unknown_theme_falls_back_to_mocha_naming_its_source() {
        let (t, w) = resolve(None, Some("neon"), None);
        assert_eq!(t.name, "mocha");
        let w = w.unwrap();
        assert!(w.contains("'neon'") && w.contains("NONO_THEME") && w.contains("tokyo-night"));
        let (_, w) = resolve(None, None, Some(("x", Path::new("/c.toml"))));
        assert!(w.unwrap().contains("[ui] theme in /c.toml"));
    }

    #[test]
    fn no_color_always_wins_and_only_terminals_get_colour() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some("")));
        assert!(!colour_wanted(true, Some("1")));
        assert!(!colour_wanted(false, None));
    }

    #[test]
    fn themes_paint_differently_and_minimal_has_no_colour() {
        let m = Theme::named("mocha").unwrap().paint(Role::Error, "x");
        let l = Theme::named("latte").unwrap().paint(Role::Error, "x");
        assert!(m.contains("38;2;243;139;168") && m != l);
        let min = Theme::named("minimal").unwrap();
        assert_eq!(min.paint(Role::Error, "x"), "\x1b[1mx\x1b[0m");
        assert_eq!(min.paint(Role::Subtle, "x"), "x");
    }

    #[test]
    fn config_errors_name_file_line_column_and_field() {
        let f = Path::new("/h/config.toml");
        let e = config_theme("[ui]\ntheme = \"latte\"\ncolour = 1\n", f).unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("/h/config.toml:3:1: field 'ui.colour': unknown field `colour`"),
            "{e}"
        );
        assert!(e.contains("colour"), "{e}");
        let e = config_theme("[ui]\ntheme = 3\n", f)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/h/config.toml:2:9: field 'ui.theme'"), "{e}");
        let e = config_theme("[ui\n", f).unwrap_err().to_string();
        assert!(e.starts_with("/h/config.toml:1:"), "{e}");
        let ok = config_theme(
            "[redaction]\nextra_flags = [\"--x\"]\n[rollback]\nmax_sessions = 3\n[ui]\ntheme = \"frappe\"\n",
            f,
        )
        .unwrap();
        assert_eq!(ok.as_deref(), Some("frappe"));
    }

    #[test]
    fn unknown_config_sections_and_keys_are_errors() {
        let f = Path::new("/h/config.toml");
        let e = config_theme("[bogus]\nx = 1\n", f).unwrap_err().to_string();
        assert!(
            e.starts_with("/h/config.toml:1:2: field 'bogus': unknown field `bogus`"),
            "{e}"
        );
        assert!(e.contains("redaction, rollback"), "{e}");
        let e = config_theme("[redaction]\nextra_flag = [\"--x\"]\n", f)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/h/config.toml:2:1: field 'redaction.extra_flag'")
                && e.contains("did you mean `extra_flags`"),
            "{e}"
        );
        let e = config_theme("[ui]\ntheme = 5\n", f)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("expected text in quotes (e.g. \"…\"), found the number 5"),
            "{e}"
        );
    }
}

//! The colour theme: `--theme` over `NONO_THEME` over `[ui] theme` in the
//! user's configuration; colour only on a terminal; `NO_COLOR` wins.

use std::process::{Command, Stdio};
use std::time::Duration;

use nono_e2e::term::Term;
use nono_e2e::{nono_bin, Scratch};

/// Red of each theme's error prefix, as in the escape sequence.
const LATTE_RED: &str = "38;2;210;15;57m";
const MOCHA_RED: &str = "38;2;243;139;168m";
const TOKYO_RED: &str = "38;2;247;118;142m";
const FRAPPE_RED: &str = "38;2;231;130;132m";

/// A nono error (a grant of a missing directory), with the configuration
/// directory in `dir` and the extra environment `env`.
fn failing(dir: &Scratch, theme: Option<&str>, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(nono_bin());
    if let Some(t) = theme {
        c.args(["--theme", t]);
    }
    c.args(["run", "--allow", "/nonexistent-nono-theme", "--", "true"])
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env_remove("NO_COLOR")
        .env_remove("NONO_THEME")
        .envs(env.iter().copied());
    c
}

/// Run on a terminal: exit status and what the terminal showed.
fn on_terminal(cmd: Command) -> (Option<i32>, String) {
    Term::spawn(cmd).finish(Duration::from_secs(20))
}

fn config(dir: &Scratch, text: &str) {
    std::fs::create_dir_all(dir.join("cfg/nono")).unwrap();
    std::fs::write(dir.join("cfg/nono/config.toml"), text).unwrap();
}

#[test]
fn flag_env_and_config_choose_the_theme_in_that_order() {
    let d = Scratch::new();
    let (code, screen) = on_terminal(failing(&d, None, &[]));
    assert_eq!(code, Some(1), "{screen:?}");
    assert!(screen.contains(MOCHA_RED), "default is mocha: {screen:?}");
    config(&d, "[ui]\ntheme = \"tokyo-night\"\n");
    let (_, screen) = on_terminal(failing(&d, None, &[]));
    assert!(screen.contains(TOKYO_RED), "config: {screen:?}");
    let (_, screen) = on_terminal(failing(&d, None, &[("NONO_THEME", "frappe")]));
    assert!(screen.contains(FRAPPE_RED), "env over config: {screen:?}");
    let (_, screen) = on_terminal(failing(&d, Some("latte"), &[("NONO_THEME", "frappe")]));
    assert!(screen.contains(LATTE_RED), "flag over env: {screen:?}");
}

#[test]
fn no_color_and_pipes_get_plain_text() {
    let d = Scratch::new();
    let (code, screen) = on_terminal(failing(&d, Some("latte"), &[("NO_COLOR", "1")]));
    assert_eq!(code, Some(1));
    assert!(screen.contains("nono: "), "{screen:?}");
    assert!(!screen.contains('\x1b'), "NO_COLOR wins: {screen:?}");
    let o = failing(&d, Some("latte"), &[])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.starts_with("nono: ") && !err.contains('\x1b'),
        "{err:?}"
    );
}

#[test]
fn unknown_theme_warns_and_falls_back_to_mocha() {
    let d = Scratch::new();
    let (_, screen) = on_terminal(failing(&d, Some("neon"), &[]));
    assert!(
        screen.contains("unknown theme 'neon' (--theme); using mocha"),
        "{screen:?}"
    );
    assert!(screen.contains(MOCHA_RED), "{screen:?}");
    let (_, screen) = on_terminal(failing(&d, Some("minimal"), &[]));
    assert!(
        screen.contains("\x1b[1mnono:") && !screen.contains("38;2;"),
        "{screen:?}"
    );
}

#[test]
fn invalid_configuration_names_file_line_column_and_field() {
    let d = Scratch::new();
    config(&d, "[ui]\ntheme = \"latte\"\ncolour = true\n");
    let o = failing(&d, None, &[]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "{}:3:1: field 'ui.colour': unknown field `colour`",
        d.join("cfg/nono/config.toml").display()
    );
    assert!(err.contains(&want), "{err:?}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
}

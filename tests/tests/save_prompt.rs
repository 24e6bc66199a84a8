//! The save prompt after the diagnostic footer, on a real terminal: "y"
//! writes the suggested grant into a user profile that then makes the
//! same call succeed; "s" lists the path in the profile's
//! `filesystem.suppress_save_prompt`, after which it is not offered again;
//! `NONO_NO_SAVE_PROMPT=1` and `--suppress-save-prompt` keep it quiet
//! (the footer stays).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use nono_e2e::term::Term;
use nono_e2e::{nono_bin, Scratch};

const LIMIT: Duration = Duration::from_secs(30);
const QUESTION: &str = "save the suggested grants to a user profile?";

struct World {
    home: Scratch,
    dir: Scratch,
    file: PathBuf,
}

impl World {
    fn new() -> World {
        let home = Scratch::new();
        let dir = Scratch::new();
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        World { home, dir, file }
    }

    fn script(&self, code: i32) -> String {
        format!("chmod 600 {}; exit {code}", self.file.display())
    }

    fn nono(&self, flags: &[&str], code: i32) -> Command {
        let mut c = Command::new(nono_bin());
        c.arg("run")
            .args(flags)
            .args(["--", "/bin/sh", "-c", &self.script(code)])
            .env("HOME", &self.home.path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NONO_PROFILE")
            .env_remove("NONO_NO_SAVE_PROMPT");
        c
    }

    fn profile(&self) -> PathBuf {
        self.home.join(".config/nono/profiles/sh.json")
    }

    fn saved(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.profile()).unwrap();
        serde_json::from_str(&text).expect(&text)
    }

    /// A failing run on a terminal: the footer, then the prompt or not.
    fn failing_run(&self, cmd: Command, answer: Option<&str>) -> String {
        let mut t = Term::spawn(cmd);
        t.expect("exited with status 4", LIMIT);
        if let Some(a) = answer {
            t.expect("choice [y/s/N]", LIMIT);
            t.type_in(a.as_bytes());
        }
        let (code, screen) = t.finish(LIMIT);
        assert_eq!(code, Some(4), "{screen}");
        screen
    }
}

#[test]
fn yes_saves_the_grant_into_a_profile_that_makes_the_call_work() {
    let w = World::new();
    let screen = w.failing_run(w.nono(&[], 4), Some("y\n"));
    assert!(screen.contains(QUESTION), "{screen}");
    let f = w.file.display().to_string();
    assert!(
        screen.contains(&format!("filesystem.write_file {f}")),
        "{screen}"
    );
    assert!(screen.contains("--profile sh"), "{screen}");
    let v = w.saved();
    assert_eq!(v["extends"], "default", "{v}");
    assert_eq!(v["filesystem"]["write_file"], serde_json::json!([f]), "{v}");
    // The saved profile grants what the footer suggested: the same chmod works.
    let ok = w
        .nono(&["--profile", "sh"], 0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn suppress_lists_the_path_and_it_is_not_offered_again() {
    let w = World::new();
    let screen = w.failing_run(w.nono(&[], 4), Some("s\n"));
    assert!(screen.contains(QUESTION), "{screen}");
    let v = w.saved();
    let f = w.file.display().to_string();
    assert_eq!(
        v["filesystem"]["suppress_save_prompt"],
        serde_json::json!([f]),
        "{v}"
    );
    assert!(v["filesystem"].get("write_file").is_none(), "{v}");
    // With that profile: the footer still, the question no more.
    let screen = w.failing_run(w.nono(&["--profile", "sh"], 4), None);
    assert!(screen.contains(&format!("--write-file {f}")), "{screen}");
    assert!(!screen.contains(QUESTION), "{screen}");
}

#[test]
fn env_and_flag_keep_the_prompt_away_but_not_the_footer() {
    let w = World::new();
    let mut quiet = w.nono(&[], 4);
    quiet.env("NONO_NO_SAVE_PROMPT", "1");
    let screen = w.failing_run(quiet, None);
    assert!(!screen.contains(QUESTION), "{screen}");
    let dir = w.dir.path.display().to_string();
    let screen = w.failing_run(w.nono(&["--suppress-save-prompt", &dir], 4), None);
    assert!(screen.contains("--write-file"), "{screen}");
    assert!(!screen.contains(QUESTION), "{screen}");
    // Control: the same run without either asks.
    let screen = w.failing_run(w.nono(&[], 4), Some("n\n"));
    assert!(screen.contains(QUESTION), "{screen}");
    assert!(!w.profile().exists(), "'no' writes nothing");
}

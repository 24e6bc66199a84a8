//! The review after `nono run --rollback` on a real pseudo-terminal: the
//! changes as a tree with diffs of text files, then restore all, some (by
//! number) or none; without a terminal, a line saying how to restore later.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use nono_e2e::term::Term;
use nono_e2e::{nono_bin, Scratch};

const LIMIT: Duration = Duration::from_secs(30);
const PROMPT: &str = "restore [a]ll, [n]one, or some";
/// Modify a.txt, create new.txt and sub/inner.txt, delete gone.txt.
const CHANGES: &str = "printf 'alpha\\nBETA\\n' > a.txt; echo fresh > new.txt; \
     mkdir sub; echo inner > sub/inner.txt; rm gone.txt";

struct Env {
    _dir: Scratch,
    home: PathBuf,
    proj: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = Scratch::new();
        let (home, proj) = (dir.join("home"), dir.join("proj"));
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&proj).unwrap();
        fs::write(proj.join("a.txt"), "alpha\nbeta\n").unwrap();
        fs::write(proj.join("gone.txt"), "delete me\n").unwrap();
        Env {
            _dir: dir,
            home,
            proj,
        }
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(nono_bin());
        let p = self.proj.display().to_string();
        c.args(["run", "--allow", &p, "--rollback"])
            .args(extra)
            .args(["--", "/bin/sh", "-c", CHANGES])
            .current_dir(&self.proj)
            .env("HOME", &self.home)
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NONO_PROFILE")
            .env_remove("NONO_ALLOW");
        c
    }

    fn read(&self, p: &str) -> Option<String> {
        fs::read_to_string(self.proj.join(p)).ok()
    }

    /// Run on a terminal, answer the review with `answer`; the screen.
    fn review(&self, answer: &str) -> String {
        let mut t = Term::spawn(self.command(&[]));
        t.expect(PROMPT, LIMIT);
        t.type_in(format!("{answer}\r").as_bytes());
        let (code, screen) = t.finish(LIMIT);
        assert_eq!(code, Some(0), "{screen}");
        screen
    }
}

/// The number the review gave `name` ("[  3]   name  (created)").
fn number(screen: &str, name: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(&format!(" {name}  (")) && l.contains('['))
        .and_then(|l| l.split(']').next())
        .map(|n| {
            n.trim_start_matches(|c| c != '[')
                .trim_matches(['[', ' '])
                .to_string()
        })
        .unwrap_or_else(|| panic!("{name} is not listed: {screen}"))
}

#[test]
fn the_review_shows_a_tree_with_diffs_and_restores_all() {
    let e = Env::new();
    let screen = e.review("a");
    for want in [
        "the command changed 5 path(s)",
        "a.txt  (modified)",
        "new.txt  (created)",
        "sub/  (created)",
        "inner.txt  (created)",
        "gone.txt  (deleted)",
        "-beta",
        "+BETA",
        "+fresh",
        "-delete me",
    ] {
        assert!(screen.contains(want), "{want:?} missing: {screen}");
    }
    // inner.txt is shown below sub/, indented further.
    let indent = |name: &str| {
        let l = screen
            .lines()
            .find(|l| l.contains(&format!(" {name}  (")))
            .unwrap();
        l.find(name).unwrap()
    };
    assert!(indent("inner.txt") > indent("sub/"), "{screen}");
    assert_eq!(e.read("a.txt").as_deref(), Some("alpha\nbeta\n"));
    assert_eq!(e.read("gone.txt").as_deref(), Some("delete me\n"));
    assert_eq!(e.read("new.txt"), None);
    assert!(!e.proj.join("sub").exists());
}

#[test]
fn the_review_restores_only_the_chosen_changes() {
    let e = Env::new();
    let mut t = Term::spawn(e.command(&[]));
    t.expect(PROMPT, LIMIT);
    let (a, gone) = (number(&t.screen, "a.txt"), number(&t.screen, "gone.txt"));
    t.type_in(format!("{a},{gone}\r").as_bytes());
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(
        e.read("a.txt").as_deref(),
        Some("alpha\nbeta\n"),
        "{screen}"
    );
    assert_eq!(e.read("gone.txt").as_deref(), Some("delete me\n"));
    assert_eq!(e.read("new.txt").as_deref(), Some("fresh\n"), "kept");
    assert_eq!(e.read("sub/inner.txt").as_deref(), Some("inner\n"), "kept");
    assert!(screen.contains("nono rollback restore"), "{screen}");
}

#[test]
fn the_review_restores_nothing_when_told_none() {
    let e = Env::new();
    let screen = e.review("n");
    assert!(screen.contains("nothing restored"), "{screen}");
    assert!(screen.contains("nono rollback restore"), "{screen}");
    assert_eq!(e.read("a.txt").as_deref(), Some("alpha\nBETA\n"));
    assert_eq!(e.read("new.txt").as_deref(), Some("fresh\n"));
    assert_eq!(e.read("gone.txt"), None);
}

#[test]
fn no_review_without_a_terminal_or_with_no_rollback_prompt() {
    let e = Env::new();
    let o = e.command(&[]).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains(PROMPT), "{err}");
    assert!(err.contains("undo with: nono rollback restore"), "{err}");
    assert_eq!(e.read("a.txt").as_deref(), Some("alpha\nBETA\n"));
    // On a terminal, --no-rollback-prompt skips it too.
    let e = Env::new();
    let t = Term::spawn(e.command(&["--no-rollback-prompt"]));
    let (code, screen) = t.finish(LIMIT);
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains(PROMPT), "{screen}");
    assert!(
        screen.contains("undo with: nono rollback restore"),
        "{screen}"
    );
}

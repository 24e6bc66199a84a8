//! `nono why --op connect|bind` must agree with the broker, which judges
//! every pathname unix-socket connect(2)/bind(2) in `nono run`. Over a tree
//! of listening sockets (direct and nested, reached through symlinks, `..`
//! and a symlinked directory, a regular file, a missing path) and three
//! contexts (one of each grant kind; one subtree-bind grant with the
//! network blocked; none), every query is asked of `why` and attempted in
//! a real sandbox; then every flag `why` suggests is applied and must make
//! the attempt succeed.

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;

use nono_e2e::whydiff;
use nono_e2e::Scratch;

/// The tree and its listening sockets (held open for the test).
fn tree() -> (Scratch, Vec<UnixListener>) {
    let h = Scratch::new();
    for d in ["d/sub", "t/sub", "db", "other", "links"] {
        fs::create_dir_all(h.join(d)).unwrap();
    }
    let listeners = [
        "a.sock",
        "c.sock",
        "d/x.sock",
        "d/sub/y.sock",
        "t/sub/z.sock",
        "db/w.sock",
        "other/o.sock",
    ]
    .iter()
    .map(|s| UnixListener::bind(h.join(s)).unwrap())
    .collect();
    fs::write(h.join("plain.txt"), "not a socket").unwrap();
    symlink(h.join("a.sock"), h.join("links/to_a")).unwrap();
    symlink(h.join("c.sock"), h.join("t/link_out")).unwrap();
    symlink(h.join("d"), h.join("t/dirlink")).unwrap();
    (h, listeners)
}

fn batch(h: &Scratch) -> Vec<(String, String)> {
    let connect = [
        "a.sock",
        "c.sock",
        "d/x.sock",
        "d/sub/y.sock",
        "t/sub/z.sock",
        "db/w.sock",
        "other/o.sock",
        "links/to_a",
        "t/link_out",
        "t/dirlink/x.sock",
        "d/../a.sock",
        "t/sub/../../c.sock",
        "missing.sock",
        "plain.txt",
    ];
    let bind = [
        "b.sock",
        "new.sock",
        "d/new.sock",
        "db/new.sock",
        "t/new.sock",
        "t/sub/new.sock",
        "other/new.sock",
        "db/../new2.sock",
        "t/dirlink/new3.sock",
        "links/new.sock",
    ];
    let q = |op: &str, r: &&str| (op.to_string(), h.join(r).display().to_string());
    connect
        .iter()
        .map(|r| q("connect", r))
        .chain(bind.iter().map(|r| q("bind", r)))
        .collect()
}

fn contexts(h: &Scratch) -> Vec<Vec<String>> {
    let p = |r: &str| h.join(r).display().to_string();
    let each_kind = vec![
        "--allow-unix-socket".into(),
        p("a.sock"),
        "--allow-unix-socket-bind".into(),
        p("b.sock"),
        "--allow-unix-socket-dir".into(),
        p("d"),
        "--allow-unix-socket-dir-bind".into(),
        p("db"),
        "--allow-unix-socket-subtree".into(),
        p("t"),
    ];
    let subtree_bind = vec![
        "--block-net".into(),
        "--allow-unix-socket-subtree-bind".into(),
        p("t"),
    ];
    vec![each_kind, subtree_bind, Vec::new()]
}

#[test]
fn why_agrees_with_the_broker_on_unix_sockets() {
    let (h, _listeners) = tree();
    // `$HOME` elsewhere: a grant of the tree's root (a bind grant's
    // directory) must not contain the home's protected paths.
    let home = Scratch::new();
    let mut compared = 0;
    let (mut allowed, mut denied) = (0, 0);
    let mut all = Vec::new();
    let mut failures = Vec::new();
    let mut applied = 0;
    for flags in contexts(&h) {
        let o = whydiff::compare(&home, &flags, &batch(&h));
        compared += o.compared;
        denied += o.denials.len();
        allowed += o.compared - o.disagreements.len() - o.denials.len();
        all.extend(o.disagreements.iter().cloned());
        applied += whydiff::check_suggestions(&home, &flags, &o, &mut failures);
    }
    assert!(
        all.is_empty(),
        "{} disagreement(s):\n{}",
        all.len(),
        all.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} suggestion(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Both answers must occur, or the comparison proves nothing.
    assert!(
        allowed >= 10 && denied >= 10,
        "allowed {allowed}, denied {denied}"
    );
    assert!(applied >= 10, "only {applied} suggestions applied");
    eprintln!(
        "compared {compared} unix-socket queries ({allowed} allowed, {denied} denied), \
         0 disagreements; applied {applied} suggested flags, all effective"
    );
}

/// `why --self` inside the sandbox answers from the session's own grants.
#[test]
fn why_self_knows_the_unix_grants() {
    let (h, _listeners) = tree();
    let a = h.join("a.sock").display().to_string();
    let c = h.join("c.sock").display().to_string();
    let nono = nono_e2e::nono_bin().display().to_string();
    let script = format!(
        "{nono} why --self --json --path {a} --op connect; \
         {nono} why --self --json --path {c} --op connect; true"
    );
    let ran = nono_e2e::run_sh(
        &["--allow-unix-socket", &a, "--read-file", &nono],
        &[],
        &script,
    );
    let lines: Vec<serde_json::Value> = ran
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 2, "{ran:?}");
    assert_eq!(lines[0]["status"], "allowed", "{}", lines[0]);
    assert_eq!(lines[0]["source"], "user", "{}", lines[0]);
    assert_eq!(lines[1]["status"], "denied", "{}", lines[1]);
    assert_eq!(
        lines[1]["suggested_flag"],
        format!("--allow-unix-socket {c}"),
        "{}",
        lines[1]
    );
}

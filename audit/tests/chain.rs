//! The integrity layer against edits, deletions and reordering on disk.

#![allow(clippy::unwrap_used)]
use audit::{verify, Policy, Recorder, Session};

fn record(dir: &std::path::Path) -> Session {
    let id = "20260216-193311-20751";
    let mut r = Recorder::create(dir, id, Policy::default(), true).unwrap();
    for i in 0..4 {
        r.append(
            "brokered",
            serde_json::json!({"op": "connect", "path": format!("/s{i}"), "allowed": i % 2 == 0}),
        )
        .unwrap();
    }
    let s = Session {
        version: 1,
        id: id.into(),
        name: "t".into(),
        command: vec!["x".into()],
        workdir: "/".into(),
        profile: None,
        started: "2026-02-16T19:33:11Z".into(),
        ended: Some("2026-02-16T19:33:12Z".into()),
        exit_status: Some(0),
        helpers: Default::default(),
        integrity: r.summary(),
        redaction_diff: vec![],
        attestation: None,
        snapshots: None,
    };
    s.save(dir, &Policy::default()).unwrap();
    s
}

fn lines(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("audit-events.ndjson"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn put(dir: &std::path::Path, l: &[String]) {
    std::fs::write(dir.join("audit-events.ndjson"), l.join("\n") + "\n").unwrap();
}

#[test]
fn intact_log_verifies() {
    let d = tempfile::tempdir().unwrap();
    record(d.path());
    let r = verify::verify(d.path()).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.events, 4);
}

#[test]
fn edit_names_event_and_field() {
    let d = tempfile::tempdir().unwrap();
    record(d.path());
    let mut l = lines(d.path());
    l[2] = l[2].replace("/s2", "/evil");
    put(d.path(), &l);
    let r = verify::verify(d.path()).unwrap();
    let p = &r.problems[0];
    assert_eq!(
        (p.event, p.field.as_deref()),
        (Some(2), Some("data.path")),
        "{:?}",
        r.problems
    );
    assert!(p.what.contains("edited"));
}

#[test]
fn deletion_and_reordering_are_named() {
    let d = tempfile::tempdir().unwrap();
    record(d.path());
    let mut l = lines(d.path());
    l.remove(1);
    put(d.path(), &l);
    let r = verify::verify(d.path()).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.event == Some(1) && p.what.contains("missing")),
        "{:?}",
        r.problems
    );

    let d = tempfile::tempdir().unwrap();
    record(d.path());
    let mut l = lines(d.path());
    l.swap(1, 2);
    put(d.path(), &l);
    let r = verify::verify(d.path()).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.event == Some(1) && p.what.contains("out of order")),
        "{:?}",
        r.problems
    );

    let d = tempfile::tempdir().unwrap();
    record(d.path());
    let mut l = lines(d.path());
    l.pop();
    put(d.path(), &l);
    let r = verify::verify(d.path()).unwrap();
    assert!(
        r.problems.iter().any(|p| p.event == Some(3)),
        "{:?}",
        r.problems
    );
}

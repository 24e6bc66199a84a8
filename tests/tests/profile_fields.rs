//! Profile fields of the shared format that Linux fixes or ignores: a value
//! nono cannot honour fails `run` and `profile validate` alike, naming
//! file:line:column; a field without effect warns.

use nono_e2e::{nono, Scratch};

#[test]
fn signal_mode_nono_cannot_honour_is_refused_by_run_and_validate() {
    let d = Scratch::new();
    let f = d.join("p.toml");
    std::fs::write(
        &f,
        "extends = \"default\"\n[security]\nsignal_mode = \"allow_all\"\n",
    )
    .unwrap();
    let f = f.display().to_string();
    let want = format!("{f}:3:15: security.signal_mode: \"allow_all\" cannot be honoured");
    for args in [
        vec!["run", "--profile", &f, "--", "true"],
        vec!["profile", "validate", &f],
    ] {
        let r = nono(&args);
        assert_eq!(r.code, Some(1), "{args:?}: {r:?}");
        assert!(r.stderr.contains(&want), "{args:?}: {r:?}");
    }
}

#[test]
fn fields_without_effect_on_linux_warn_and_run() {
    let d = Scratch::new();
    let f = d.join("p.toml");
    std::fs::write(
        &f,
        "extends = \"default\"\n[security]\nsignal_mode = \"isolated\"\nipc_mode = \"full\"\n",
    )
    .unwrap();
    let f = f.display().to_string();
    let r = nono(&["run", "--profile", &f, "--", "true"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let want = format!("warning: {f}:4:1: security.ipc_mode has no effect on Linux");
    assert!(r.stderr.contains(&want), "{r:?}");
}

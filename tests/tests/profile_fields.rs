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

#[test]
fn policy_deny_access_is_enforced_and_deny_unlink_refused() {
    let d = Scratch::new();
    std::fs::write(d.join("secret"), "S").unwrap();
    std::fs::write(d.join("open"), "O").unwrap();
    let f = d.join("p.toml");
    let text = format!(
        "extends = \"default\"\n[policy.deny]\naccess = [\"{}\"]\n",
        d.join("secret").display()
    );
    std::fs::write(&f, text).unwrap();
    let f = f.display().to_string();
    let read = |name: &str| {
        let target = d.join(name).display().to_string();
        nono_e2e::run(&["--profile", &f, "--read", &d.s()], &["read", &target])
    };
    assert!(read("open").is_ok(), "{:?}", read("open"));
    let denied = read("secret");
    assert!(denied.is_err(Some(libc::EACCES)), "{denied:?}");
    std::fs::write(&f, "extends = \"default\"\n[policy.deny]\nunlink = true\n").unwrap();
    let r = nono(&["profile", "validate", &f]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "{f}:3:1: policy.deny.unlink = true cannot be enforced"
        )),
        "{r:?}"
    );
}

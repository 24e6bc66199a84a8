//! User-defined policy groups (`~/.config/nono/groups.toml`): included by
//! name, enforced inside the sandbox; always-on user groups only protect.

use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, probe_bin, Scratch};

/// `nono run` with the probe, the configuration directory in `cfg`.
fn run(cfg: &Scratch, flags: &[&str], probe: &[&str]) -> nono_e2e::Ran {
    let o = Command::new(nono_bin())
        .arg("run")
        .args(flags)
        .arg("--read-file")
        .arg(probe_bin())
        .arg("--")
        .arg(probe_bin())
        .args(probe)
        .env("XDG_CONFIG_HOME", cfg.join("cfg"))
        .env_remove("NONO_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    nono_e2e::Ran {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The configuration directory, with `groups.toml` holding `groups`.
fn setup(groups: &str) -> Scratch {
    let cfg = Scratch::new();
    std::fs::create_dir_all(cfg.join("cfg/nono")).unwrap();
    std::fs::write(cfg.join("cfg/nono/groups.toml"), groups).unwrap();
    cfg
}

#[test]
fn a_profile_including_a_user_group_gets_its_grants() {
    let data = Scratch::new();
    std::fs::write(data.join("file"), "DATA").unwrap();
    let groups = format!(
        "[groups.my_data]\ndescription = \"my data\"\nread = [\"{}\"]\n",
        data.s()
    );
    let cfg = setup(&groups);
    let prof = cfg.join("p.toml");
    std::fs::write(
        &prof,
        "extends = \"default\"\n[security]\ngroups = [\"my_data\"]\n",
    )
    .unwrap();
    let file = data.join("file").display().to_string();
    let with = run(
        &cfg,
        &["--profile", &prof.display().to_string()],
        &["read", &file],
    );
    assert!(with.is_ok() && with.stdout.contains("DATA"), "{with:?}");
    let without = run(&cfg, &[], &["read", &file]);
    assert!(without.is_err(Some(libc::EACCES)), "{without:?}");
    let listed = Command::new(nono_bin())
        .args(["profile", "groups"])
        .env("XDG_CONFIG_HOME", cfg.join("cfg"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("my_data") && l.ends_with("(user)")),
        "{listed}"
    );
}

#[test]
fn an_always_on_user_group_protects_inside_every_grant() {
    let data = Scratch::new();
    std::fs::write(data.join("file"), "DATA").unwrap();
    std::fs::create_dir(data.join("keys")).unwrap();
    std::fs::write(data.join("keys/k"), "KEY").unwrap();
    let cfg = setup(&format!(
        "[groups.my_keys]\ndescription = \"keys\"\nrequired = true\n\
         deny = [{{ path = \"{}/keys\", category = \"my keys\" }}]\n",
        data.s()
    ));
    let ok = run(
        &cfg,
        &["--read", &data.s()],
        &["read", &data.join("file").display().to_string()],
    );
    assert!(ok.is_ok(), "{ok:?}");
    let key = run(
        &cfg,
        &["--read", &data.s()],
        &["read", &data.join("keys/k").display().to_string()],
    );
    assert!(key.is_err(Some(libc::EACCES)), "{key:?}");
}

#[test]
fn a_bad_user_groups_file_stops_every_launch_naming_the_place() {
    let cfg = setup("[groups.all]\ndescription = \"x\"\nrequired = true\nreadwrite = [\"/\"]\n");
    let r = run(&cfg, &[], &["exit", "0"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    let want = format!(
        "{}:3:1: groups.all.required",
        cfg.join("cfg/nono/groups.toml").display()
    );
    assert!(r.stderr.contains(&want), "{r:?}");
}

//! `--allow-gpu`: the GPU group's device and sysfs rules appear only with
//! the flag, a profile must opt in, and the sandbox enforces the grant.

use std::path::Path;

use nono_e2e::{nono, run_sh, Scratch};

const DEVICE_RULES: [&str; 6] = [
    "[gpu] [rw] /dev/dri/renderD*",
    "[gpu] [rw] /dev/nvidia[0-9]*",
    "[gpu] [rw] /dev/nvidiactl",
    "[gpu] [rw] /dev/nvidia-uvm",
    "[gpu] [rw] /dev/kfd",
    "[gpu] [rw] /dev/dxg",
];

#[test]
fn dry_run_shows_the_gpu_rules_only_with_the_flag() {
    let with = nono(&["run", "--allow-gpu", "--dry-run", "--", "true"]);
    assert_eq!(with.code, Some(0), "{with:?}");
    for rule in DEVICE_RULES {
        assert!(
            with.stdout.contains(rule),
            "missing {rule}: {}",
            with.stdout
        );
    }
    assert!(with.stdout.contains("[gpu] [r-] /sys/class/drm/*/device"));
    assert!(with
        .stdout
        .contains("[gpu] [r-] /dev/nvidia-caps/nvidia-cap*"));
    assert!(
        !with.stdout.contains("/dev/dri/card"),
        "primary nodes are never granted"
    );
    let without = nono(&["run", "--dry-run", "--", "true"]);
    assert_eq!(without.code, Some(0), "{without:?}");
    assert!(!without.stdout.contains("[gpu]") && !without.stdout.contains("gpu_linux"));
}

#[test]
fn a_profile_must_opt_in() {
    let r = nono(&[
        "run",
        "--profile",
        "claude-code",
        "--allow-gpu",
        "--dry-run",
        "--",
        "true",
    ]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("--allow-gpu: profile claude-code does not opt into GPU access")
            && r.stderr.contains("security.allow_gpu = true"),
        "{r:?}"
    );
    let d = Scratch::new();
    let file = d.join("gpu.toml");
    std::fs::write(
        &file,
        "extends = \"default\"\n[security]\nallow_gpu = true\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let r = nono(&[
        "run",
        "--profile",
        &file,
        "--allow-gpu",
        "--dry-run",
        "--",
        "true",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.contains("[gpu] [rw] /dev/kfd"), "{}", r.stdout);
    let r = nono(&["run", "--profile", &file, "--dry-run", "--", "true"]);
    assert!(
        !r.stdout.contains("[gpu]"),
        "the opt-in alone grants nothing"
    );
}

#[test]
fn gpu_sysfs_is_readable_only_with_the_flag() {
    let script = "ls /sys/dev/char >/dev/null && echo LISTED";
    let denied = run_sh(&[], &[], script);
    assert_ne!(denied.code, Some(0), "{denied:?}");
    assert!(denied.stderr.contains("Permission denied"), "{denied:?}");
    let allowed = run_sh(&["--allow-gpu"], &[], script);
    assert_eq!(allowed.code, Some(0), "{allowed:?}");
    assert!(allowed.stdout.contains("LISTED"), "{allowed:?}");
}

#[test]
fn render_nodes_are_denied_without_the_flag() {
    let Some(node) = std::fs::read_dir("/dev/dri").ok().and_then(|d| {
        d.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("renderD"))
        })
    }) else {
        eprintln!("no /dev/dri/renderD* on this machine: the denial is covered by the rules test");
        return;
    };
    assert!(Path::new(&node).exists());
    let script = format!("exec 3<>{} && echo OPENED", node.display());
    let denied = run_sh(&[], &[], &script);
    assert!(!denied.stdout.contains("OPENED"), "{denied:?}");
    assert!(denied.stderr.contains("Permission denied"), "{denied:?}");
}

#[test]
fn why_names_allow_gpu_for_gpu_paths_and_agrees_with_the_sandbox() {
    let r = nono(&[
        "why",
        "--json",
        "--path",
        "/dev/dri/renderD128",
        "--op",
        "readwrite",
    ]);
    assert_eq!(r.code, Some(1), "why exits 1 on a denial: {r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["status"], "denied", "{v}");
    assert_eq!(v["suggested_flag"], "--allow-gpu", "{v}");
    let card = nono(&[
        "why",
        "--json",
        "--path",
        "/dev/dri/card0",
        "--op",
        "readwrite",
    ]);
    let v: serde_json::Value = serde_json::from_str(&card.stdout).unwrap();
    assert_ne!(
        v["suggested_flag"], "--allow-gpu",
        "primary nodes are not GPU compute: {v}"
    );
    let before = nono(&["why", "--json", "--path", "/sys/dev/char"]);
    let v: serde_json::Value = serde_json::from_str(&before.stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["suggested_flag"].as_str()),
        (Some("denied"), Some("--allow-gpu")),
        "{v}"
    );
    let after = nono(&["why", "--json", "--allow-gpu", "--path", "/sys/dev/char"]);
    let v: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(v["status"], "allowed", "{v}");
    let write = nono(&["why", "--json", "--path", "/sys/dev/char", "--op", "write"]);
    let v: serde_json::Value = serde_json::from_str(&write.stdout).unwrap();
    assert_ne!(
        v["suggested_flag"], "--allow-gpu",
        "GPU sysfs is read-only: {v}"
    );
}

//! `--write-file ./output.log` of a file that does not exist yet: created
//! empty and private (0600) in its existing directory and granted, only
//! when the session launches and after the policy was checked — never by
//! `--dry-run` or `why`, never in a protected directory, never through a
//! symbolic link.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use nono_e2e::{nono_bin, Scratch};

fn nono(dir: &Scratch, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(nono_bin())
        .args(args)
        .current_dir(&dir.path)
        .env("HOME", &dir.path)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_file_is_created_private_and_granted() {
    let dir = Scratch::new();
    let (code, out, err) = nono(
        &dir,
        &[
            "run",
            "--write-file",
            "./output.log",
            "--",
            "/bin/sh",
            "-c",
            "echo hello > output.log && echo wrote",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("wrote"), "{out}{err}");
    assert!(err.contains("created") && err.contains("0600"), "{err}");
    let path = dir.join("output.log");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Only that file: a sibling stays out of reach.
    let (code, _, _) = nono(
        &dir,
        &[
            "run",
            "-s",
            "--write-file",
            "./output.log",
            "--",
            "/bin/sh",
            "-c",
            "echo x > other.log",
        ],
    );
    assert_ne!(code, Some(0));
    assert!(!dir.join("other.log").exists());
}

#[test]
fn dry_run_and_why_create_nothing() {
    let dir = Scratch::new();
    let (code, out, err) = nono(
        &dir,
        &[
            "run",
            "--dry-run",
            "--write-file",
            "./planned.log",
            "--",
            "true",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("created empty (0600) at launch"), "{out}");
    let path = dir.join("planned.log");
    let (code, out, _) = nono(
        &dir,
        &[
            "why",
            "--write-file",
            "./planned.log",
            "--path",
            &path.display().to_string(),
            "--op",
            "write",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ALLOWED"), "{out}");
    assert!(!path.exists(), "a plan or a question created the file");
}

#[test]
fn refused_where_it_cannot_be_created_safely() {
    let dir = Scratch::new();
    std::fs::create_dir(dir.join(".ssh")).unwrap();
    // In a protected directory: refused before anything is created.
    let (code, _, err) = nono(
        &dir,
        &[
            "run",
            "--write-file",
            "./.ssh/authorized_keys",
            "--",
            "true",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("protected") && err.contains("--bypass-protection"),
        "{err}"
    );
    assert!(!dir.join(".ssh/authorized_keys").exists());
    // Its directory missing.
    let (code, _, err) = nono(
        &dir,
        &["run", "--write-file", "./nodir/x.log", "--", "true"],
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("create the directory first"), "{err}");
    // A dangling symbolic link is not followed to create its target.
    std::os::unix::fs::symlink(dir.join("elsewhere.log"), dir.join("link.log")).unwrap();
    let (code, _, err) = nono(&dir, &["run", "--write-file", "./link.log", "--", "true"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!dir.join("elsewhere.log").exists());
    // Reading a missing file stays an error.
    let (code, _, err) = nono(&dir, &["run", "--read-file", "./absent", "--", "true"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("does not exist"), "{err}");
}

/// A profile path that cannot be granted is never dropped without a word:
/// `--dry-run` lists it, `-v` says so at launch.
#[test]
fn unusable_profile_paths_are_reported() {
    let dir = Scratch::new();
    let profile = dir.join("p.json");
    std::fs::write(&profile, r#"{"filesystem":{"read":["/no/such/dir"]}}"#).unwrap();
    let p = profile.display().to_string();
    let (code, out, err) = nono(&dir, &["run", "--dry-run", "--profile", &p, "--", "true"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("[skipped] profile") && out.contains("/no/such/dir (does not exist)"),
        "{out}"
    );
    let (code, _, err) = nono(&dir, &["run", "-v", "--profile", &p, "--", "true"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("skipped profile") && err.contains("/no/such/dir"),
        "{err}"
    );
}

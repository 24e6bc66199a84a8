//! The broker's seccomp notifications: metadata changes Landlock does not
//! cover (chmod, chown, utimes, xattrs) happen only inside write grants,
//! performed by the broker on the object it resolved; outside they fail
//! and the file is unchanged, observed from outside.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

use nono_e2e::{nono_bin, Ran, Scratch};

fn shell(flags: &[&str], script: &str) -> Ran {
    let o = Command::new(nono_bin())
        .arg("run")
        .args(flags)
        .args(["--", "/bin/sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .expect("spawn nono");
    Ran {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn mtime(p: &std::path::Path) -> i64 {
    std::fs::metadata(p).unwrap().mtime()
}

#[test]
fn chmod_and_touch_outside_the_write_grants_fail_and_change_nothing() {
    let dir = Scratch::new();
    let (w, outside) = (dir.join("w"), dir.join("outside.txt"));
    std::fs::create_dir(&w).unwrap();
    let inside = w.join("inside.txt");
    for f in [&inside, &outside] {
        std::fs::write(f, "x").unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    // A symlink inside the grant pointing outside must not reach it either.
    std::os::unix::fs::symlink(&outside, w.join("link")).unwrap();
    let before = mtime(&outside);
    let (o, i, l) = (
        outside.display().to_string(),
        inside.display().to_string(),
        w.join("link").display().to_string(),
    );
    let script = format!(
        "chmod 0777 {o}; echo a=$?; touch -d 2001-01-01 {o}; echo b=$?; chmod 0777 {l}; echo c=$?; \
         python3 -c 'import os,sys; os.utime(sys.argv[1], (1,1))' {o} 2>/dev/null; echo d=$?; \
         python3 -c 'import os,sys; os.setxattr(sys.argv[1], \"user.nono\", b\"1\")' {o} 2>/dev/null; echo e=$?; \
         chmod 0600 {i}; echo f=$?; touch -d 2001-01-01 {i}; echo g=$?"
    );
    let r = shell(
        &["--allow", &w.display().to_string(), "--read", &dir.s()],
        &script,
    );
    for denied in ["a=1", "b=1", "c=1", "d=1", "e=1"] {
        assert!(r.stdout.contains(denied), "{denied}: {r:?}");
    }
    assert!(
        r.stdout.contains("f=0") && r.stdout.contains("g=0"),
        "{r:?}"
    );
    assert_eq!(mode(&outside), 0o640, "outside file mode unchanged");
    assert_eq!(mtime(&outside), before, "outside file time unchanged");
    assert!(xattr_absent(&outside));
    assert_eq!(
        mode(&inside),
        0o600,
        "inside the grant the broker performed it"
    );
    assert!(
        mtime(&inside) < 1_000_000_000 + 86_400 * 366,
        "inside time set to 2001"
    );
    assert!(r.stderr.contains("denied chmod on"), "{}", r.stderr);
}

fn xattr_absent(p: &std::path::Path) -> bool {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", "import os,sys; print(os.listxattr(sys.argv[1]))"])
        .arg(p)
        .output()
        .unwrap();
    !String::from_utf8_lossy(&out.stdout).contains("user.nono")
}

#[test]
fn chown_by_descriptor_outside_the_grants_is_refused() {
    let dir = Scratch::new();
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    let uid = std::fs::metadata(&f).unwrap().uid();
    // fchown to our own uid is a no-op the kernel would allow; the broker
    // must still refuse it outside the write grants.
    let script = format!(
        "python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fchown(fd, {uid}, -1)' {} 2>/dev/null; echo rc=$?",
        f.display()
    );
    let r = shell(&["--read", &dir.s()], &script);
    assert!(r.stdout.contains("rc=1"), "{r:?}");
    let r = shell(&["--allow", &dir.s()], &script);
    assert!(r.stdout.contains("rc=0"), "{r:?}");
}

//! Finding the program before the sandbox is applied, so "not found" and
//! "not executable" get precise messages and the right exit codes.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Exit code when the command exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit code when the command cannot be found.
pub const EXIT_NOT_FOUND: i32 = 127;

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Resolve `program` like `execvp` would, against the host's `PATH`.
/// `Err((code, message))`: nono should report it and exit with `code`.
pub fn find(program: &OsStr, path_var: Option<&OsString>) -> Result<PathBuf, (i32, String)> {
    let p = Path::new(program);
    if p.as_os_str().is_empty() {
        return Err((EXIT_NOT_FOUND, "empty command name".into()));
    }
    if p.components().count() > 1 || program.to_string_lossy().contains('/') {
        return check_explicit(p);
    }
    let search = path_var
        .cloned()
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut found_not_exec = None;
    for dir in std::env::split_paths(&search) {
        let cand = dir.join(p);
        if is_executable(&cand) {
            return Ok(cand);
        }
        if cand.is_file() && found_not_exec.is_none() {
            found_not_exec = Some(cand);
        }
    }
    Err(match found_not_exec {
        Some(c) => (
            EXIT_CANNOT_EXECUTE,
            format!("cannot execute {}: not executable", c.display()),
        ),
        None => (
            EXIT_NOT_FOUND,
            format!("command not found: {}", p.display()),
        ),
    })
}

fn check_explicit(p: &Path) -> Result<PathBuf, (i32, String)> {
    if !p.exists() {
        return Err((
            EXIT_NOT_FOUND,
            format!("command not found: {}", p.display()),
        ));
    }
    if !is_executable(p) {
        return Err((
            EXIT_CANNOT_EXECUTE,
            format!("cannot execute {}: not an executable file", p.display()),
        ));
    }
    Ok(std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_path_and_maps_missing_to_127() {
        let path: OsString = "/usr/bin:/bin".into();
        assert!(find(OsStr::new("sh"), Some(&path)).is_ok());
        assert_eq!(
            find(OsStr::new("no-such-cmd-xyz"), Some(&path)).map_err(|e| e.0),
            Err(127)
        );
        assert_eq!(
            find(OsStr::new("./no/such"), Some(&path)).map_err(|e| e.0),
            Err(127)
        );
    }

    #[test]
    fn non_executable_file_is_126() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("script");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        assert_eq!(find(f.as_os_str(), None).map_err(|e| e.0), Err(126));
    }
}

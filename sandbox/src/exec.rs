//! What a failed `execve` inside a sandbox means, as a shell would report it:
//! 127 when the program (or its interpreter) is not there, 126 when it
//! cannot be executed, with the directory a grant would have to cover (the
//! caller names its own flag); and the signal state the program starts with.

use std::ffi::CStr;
use std::path::Path;

use nix::errno::Errno;

/// The signal state a program expects from `execve`, as a shell leaves it:
/// SIGPIPE at its default action (so `yes | head -1` ends `yes` quietly
/// with status 141), SIGTTOU too, and an empty signal mask. Call it right
/// before exec.
pub fn default_signals() -> nix::Result<()> {
    crate::sys::signals_default()?;
    nix::sys::signal::SigSet::empty().thread_set_mask()
}

/// Why `execve(program)` failed, as a shell reports it. The caller adds
/// which of its grants would fix it ([`ExecFailure::dir_to_grant`]): this
/// library knows no flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecFailure {
    /// Permission denied inside the sandbox: its directory is not granted.
    Denied { program: String, dir: String },
    /// The program, its interpreter or loader is not there.
    NotFound { program: String },
    /// argv + environment exceed the kernel's limit for exec.
    TooBig { program: String },
    /// Anything else, with the kernel's words.
    Other { program: String, errno: Errno },
}

/// The failure of `execve(program)` with `errno`.
pub fn failure(program: &CStr, errno: Errno) -> ExecFailure {
    let program = program.to_string_lossy().into_owned();
    match errno {
        Errno::EACCES | Errno::EPERM => {
            let dir = Path::new(&program)
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            ExecFailure::Denied { program, dir }
        }
        Errno::ENOENT => ExecFailure::NotFound { program },
        Errno::E2BIG => ExecFailure::TooBig { program },
        errno => ExecFailure::Other { program, errno },
    }
}

impl ExecFailure {
    /// The exit status a shell would give: 127 not found, else 126.
    pub fn code(&self) -> i32 {
        match self {
            ExecFailure::NotFound { .. } => 127,
            ExecFailure::Denied { .. } | ExecFailure::TooBig { .. } | ExecFailure::Other { .. } => {
                126
            }
        }
    }

    /// The directory whose read grant would let the program run.
    pub fn dir_to_grant(&self) -> Option<&str> {
        match self {
            ExecFailure::Denied { dir, .. } => Some(dir),
            _ => None,
        }
    }
}

impl std::fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecFailure::Denied { program, .. } => {
                write!(f, "cannot execute {program}: permission denied inside the sandbox")
            }
            ExecFailure::NotFound { program } => write!(f, "cannot execute {program}: not found inside the sandbox (its interpreter or loader may be outside the grants)"),
            ExecFailure::TooBig { program } => write!(f, "cannot execute {program}: its arguments and environment exceed the kernel's limit for exec (128 KiB per string; all together a quarter of the stack size limit, see `ulimit -s`); pass less on the command line or in the environment"),
            ExecFailure::Other { program, errno } => {
                write!(f, "cannot execute {program}: {}", errno.desc())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_shell_convention() {
        let p = c"/opt/tool/bin/x";
        let denied = failure(p, Errno::EACCES);
        assert_eq!(denied.code(), 126);
        assert_eq!(denied.dir_to_grant(), Some("/opt/tool/bin"));
        assert!(
            !denied.to_string().contains("--"),
            "no flag names: {denied}"
        );
        assert_eq!(failure(p, Errno::ENOENT).code(), 127);
        assert_eq!(failure(p, Errno::ENOENT).dir_to_grant(), None);
        assert_eq!(failure(p, Errno::ENOEXEC).code(), 126);
        let big = failure(p, Errno::E2BIG);
        assert_eq!(big.code(), 126);
        assert!(big.to_string().contains("ulimit -s"), "{big}");
    }
}

//! What a failed `execve` inside a sandbox means, as a shell would report it:
//! 127 when the program (or its interpreter) is not there, 126 when it
//! cannot be executed, with a message saying which grant would fix it; and
//! the signal state the program starts with.

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

/// Exit code and message for `execve(program)` failing with `errno`.
pub fn failure(program: &CStr, errno: Errno) -> (i32, String) {
    let prog = program.to_string_lossy();
    match errno {
        Errno::EACCES | Errno::EPERM => {
            let dir = Path::new(&*prog).parent().map(|d| d.display().to_string()).unwrap_or_default();
            (
                126,
                format!("cannot execute {prog}: permission denied inside the sandbox; grant its directory with --read {dir}"),
            )
        }
        Errno::ENOENT => (
            127,
            format!("cannot execute {prog}: not found inside the sandbox (its interpreter or loader may be outside the grants)"),
        ),
        Errno::E2BIG => (
            126,
            format!("cannot execute {prog}: its arguments and environment exceed the kernel's limit for exec (128 KiB per string; all together a quarter of the stack size limit, see `ulimit -s`); pass less on the command line or in the environment"),
        ),
        other => (126, format!("cannot execute {prog}: {}", other.desc())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_shell_convention() {
        let p = c"/opt/tool/bin/x";
        let (code, msg) = failure(p, Errno::EACCES);
        assert_eq!(code, 126);
        assert!(msg.ends_with("--read /opt/tool/bin"), "{msg}");
        assert_eq!(failure(p, Errno::ENOENT).0, 127);
        assert_eq!(failure(p, Errno::ENOEXEC).0, 126);
        let (code, msg) = failure(p, Errno::E2BIG);
        assert_eq!(code, 126);
        assert!(msg.contains("ulimit -s"), "{msg}");
    }
}

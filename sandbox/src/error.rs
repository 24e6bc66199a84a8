//! The one error type of this crate: one variant per operation that failed.

use std::io;
use std::path::PathBuf;

/// Why confinement could not be set up. Nothing was applied when
/// [`crate::Sandbox::apply`] returns one of these, except where the variant
/// says the process is already partly confined.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A path handed to the capability set does not exist or cannot be resolved.
    #[error("cannot resolve {path}: {source}")]
    ResolvePath {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file grant names a directory, or a directory grant names a file.
    #[error("{path} is {actual}, but was granted as {expected}")]
    GrantKindMismatch {
        path: PathBuf,
        expected: &'static str,
        actual: &'static str,
    },
    /// The kernel does not offer a protection the capability set asks for.
    #[error(
        "the kernel cannot enforce {feature}: it needs Landlock ABI {required}, \
         this kernel offers {available}; refusing to run with weaker confinement"
    )]
    Unsupported {
        feature: &'static str,
        required: u32,
        available: u32,
    },
    /// Building or enforcing the Landlock ruleset failed.
    #[error("Landlock {stage} failed: {message}")]
    Landlock {
        stage: &'static str,
        message: String,
    },
    /// Landlock reported it enforced less than it was asked to.
    #[error("Landlock enforced the ruleset only partially ({status}); refusing to continue")]
    LandlockNotEnforced { status: &'static str },
    /// Building or loading the seccomp filter failed.
    #[error("seccomp {stage} failed: {message}")]
    Seccomp {
        stage: &'static str,
        message: String,
    },
    /// Setting no_new_privs failed.
    #[error("cannot set no_new_privs: {0}")]
    NoNewPrivs(#[source] io::Error),
    /// Dropping a capability set failed.
    #[error("cannot drop the {set} capability set: {message}")]
    DropCapabilities { set: &'static str, message: String },
    /// A helper was started with an environment (only nono starts one,
    /// with nothing of the user's).
    #[error("started with a non-empty environment; only nono starts the {helper}")]
    HelperEnvironment { helper: &'static str },
    /// A helper found no channel at its descriptor.
    #[error("no channel at fd {fd}; only nono starts the {helper}")]
    HelperChannel { helper: &'static str, fd: i32 },
    /// `unshare` of a namespace failed (not for lack of permission).
    #[error("cannot create the namespace ({flags}): {source}")]
    Unshare {
        flags: String,
        #[source]
        source: io::Error,
    },
    /// `unshare` with a new user namespace failed.
    #[error("cannot create a user namespace with {flags}: {source}")]
    UnshareWithUser {
        flags: String,
        #[source]
        source: io::Error,
    },
    /// Writing the new user namespace's id maps failed.
    #[error("cannot write /proc/self/{file}: {source}")]
    IdMap {
        file: &'static str,
        #[source]
        source: io::Error,
    },
    /// Making the mount namespace's mounts slaves failed.
    #[error("cannot make the mounts private: {0}")]
    PrivateMounts(#[source] io::Error),
    /// The kernel would not give the session a PID namespace (its reason,
    /// as the probe reported it).
    #[error("{0}")]
    PidNamespace(String),
    /// `PR_SET_CHILD_SUBREAPER` failed.
    #[error("cannot become the session's subreaper: {0}")]
    Subreaper(#[source] io::Error),
    /// A raw system call of the probe or the fd hygiene failed.
    #[error("{call} failed: {source}")]
    Syscall {
        call: &'static str,
        #[source]
        source: io::Error,
    },
}

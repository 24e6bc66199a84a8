//! The broker's one error enum: one variant per operation that failed.
//! Every variant ends the session; [`BrokerError::AlreadyReported`] says
//! the front end was told already (the broker then prints nothing).

use std::io;
use std::net::SocketAddr;

use sandbox::hygiene::HelperError;
use sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The front end reports this failure itself (a keyholder's failure).
    #[error("failure reported by nono")]
    AlreadyReported,
    /// Start-up, namespaces, the subreaper, reaping.
    #[error("{0}")]
    Sandbox(#[from] SandboxError),
    #[error("channel: {0}")]
    Channel(#[from] ipc::IpcError),
    /// A message from the front end out of order or malformed.
    #[error("{0}")]
    Protocol(&'static str),
    #[error("invalid signal {0}")]
    InvalidSignal(i32),
    #[error("the front end went away; stopping the agent")]
    FrontGone,
    #[error("cannot read the launch plan: {0}")]
    Plan(ipc::IpcError),
    #[error("a NUL byte in the launch request")]
    NulInLaunch,
    #[error("invalid capability set: {0}")]
    Caps(SandboxError),
    #[error("invalid elevation grants: {0}")]
    ElevationGrants(SandboxError),
    #[error("invalid expanded directories: {0}")]
    ExpandedDirs(SandboxError),
    #[error("cannot apply the sandbox: {0}")]
    Confine(SandboxError),
    /// The strict allowlist or the notify table could not be compiled.
    #[error("{0}")]
    Seccomp(SandboxError),
    #[error("credentials were announced but no credentials channel was given")]
    NoCredentialsChannel,
    #[error("credentials channel: {0}")]
    Credentials(ipc::IpcError),
    #[error("cannot listen on {addr} for {purpose}: {source}")]
    Listen {
        addr: SocketAddr,
        purpose: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the agent did not start (no seccomp listener)")]
    AgentDidNotStart,
    /// Not a failure: the agent and everything it started have ended, so
    /// nothing is left to notify (the notification thread stops).
    #[error("no task is left to notify")]
    ListenerUnused,
    /// A system call of the broker's own failed (`what` says which step).
    #[error("{what}: {source}")]
    Os {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

impl BrokerError {
    /// An [`BrokerError::Os`] from anything that converts to `io::Error`
    /// (`nix::Errno` included).
    pub fn os(what: &'static str) -> impl FnOnce(nix::errno::Errno) -> BrokerError {
        move |e| BrokerError::Os {
            what,
            source: e.into(),
        }
    }

    pub fn io(what: &'static str) -> impl FnOnce(io::Error) -> BrokerError {
        move |source| BrokerError::Os { what, source }
    }
}

impl HelperError for BrokerError {
    fn reported(&self) -> bool {
        matches!(self, BrokerError::AlreadyReported)
    }
}

pub type Result<T> = std::result::Result<T, BrokerError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure the front end reports itself is not printed again; every
    /// other one is, in one line.
    #[test]
    fn only_an_already_reported_failure_stays_quiet() {
        assert!(BrokerError::AlreadyReported.reported());
        let e = BrokerError::Protocol("expected Launch");
        assert!(!e.reported());
        assert_eq!(e.to_string(), "expected Launch");
        let e = BrokerError::os("cannot fork")(nix::errno::Errno::EAGAIN);
        assert!(e.to_string().starts_with("cannot fork: "), "{e}");
        assert!(!e.to_string().contains('\n'));
    }
}

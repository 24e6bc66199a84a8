//! The keyholder's one error enum. Every variant ends the keyholder; a
//! keystore's own failure is not one of them (it goes to the front end as
//! `Failed { kind, message }` and the keyholder exits cleanly).

use sandbox::hygiene::HelperError;
use sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum KeyholderError {
    /// Started other than by nono (environment, missing channel).
    #[error("{0}")]
    Start(#[from] SandboxError),
    #[error("no channel at fd 4; only nono starts the keyholder")]
    NoConsumer,
    #[error(
        "usage: nono-keyholder [--signing [--reference REF [--op PATH]]] (started by nono only)"
    )]
    Usage,
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("unknown argument {0}")]
    UnknownArgument(String),
    /// The `--reference` argument is not a signing-key reference.
    #[error("--reference: {0}")]
    Reference(ipc::IpcError),
    #[error("channel: {0}")]
    Channel(#[from] ipc::IpcError),
    /// A path to read could not be granted.
    #[error("{0}")]
    Grant(SandboxError),
    #[error("cannot confine the keyholder: {0}")]
    Confine(SandboxError),
    #[error("expected Fetch")]
    ExpectedFetch,
    #[error("a retry must repeat the original request")]
    RetryDiffers,
    #[error("Hello repeated")]
    HelloRepeated,
}

impl HelperError for KeyholderError {}

pub type Result<T> = std::result::Result<T, KeyholderError>;

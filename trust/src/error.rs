//! The crate's one error type.

use thiserror::Error;

/// What went wrong, named for the operation that failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("invalid private key: {0}")]
    PrivateKey(String),
    #[error("invalid public key: {0}")]
    PublicKey(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("malformed bundle: {0}")]
    Bundle(String),
    #[error("malformed trust policy: {0}")]
    Policy(String),
    #[error("invalid pattern '{pattern}': {why}")]
    Pattern { pattern: String, why: &'static str },
}

pub type Result<T> = std::result::Result<T, TrustError>;

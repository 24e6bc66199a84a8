//! The crate's one error type.

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong, named for the operation that failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("cannot create the audit directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid audit record: {why}")]
    Malformed { path: PathBuf, why: String },
    #[error("no audit session '{0}'")]
    NoSession(String),
    #[error("invalid session id '{0}' (expected YYYYMMDD-HHMMSS-PID)")]
    BadId(String),
    #[error("invalid redaction configuration: {0}")]
    Redaction(String),
    #[error("attestation: {0}")]
    Attestation(#[from] trust::TrustError),
}

pub type Result<T> = std::result::Result<T, AuditError>;

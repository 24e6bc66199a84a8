//! `audit`: the record of a supervised session, tamper-evident.
//!
//! A session directory holds `session.json` (who ran what, where, when and
//! how it ended), the append-only `audit-events.ndjson` and, when signed,
//! `audit-attestation.bundle`. The caller chooses where the directory is;
//! it must be out of the agent's reach (nono keeps it in its state
//! directory, which the sandbox policy denies).
//!
//! # Invariants
//! - Nothing reaches disk without passing the redaction policy
//!   ([`redact::Policy`]): every string of every event and of the session
//!   record, argument lists with flag awareness. Secrets are replaced, not
//!   hashed (a hash of a short secret can be brute-forced).
//! - Events are only appended, one line per `write`, in session order, with
//!   consecutive sequence numbers from 0. A log file is created once
//!   (`create_new`) and never reopened for writing.
//! - With integrity on, every line carries the digest of each of its
//!   fields, its leaf and the chain head after it; `session.json` gets the
//!   event count, the final chain head and the Merkle root over the leaves
//!   when the session ends. [`verify::verify`] recomputes all of it from the
//!   values on disk and names the event and field that differ.
//! - Integrity alone is tamper-evidence against edits that do not rewrite
//!   every digest; an attacker who can rewrite the whole directory can
//!   forge a consistent one. The signed attestation ([`attest`]) pins the
//!   root and context to a key that never lives in the directory.
//! - `session.json` is replaced atomically (temporary file, fsync, rename).
//! - Files are created 0600 and directories 0700.

#![forbid(unsafe_code)]

pub mod attest;
pub mod error;
pub mod hash;
pub mod log;
pub mod redact;
pub mod session;
pub mod verify;

pub use error::{AuditError, Result};
pub use log::{Integrity, Recorder};
pub use redact::{Policy, RedactionConfig};
pub use session::Session;

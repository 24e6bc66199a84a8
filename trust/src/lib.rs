//! `trust`: signed instruction files.
//!
//! Bundle format (DSSE envelope, in-toto statement, the signer's public
//! key), trust policy (`trust-policy.json`), instruction-file patterns and
//! the verification of one file against a policy. The crate does no I/O:
//! callers read files, find bundles and decide what a failure does.
//!
//! # Security
//! - A file is trusted only when a bundle's signature verifies with the
//!   bundle's key, that key's bytes equal a publisher's `public_key` in the
//!   policy, the statement names the file with its current SHA-256, and
//!   neither the digest nor the signer is blocklisted. Key ids and names in
//!   a bundle are labels, never evidence.
//! - The statement is parsed only after its signature verified.
//! - Private keys are held in [`keys::LocalKey`] (zeroized on drop by the
//!   underlying crate); signing goes through [`keys::Signer`], so a keystore
//!   key can stay in `nono-keyholder`.

#![forbid(unsafe_code)]

pub mod bundle;
pub mod error;
pub mod keys;
pub mod patterns;
pub mod policy;
pub mod time;
pub mod verify;

pub use bundle::{Bundle, Purpose, Subject};
pub use error::{Result, TrustError};
pub use keys::{LocalKey, Signer};
pub use policy::{Enforcement, Publisher, TrustPolicy};
pub use verify::{check, check_bundle, check_with, BundleCheck, Status};

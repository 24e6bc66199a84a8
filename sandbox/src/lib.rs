//! Policy-free, kernel-enforced confinement for Linux.
//!
//! A caller describes what a process may do in a [`CapabilitySet`] and calls
//! [`Sandbox::apply`]. From then on the calling thread (and everything it
//! executes) is confined by:
//!
//! - **Landlock**: filesystem grants, TCP bind/connect rules, and the signal
//!   and abstract-unix-socket scopes, at the highest ABI the kernel offers;
//! - **seccomp**: an arch-checked filter closing kernel attack surface and
//!   socket families the capability set does not grant (see [`seccomp`]);
//! - **no_new_privs** and **no capabilities** (effective, permitted,
//!   inheritable, ambient and, where the caller may, bounding).
//!
//! The library owns no policy: it applies exactly what it is given, and it
//! fails closed — if the kernel cannot enforce something the set asks for,
//! [`Sandbox::apply`] returns an error and changes nothing.
//!
//! Landlock binds only the calling thread on ABI < 8: apply in a
//! single-threaded process (or right before `execve`).

pub mod abi;
mod apply;
mod capability;
mod error;
pub mod exec;
pub mod hygiene;
pub mod kept_dirs;
mod landlock_rules;
mod notify_sys;
pub mod pidns;
mod privileges;
mod probe;
pub mod reap;
pub mod seccomp;
mod sys;
pub mod userns;

pub use apply::{EnforcementReport, Sandbox};
pub use capability::{AccessMode, CapabilitySet, FsGrant, GrantKind, NetworkPolicy};
pub use error::SandboxError;
pub use landlock_rules::{plan_rules, required_features, rule_listing, Feature, PlannedRule};
pub use probe::{LandlockSupport, SupportInfo};
pub use sys::close_fds_from;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, SandboxError>;

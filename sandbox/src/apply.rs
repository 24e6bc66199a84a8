//! Applying a capability set to the calling thread.

use landlock::{RulesetCreatedAttr, RulesetStatus, ABI};

use crate::capability::CapabilitySet;
use crate::landlock_rules::{self, abi_from_version};
use crate::privileges::{self, CapsOutcome};
use crate::seccomp;
use crate::{sys, Result, SandboxError};

/// What the kernel enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnforcementReport {
    /// Landlock ABI the kernel offers.
    pub kernel_abi: u32,
    /// Landlock ABI whose rights were requested (the kernel's, capped at what
    /// this build knows).
    pub used_abi: ABI,
    /// Whether TCP bind/connect were restricted.
    pub tcp_restricted: bool,
    /// Whether signal / abstract-unix scopes were set.
    pub scoped: bool,
    /// Number of seccomp rules loaded (unconditional + conditional).
    pub seccomp_rules: usize,
    /// Capability outcome.
    pub bounding_cleared: bool,
}

/// Entry point of the library.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Confine the calling thread (and everything it later executes) to `caps`.
    ///
    /// Order: check support (nothing changes on failure) → build the Landlock
    /// ruleset and compile the seccomp filter while paths can still be opened
    /// → no_new_privs → drop capabilities → enforce Landlock → load seccomp.
    /// Irreversible once it returns `Ok`. Fails closed: any protection the
    /// set asks for that the kernel cannot enforce is an error.
    pub fn apply(caps: &CapabilitySet) -> Result<EnforcementReport> {
        let kernel_abi = sys::landlock_abi_version();
        if kernel_abi == 0 {
            return Err(SandboxError::Unsupported {
                feature: "Landlock (filesystem confinement)",
                required: 1,
                available: 0,
            });
        }
        landlock_rules::check_supported(caps, kernel_abi)?;
        let abi = abi_from_version(kernel_abi);
        let ruleset = landlock_rules::build(caps, abi)?;
        // ABI 7: denials by the executed command are logged too (the
        // kernel's default logs only those before execve); they reach the
        // audit log only while the kernel's audit subsystem is on.
        let ruleset = if kernel_abi >= 7 {
            ruleset
                .log_new_exec(true)
                .map_err(|e| SandboxError::Landlock {
                    stage: "log_new_exec",
                    message: e.to_string(),
                })?
        } else {
            ruleset
        };
        let filter = seccomp::compile(caps)?;
        let (denied, arg_rules) = seccomp::rules_for(caps);

        privileges::set_no_new_privs()?;
        let CapsOutcome { bounding_cleared } = privileges::drop_all()?;
        let status = ruleset
            .restrict_self()
            .map_err(|e| SandboxError::Landlock {
                stage: "restrict_self",
                message: e.to_string(),
            })?;
        match status.ruleset {
            RulesetStatus::FullyEnforced => {}
            RulesetStatus::PartiallyEnforced => {
                return Err(SandboxError::LandlockNotEnforced {
                    status: "partially enforced",
                })
            }
            RulesetStatus::NotEnforced => {
                return Err(SandboxError::LandlockNotEnforced {
                    status: "not enforced",
                })
            }
        }
        seccomp::load(&filter)?;
        Ok(EnforcementReport {
            kernel_abi,
            used_abi: abi,
            tcp_restricted: caps.restricts_tcp(),
            scoped: caps.isolates_signals() || caps.isolates_abstract_unix(),
            seccomp_rules: denied.len() + arg_rules.len(),
            bounding_cleared,
        })
    }
}

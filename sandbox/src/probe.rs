//! What the running kernel can enforce.

use std::fs;

use crate::landlock_rules::Feature;
use crate::sys;

/// Landlock support of the running kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LandlockSupport {
    /// ABI version offered by the kernel (0: unavailable).
    pub kernel_abi: u32,
}

impl LandlockSupport {
    /// Whether the kernel can enforce `feature`.
    pub fn supports(&self, feature: Feature) -> bool {
        self.kernel_abi >= feature.min_abi()
    }
}

/// Everything the sandbox depends on, probed on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportInfo {
    /// Kernel release string.
    pub kernel_release: String,
    /// Machine architecture.
    pub arch: &'static str,
    /// Landlock support.
    pub landlock: LandlockSupport,
    /// seccomp filters can be installed.
    pub seccomp_filter: bool,
    /// seccomp user notification is available.
    pub seccomp_user_notif: bool,
    /// This process may create user (and so network) namespaces.
    pub user_namespaces: bool,
}

impl SupportInfo {
    /// Probe the running kernel. Forks one short-lived child for the user
    /// namespace check.
    pub fn detect() -> SupportInfo {
        let actions =
            fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail").unwrap_or_default();
        SupportInfo {
            kernel_release: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            arch: std::env::consts::ARCH,
            landlock: LandlockSupport {
                kernel_abi: sys::landlock_abi_version(),
            },
            seccomp_filter: sys::seccomp_mode().is_some() && actions.contains("errno"),
            seccomp_user_notif: actions.split_whitespace().any(|a| a == "user_notif"),
            user_namespaces: sys::can_unshare_user_namespace(),
        }
    }
}

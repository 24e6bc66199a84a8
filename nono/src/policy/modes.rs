//! Profile fields of the shared format whose meaning on Linux is fixed by
//! what the kernel enforces here, or that have no effect here. A value nono
//! cannot honour is an error naming the file, line, column and field (fail
//! closed); a field with no effect on Linux gets a warning, never silence.

use anyhow::{anyhow, Result};

use super::profile::Profile;

/// `security.signal_mode` values and whether nono enforces them: signals
/// are always confined to the sandbox's own processes (Landlock signal
/// scope), which is what both "isolated" and "allow_same_sandbox" ask.
const SIGNAL_MODES: &[(&str, bool)] = &[
    ("isolated", true),
    ("allow_same_sandbox", true),
    ("allow_all", false),
];

/// `security.ipc_mode` values (macOS: POSIX semaphores under Seatbelt).
const IPC_MODES: &[&str] = &["shared_memory_only", "full"];

/// Where a key or value first appears in the file: `file:line:col: `.
pub struct At<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl At<'_> {
    fn of(&self, needle: &str) -> String {
        match super::profile::locate(self.text, needle) {
            Some((l, c)) => format!("{}:{l}:{c}: ", self.file),
            None => format!("{}: ", self.file),
        }
    }
}

/// Errors for values nono cannot honour; warnings (returned) for fields
/// without effect on Linux.
pub fn check(p: &Profile, at: &At) -> Result<Vec<String>> {
    if let Some(m) = &p.security.signal_mode {
        let names: Vec<&str> = SIGNAL_MODES.iter().map(|(n, _)| *n).collect();
        match SIGNAL_MODES.iter().find(|(n, _)| n == m) {
            Some((_, true)) => {}
            Some((_, false)) => return Err(anyhow!(
                "{}security.signal_mode: \"{m}\" cannot be honoured: nono always confines signals to \
                 the sandbox's own processes (Landlock signal scope); use \"isolated\" or remove the field",
                at.of(&format!("\"{m}\""))
            )),
            None => return Err(anyhow!(
                "{}security.signal_mode: unknown value \"{m}\" (expected one of: {})",
                at.of(&format!("\"{m}\"")),
                names.join(", ")
            )),
        }
    }
    if let Some(true) = p.policy.deny.as_ref().and_then(|d| d.unlink) {
        return Err(anyhow!(
            "{}policy.deny.unlink = true cannot be enforced on Linux: inside a writable grant, \
             Landlock lets what may be written also be deleted (outside writable grants nothing \
             can be deleted). Protect paths with policy.add_deny_write, or grant them read-only \
             (filesystem.read)",
            at.of("unlink")
        ));
    }
    let mut warnings = Vec::new();
    if let Some(m) = &p.security.ipc_mode {
        if !IPC_MODES.contains(&m.as_str()) {
            return Err(anyhow!(
                "{}security.ipc_mode: unknown value \"{m}\" (expected one of: {})",
                at.of(&format!("\"{m}\"")),
                IPC_MODES.join(", ")
            ));
        }
        warnings.push(format!(
            "{}security.ipc_mode has no effect on Linux (SysV and POSIX IPC: security.allow_sysv_ipc)",
            at.of("ipc_mode")
        ));
    }
    if p.undo.is_some() {
        warnings.push(format!(
            "{}undo has no effect in this release: rollback exclusions are --rollback-exclude",
            at.of("undo")
        ));
    }
    if p.interactive.is_some() {
        warnings.push(format!(
            "{}interactive has no effect: nono prompts only on a terminal",
            at.of("interactive")
        ));
    }
    Ok(warnings)
}

/// Fold `policy.deny` into the fields nono enforces: `access` into
/// `policy.add_deny_access`, `commands` into `commands.block`.
/// `unlink` stays for `check`.
pub fn fold_deny(p: &mut Profile) {
    let Some(deny) = p.policy.deny.as_mut() else {
        return;
    };
    let (access, commands) = (
        std::mem::take(&mut deny.access),
        std::mem::take(&mut deny.commands),
    );
    for a in access {
        if !p.policy.add_deny_access.contains(&a) {
            p.policy.add_deny_access.push(a);
        }
    }
    if !commands.is_empty() {
        let c = p.commands.get_or_insert_with(Default::default);
        c.block.extend(commands);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::profile::{parse, Format};

    fn run(text: &str) -> Result<Vec<String>> {
        let p = parse(text, Format::Toml, "p.toml").unwrap();
        check(
            &p,
            &At {
                file: "p.toml",
                text,
            },
        )
    }

    #[test]
    fn signal_modes_nono_enforces_pass_and_others_fail_with_location() {
        assert!(run("[security]\nsignal_mode = \"isolated\"\n")
            .unwrap()
            .is_empty());
        assert!(run("[security]\nsignal_mode = \"allow_same_sandbox\"\n").is_ok());
        let e = run("[security]\nsignal_mode = \"allow_all\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml:2:15: security.signal_mode: \"allow_all\" cannot be honoured"),
            "{e}"
        );
        let e = run("[security]\nsignal_mode = \"lax\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown value \"lax\"") && e.contains("isolated"),
            "{e}"
        );
    }

    #[test]
    fn fields_without_effect_warn_with_location() {
        let w = run("[security]\nipc_mode = \"full\"\n").unwrap();
        assert!(
            w[0].starts_with("p.toml:2:1: security.ipc_mode has no effect on Linux"),
            "{w:?}"
        );
        assert!(run("[security]\nipc_mode = \"most\"\n").is_err());
        let w = run("interactive = true\n[undo]\nexclude_globs = [\"*.log\"]\n").unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("p.toml:2:2: undo has no effect"), "{w:?}");
        assert!(
            w[1].starts_with("p.toml:1:1: interactive has no effect"),
            "{w:?}"
        );
    }

    #[test]
    fn deny_access_and_commands_fold_in_and_unlink_is_refused() {
        let text = "[policy.deny]\naccess = [\"/s\"]\ncommands = [\"curl\"]\n";
        let mut p = parse(text, Format::Toml, "p.toml").unwrap();
        assert!(check(
            &p,
            &At {
                file: "p.toml",
                text
            }
        )
        .unwrap()
        .is_empty());
        fold_deny(&mut p);
        assert_eq!(p.policy.add_deny_access, vec!["/s".to_string()]);
        assert_eq!(p.commands.unwrap().block, vec!["curl".to_string()]);
        assert_eq!(p.policy.deny.unwrap().access, Vec::<String>::new());
        let e = run("[policy.deny]\nunlink = true\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml:2:1: policy.deny.unlink = true cannot be enforced"),
            "{e}"
        );
        assert!(run("[policy.deny]\nunlink = false\n").unwrap().is_empty());
    }
}

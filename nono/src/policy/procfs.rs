//! `/proc/<pid>` entries of other processes that the kernel guards with a
//! ptrace access check. Landlock refuses that check from a sandboxed
//! process for every process outside its own domain (the broker, nono,
//! the rest of the machine), whatever the filesystem grants say; so `why`
//! answers "denied" for them and no flag changes it. The agent's own
//! entries (`/proc/self`, `/proc/thread-self`) are not affected.

use std::path::{Component, Path};

/// Entries whose open (or link resolution) needs ptrace read access to the
/// process (see proc(5): "access mode PTRACE_MODE_READ_FSCREDS").
const GUARDED: [&str; 18] = [
    "auxv",
    "cwd",
    "environ",
    "exe",
    "fdinfo",
    "io",
    "map_files",
    "maps",
    "mem",
    "numa_maps",
    "pagemap",
    "personality",
    "root",
    "smaps",
    "smaps_rollup",
    "stack",
    "syscall",
    "timerslack_ns",
];

/// `Some((pid, entry))` when `abs` (absolute, not yet resolved: the
/// entries are magic links) names a guarded entry of process `pid`, or of
/// one of its threads (`/proc/<pid>/task/<tid>/<entry>`).
pub fn guarded_entry(abs: &Path) -> Option<(String, String)> {
    let parts: Vec<String> = abs
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (pid, rest) = match parts.as_slice() {
        [proc, pid, rest @ ..] if proc == "proc" && numeric(pid) => (pid.clone(), rest),
        _ => return None,
    };
    let entry = match rest {
        [task, tid, entry, ..] if task == "task" && numeric(tid) => entry,
        [entry, ..] if entry != "task" => entry,
        _ => return None,
    };
    GUARDED
        .contains(&entry.as_str())
        .then(|| (pid, entry.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_entries_of_numbered_processes_only() {
        let g = |p: &str| guarded_entry(Path::new(p)).map(|(pid, e)| format!("{pid} {e}"));
        assert_eq!(g("/proc/1/environ").as_deref(), Some("1 environ"));
        assert_eq!(g("/proc/1/task/1/maps").as_deref(), Some("1 maps"));
        assert_eq!(g("/proc/42/cwd/etc/passwd").as_deref(), Some("42 cwd"));
        assert_eq!(g("/proc/1/status"), None);
        assert_eq!(g("/proc/1/cmdline"), None);
        assert_eq!(g("/proc/self/environ"), None);
        assert_eq!(g("/proc/thread-self/maps"), None);
        assert_eq!(g("/home/u/proc/1/environ"), None);
    }
}

//! Every syscall the agent's notify filter hands to the broker, as one
//! table of commented data. The `notified!` macro turns it into
//! - [`Call`], an exhaustive enum: the broker dispatches with a `match`
//!   that has no catch-all arm, so a call added here does not compile until
//!   it is handled;
//! - [`TABLE`], the rows the agent's notify filter is built from.
//!
//! The rule for every row (see `brokered/mod.rs`): the broker decides on its
//! own copies (arguments read once from the agent's memory, descriptors
//! duplicated with `pidfd_getfd`) and performs the call itself on them.
//! CONTINUE is only for verdicts the agent cannot change afterwards.

use sandbox::seccomp::notify::Brokered;

/// When a row is part of the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Every `nono run`.
    Always,
    /// The open family: with `--capability-elevation` or when the policy
    /// has an expanded directory (`brokered/parent.rs`).
    Opens,
    /// Only when the policy has an expanded directory: creating a
    /// directory directly in one.
    Parents,
}

/// One row: the call, how the filter finds it, and why it is brokered.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub call: Call,
    pub filter: Brokered,
    pub group: Group,
}

macro_rules! notified {
    ($( $variant:ident = $name:literal, nr $nr:expr, when $when:expr, $group:ident, $why:literal; )*) => {
        /// A notified syscall (one variant per row of [`TABLE`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Call { $( $variant, )* }

        /// The table itself.
        pub const TABLE: &[Row] = &[ $( Row {
            call: Call::$variant,
            filter: Brokered {
                name: $name,
                generic_nr: $nr,
                when_arg_nonzero: $when,
                why: $why,
            },
            group: Group::$group,
        }, )* ];
    };
}

notified! {
    // Sockets. The descriptor's object (family, type) and the address are
    // judged on the broker's duplicate and its copy; the broker then makes
    // the call on that duplicate, so a second agent thread swapping the
    // descriptor number or the address changes nothing that was judged.
    Connect = "connect", nr None, when None, Always,
        "pathname unix sockets only when granted; performed on the duplicate";
    Bind = "bind", nr None, when None, Always,
        "pathname unix sockets only when granted; performed on the duplicate";
    Listen = "listen", nr None, when None, Always,
        "no autobind to a random TCP port past Landlock's bind rule";
    SendTo = "sendto", nr None, when Some(4), Always,
        "datagrams with an address (a NULL address is not notified)";
    SendMsg = "sendmsg", nr None, when None, Always,
        "the address and ancillary data are in memory: always performed";
    SendMmsg = "sendmmsg", nr None, when None, Always,
        "batches of sendmsg, each performed as one";

    // Metadata Landlock (ABI < 9) does not cover: performed by the broker
    // on the object it resolved, only inside write grants.
    Chmod = "chmod", nr None, when None, Always, "mode change by path";
    Fchmod = "fchmod", nr None, when None, Always, "mode change by descriptor";
    Fchmodat = "fchmodat", nr None, when None, Always, "mode change relative to a directory";
    Fchmodat2 = "fchmodat2", nr Some(452), when None, Always, "mode change with flags (Linux 6.6)";
    Chown = "chown", nr None, when None, Always, "owner change";
    Fchown = "fchown", nr None, when None, Always, "owner change by descriptor";
    Lchown = "lchown", nr None, when None, Always, "owner change of a link";
    Fchownat = "fchownat", nr None, when None, Always, "owner change relative to a directory";
    Utime = "utime", nr None, when None, Always, "timestamps";
    Utimes = "utimes", nr None, when None, Always, "timestamps";
    Futimesat = "futimesat", nr None, when None, Always, "timestamps relative to a directory";
    Utimensat = "utimensat", nr None, when None, Always, "timestamps (also futimens)";
    Setxattr = "setxattr", nr None, when None, Always, "extended attributes";
    Lsetxattr = "lsetxattr", nr None, when None, Always, "extended attributes of a link";
    Fsetxattr = "fsetxattr", nr None, when None, Always, "extended attributes by descriptor";
    Removexattr = "removexattr", nr None, when None, Always, "extended attributes";
    Lremovexattr = "lremovexattr", nr None, when None, Always, "extended attributes of a link";
    Fremovexattr = "fremovexattr", nr None, when None, Always, "extended attributes by descriptor";
    Setxattrat = "setxattrat", nr Some(463), when None, Always,
        "extended attributes (Linux 6.13): refused";
    Removexattrat = "removexattrat", nr Some(466), when None, Always,
        "extended attributes (Linux 6.13): refused";

    // A watch reveals the names of files created in a directory: only
    // where the policy grants read, added by the broker on its duplicate
    // of the agent's inotify descriptor.
    InotifyAddWatch = "inotify_add_watch", nr None, when None, Always,
        "watches only where reading is granted";

    // Opens: capability elevation (beyond the grants, put to the user);
    // expanded directories (the directory itself listed, new entries
    // created in it by the broker). Anything else continues to Landlock.
    Open = "open", nr None, when None, Opens, "elevation; expanded directories";
    Creat = "creat", nr None, when None, Opens, "elevation; expanded directories";
    Openat = "openat", nr None, when None, Opens, "elevation; expanded directories";
    Openat2 = "openat2", nr None, when None, Opens, "elevation; expanded directories";

    // New directories directly in an expanded directory (no rule of its
    // own): made by the broker on its own descriptor of it.
    Mkdir = "mkdir", nr None, when None, Parents, "expanded directories";
    Mkdirat = "mkdirat", nr None, when None, Parents, "expanded directories";
    // Removing what the broker created there (a tool's temporary file).
    Unlink = "unlink", nr None, when None, Parents, "expanded directories";
    Unlinkat = "unlinkat", nr None, when None, Parents, "expanded directories";
    Rmdir = "rmdir", nr None, when None, Parents, "expanded directories";
    // Renames into one (a tool's write-then-rename), from what the broker
    // created or from inside a write grant.
    Rename = "rename", nr None, when None, Parents, "expanded directories";
    Renameat = "renameat", nr None, when None, Parents, "expanded directories";
    Renameat2 = "renameat2", nr None, when None, Parents, "expanded directories";
    // Symbolic links made there (never followed by the broker).
    Symlink = "symlink", nr None, when None, Parents, "expanded directories";
    Symlinkat = "symlinkat", nr None, when None, Parents, "expanded directories";
}

/// The filter rows for a session: `elevation` (capability elevation),
/// `parents` (the policy has an expanded directory). With neither, no
/// open or mkdir is ever notified.
pub fn filter(elevation: bool, parents: bool) -> Vec<Brokered> {
    TABLE
        .iter()
        .filter(|r| match r.group {
            Group::Always => true,
            Group::Opens => elevation || parents,
            Group::Parents => parents,
        })
        .map(|r| r.filter)
        .collect()
}

/// Syscall numbers of this architecture → calls, resolved the same way the
/// filter resolves them (so the two cannot disagree).
#[derive(Debug, Clone)]
pub struct Numbers(Vec<(i32, Call)>);

impl Numbers {
    pub fn resolve() -> Result<Numbers, sandbox::SandboxError> {
        let mut v = Vec::with_capacity(TABLE.len());
        for r in TABLE {
            let nr = sandbox::seccomp::notify::number(&r.filter)?;
            v.push((nr, r.call));
        }
        v.sort_unstable_by_key(|(nr, _)| *nr);
        Ok(Numbers(v))
    }

    /// The call a notification is for; None for a number not in the table
    /// (impossible unless the filter and the table disagree).
    pub fn call(&self, nr: i32) -> Option<Call> {
        self.0
            .binary_search_by_key(&nr, |(n, _)| *n)
            .ok()
            .map(|i| self.0[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_resolves_to_a_distinct_number() {
        let n = Numbers::resolve().unwrap();
        let mut nrs: Vec<i32> = n.0.iter().map(|(nr, _)| *nr).collect();
        nrs.dedup();
        assert_eq!(nrs.len(), TABLE.len());
        for r in TABLE {
            let nr = sandbox::seccomp::notify::number(&r.filter).unwrap();
            assert_eq!(n.call(nr), Some(r.call));
        }
        assert_eq!(n.call(libc::SYS_connect as i32), Some(Call::Connect));
        assert_eq!(n.call(libc::SYS_read as i32), None);
    }

    #[test]
    fn open_rows_only_with_elevation_or_an_expanded_directory() {
        let names = |e, p| filter(e, p).iter().map(|b| b.name).collect::<Vec<_>>();
        assert!(!names(false, false).contains(&"openat"));
        assert!(!names(false, false).contains(&"mkdirat"));
        assert!(names(true, false).contains(&"openat"));
        assert!(!names(true, false).contains(&"mkdirat"));
        assert!(names(false, true).contains(&"openat") && names(false, true).contains(&"mkdirat"));
        assert!(
            names(false, false).contains(&"connect") && names(false, false).contains(&"listen")
        );
    }

    #[test]
    fn every_row_has_a_reason() {
        assert!(TABLE.iter().all(|r| !r.filter.why.is_empty()));
    }
}

//! Where an elevated open starts: the agent's working directory or its
//! directory descriptor, named by the kernel (`/proc/<tid>/cwd`,
//! `/proc/<tid>/fd/N`). A tree walk (`find`, `fts`, `du`) opens every
//! entry relative to a descriptor, so each open used to walk `/proc`,
//! `<tid>` and `fd` again before reading the link.
//!
//! The broker keeps each notifying thread's `/proc/<tid>/fd` directory
//! open instead and reads the link `N` in it. Nothing of the agent is
//! held: not its descriptors or open files (a kept duplicate would keep
//! the agent's locks, pipes and executables busy after it closed them),
//! only the directory of a task. That directory is bound to the task it
//! was opened for, not to the number: once that thread has ended every
//! lookup in it fails, even if the number was given to a new thread since;
//! the entry is then dropped and `/proc/<tid>/fd` opened again. So what is
//! read is always the link of the thread that now has the id, as a fresh
//! `readlink("/proc/<tid>/fd/N")` would read it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::target::{kernel_path, start_dir};

/// Entries per serving thread before the table is emptied (a bound on
/// descriptors held, whatever the agent's thread count).
const KEEP: usize = 64;

thread_local! {
    // Not a HashMap: its keys are random per thread, drawn with getrandom,
        // which the confined broker is not allowed (threads start after).
        static KEPT: RefCell<BTreeMap<u32, OwnedFd>> = const { RefCell::new(BTreeMap::new()) };
}

/// The path where a relative path of thread `tid` starts: its working
/// directory (`AT_FDCWD`) or its descriptor `dirfd`. None when that has no
/// path (deleted, a socket, not open): then the kernel decides.
pub fn start(tid: u32, dirfd: i32) -> Option<PathBuf> {
    if dirfd == libc::AT_FDCWD {
        let cwd = std::fs::read_link(start_dir(tid, dirfd, b"")).ok()?;
        return kernel_path(cwd.into_os_string());
    }
    let link = crate::sys::Decimal::of(dirfd);
    let kept = KEPT.with(|k| {
        k.borrow()
            .get(&tid)
            .map(|d| crate::sys::readlink_at(d.as_fd(), link.as_cstr()))
    });
    let read = match kept {
        Some(Ok(p)) => p,
        // The kept directory's thread may have ended: open the one that
        // has the id now and read again (a descriptor that is simply not
        // open fails again, and costs one open).
        Some(Err(_)) | None => {
            let dir = open(
                format!("/proc/{tid}/fd").as_str(),
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()?;
            let read = crate::sys::readlink_at(dir.as_fd(), link.as_cstr());
            KEPT.with(|k| {
                let mut k = k.borrow_mut();
                if k.len() >= KEEP {
                    k.clear();
                }
                k.insert(tid, dir);
            });
            read.ok()?
        }
    };
    kernel_path(read)
}

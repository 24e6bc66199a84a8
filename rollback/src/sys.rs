//! The crate's one system call without a safe wrapper: `FICLONE`.
#![allow(unsafe_code)]

use std::fs::File;
use std::os::fd::AsRawFd;

/// Make `dst` share `src`'s extents (a reflink); fails where the
/// filesystem has none (ext4, tmpfs: `EOPNOTSUPP`/`EXDEV`/`EINVAL`).
pub fn clone_file(dst: &File, src: &File) -> std::io::Result<()> {
    // SAFETY: FICLONE takes the source descriptor as its integer argument
    // and reads or writes no memory of ours; both descriptors are open for
    // the duration of the call.
    let rc = unsafe { nix::libc::ioctl(dst.as_raw_fd(), nix::libc::FICLONE, src.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

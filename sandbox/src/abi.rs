//! Kernel ABI values that a C library spells differently, for code that
//! decodes another process's syscall flags or filters on them: the kernel's
//! meaning, whichever libc nono is built against. musl's `O_ACCMODE`
//! includes `O_PATH` (its `O_SEARCH`), and glibc's `O_LARGEFILE` is 0 on
//! x86_64, where the kernel's is `0o100000` (set on every 64-bit open).

/// The access-mode bits of open flags: O_RDONLY, O_WRONLY, O_RDWR, and 3
/// (neither: ioctls only).
pub const O_ACCMODE: i32 = 0o3;

/// x86_64's `O_LARGEFILE`.
pub const O_LARGEFILE: i32 = 0o100000;

#[cfg(test)]
mod tests {
    #[test]
    fn the_kernel_values() {
        assert_eq!(super::O_ACCMODE, libc::O_RDWR | libc::O_WRONLY);
        #[cfg(target_env = "gnu")]
        assert_eq!(super::O_ACCMODE, libc::O_ACCMODE);
        #[cfg(target_env = "musl")]
        assert_eq!(super::O_LARGEFILE, libc::O_LARGEFILE);
    }
}

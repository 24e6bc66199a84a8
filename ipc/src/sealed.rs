//! Sealed memory files: a payload too large for one frame (the broker's
//! launch plan) travels as a descriptor of a memfd that can no longer
//! change. The sender writes it and adds every seal; the receiver checks
//! the seals and the size before reading, so what it decodes is exactly
//! what it checked, with an allocation bounded by the caller's limit.

use std::ffi::CStr;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::{IpcError, Result};

/// The seals a payload must carry: no write, grow, shrink or new seal.
fn required() -> SealFlag {
    SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_SEAL
}

fn io(e: nix::errno::Errno) -> IpcError {
    IpcError::Io(e.into())
}

/// A new memfd named `name` holding `bytes`, with every seal added.
pub fn seal(name: &CStr, bytes: &[u8]) -> Result<OwnedFd> {
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING).map_err(io)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    fcntl(&file, FcntlArg::F_ADD_SEALS(required())).map_err(io)?;
    Ok(OwnedFd::from(file))
}

/// The contents of a sealed memfd of exactly `size` bytes, at most `max`.
/// A descriptor that is not a memfd, lacks a seal, or has another size is
/// refused before anything is read.
pub fn read(fd: OwnedFd, size: u64, max: usize) -> Result<Vec<u8>> {
    let seals = fcntl(&fd, FcntlArg::F_GET_SEALS)
        .map_err(|_| IpcError::Sealed("the descriptor is not a sealed memory file"))?;
    if !SealFlag::from_bits_truncate(seals).contains(required()) {
        return Err(IpcError::Sealed("the memory file is not fully sealed"));
    }
    let actual = nix::sys::stat::fstat(fd.as_fd()).map_err(io)?.st_size;
    if u64::try_from(actual).ok() != Some(size) {
        return Err(IpcError::Sealed(
            "the memory file's size is not the announced one",
        ));
    }
    let len = usize::try_from(size).map_err(|_| IpcError::PayloadTooLarge(usize::MAX, max))?;
    if len > max {
        return Err(IpcError::PayloadTooLarge(len, max));
    }
    let mut file = std::fs::File::from(fd);
    file.seek(SeekFrom::Start(0))?;
    let mut bytes = Vec::with_capacity(len);
    file.take(size).read_to_end(&mut bytes)?;
    if bytes.len() != len {
        return Err(IpcError::Sealed("the memory file ended early"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_payloads_round_trip() {
        let fd = seal(c"t", b"hello").unwrap();
        assert_eq!(read(fd, 5, 16).unwrap(), b"hello");
    }

    #[test]
    fn sealed_files_cannot_change() {
        let fd = seal(c"t", b"hello").unwrap();
        let mut f = std::fs::File::from(fd);
        assert!(f.write_all(b"x").is_err());
        assert!(f.set_len(1).is_err());
        assert!(f.set_len(100).is_err());
    }

    #[test]
    fn wrong_size_unsealed_and_oversized_are_refused() {
        assert!(matches!(
            read(seal(c"t", b"hello").unwrap(), 4, 16),
            Err(IpcError::Sealed(_))
        ));
        assert!(matches!(
            read(seal(c"t", b"hello").unwrap(), 5, 4),
            Err(IpcError::PayloadTooLarge(5, 4))
        ));
        let open = memfd_create(c"t", MFdFlags::MFD_ALLOW_SEALING).unwrap();
        assert!(matches!(read(open, 0, 16), Err(IpcError::Sealed(_))));
        let file = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        assert!(matches!(read(file, 0, 16), Err(IpcError::Sealed(_))));
    }
}

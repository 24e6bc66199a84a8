//! Reading the agent's syscall arguments. Every read is a copy the broker
//! then owns; the caller checks that the notification is still valid after
//! reading (the thread id could otherwise name another task by then).
//!
//! Decoders read through [`AgentMem`], so they can be unit-tested and
//! fuzzed on plain bytes ([`SliceMem`]) as well as run on the agent
//! ([`ProcMem`], `process_vm_readv` on the notifying thread).

use std::ffi::CString;

use nix::errno::Errno;

/// Longest path accepted (PATH_MAX).
const PATH_MAX: usize = 4096;

/// The agent's address space, read-only.
pub trait AgentMem {
    /// Read up to `buf.len()` bytes at `addr`; Ok(0) or EFAULT where
    /// nothing is mapped.
    fn read_at(&self, buf: &mut [u8], addr: u64) -> Result<usize, Errno>;

    /// Exactly `len` bytes at `addr`.
    fn bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            let at = addr.checked_add(got as u64).ok_or(Errno::EFAULT)?;
            match self.read_at(&mut buf[got..], at)? {
                0 => return Err(Errno::EFAULT),
                n => got += n,
            }
        }
        Ok(buf)
    }

    /// A NUL-terminated string of at most `max` bytes.
    fn cstring(&self, addr: u64, max: usize) -> Result<CString, Errno> {
        if addr == 0 {
            return Err(Errno::EFAULT);
        }
        let mut out = Vec::new();
        let mut chunk = [0u8; 256];
        while out.len() < max {
            // Reads may stop at an unmapped page; read what is there.
            let at = addr.checked_add(out.len() as u64).ok_or(Errno::EFAULT)?;
            let n = self.read_at(&mut chunk, at)?;
            if n == 0 {
                return Err(Errno::EFAULT);
            }
            if let Some(i) = chunk[..n].iter().position(|&b| b == 0) {
                // Room for the NUL CString adds: one allocation, no realloc.
                out.reserve_exact(i + 1);
                out.extend_from_slice(&chunk[..i]);
                return CString::new(out).map_err(|_| Errno::EINVAL);
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Err(Errno::ENAMETOOLONG)
    }

    fn path(&self, addr: u64) -> Result<CString, Errno> {
        self.cstring(addr, PATH_MAX)
    }
}

/// `N` native-endian u64 words at `addr` (usable on `dyn AgentMem`).
pub fn u64s<const N: usize>(mem: &(impl AgentMem + ?Sized), addr: u64) -> Result<[u64; N], Errno> {
    let b = mem.bytes(addr, 8 * N)?;
    let mut out = [0u64; N];
    for (i, c) in b.chunks_exact(8).enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        out[i] = u64::from_ne_bytes(a);
    }
    Ok(out)
}

/// The agent's memory, read with `process_vm_readv` (one syscall per
/// read, nothing opened; many notified calls carry no pointer at all:
/// listen, fchmod, fchown).
#[derive(Debug)]
pub struct ProcMem {
    tid: u32,
}

impl ProcMem {
    pub fn of(tid: u32) -> ProcMem {
        ProcMem { tid }
    }
}

impl AgentMem for ProcMem {
    fn read_at(&self, buf: &mut [u8], addr: u64) -> Result<usize, Errno> {
        match crate::sys::read_agent(self.tid, addr, buf) {
            Ok(n) => Ok(n),
            // The task is gone or out of reach: nothing was copied.
            Err(Errno::ESRCH | Errno::EPERM) => Err(Errno::EACCES),
            Err(_) => Err(Errno::EFAULT),
        }
    }
}

/// Plain bytes mapped at `base` (tests and fuzzing).
#[derive(Debug)]
pub struct SliceMem<'a> {
    pub base: u64,
    pub data: &'a [u8],
}

impl AgentMem for SliceMem<'_> {
    fn read_at(&self, buf: &mut [u8], addr: u64) -> Result<usize, Errno> {
        let off = addr.checked_sub(self.base).ok_or(Errno::EFAULT)?;
        let off = usize::try_from(off).map_err(|_| Errno::EFAULT)?;
        if off >= self.data.len() {
            return Err(Errno::EFAULT);
        }
        let n = buf.len().min(self.data.len() - off);
        buf[..n].copy_from_slice(&self.data[off..off + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_stop_at_nul_and_at_the_end_of_the_mapping() {
        let m = SliceMem {
            base: 0x1000,
            data: b"abc\0def",
        };
        assert_eq!(m.path(0x1000).unwrap().as_bytes(), b"abc");
        assert_eq!(m.path(0x1004), Err(Errno::EFAULT));
        assert_eq!(m.path(0), Err(Errno::EFAULT));
        assert_eq!(m.bytes(0x1005, 3), Err(Errno::EFAULT));
        assert_eq!(m.bytes(u64::MAX, 3), Err(Errno::EFAULT));
    }

    #[test]
    fn long_strings_are_refused() {
        let data = vec![b'a'; PATH_MAX + 10];
        let m = SliceMem {
            base: 0,
            data: &data,
        };
        assert_eq!(m.cstring(1, 8), Err(Errno::ENAMETOOLONG));
    }
}

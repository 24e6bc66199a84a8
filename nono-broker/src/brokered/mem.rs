//! Reading the agent's syscall arguments from `/proc/<pid>/mem`. Every
//! read is a copy the broker then owns; the caller checks that the
//! notification is still valid after reading (the pid could otherwise
//! belong to another task by then).

use std::ffi::CString;
use std::fs::File;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;

/// Longest path accepted (PATH_MAX).
const PATH_MAX: usize = 4096;

pub struct Mem {
    file: File,
}

impl Mem {
    pub fn open(pid: u32) -> Result<Mem, Errno> {
        File::open(format!("/proc/{pid}/mem"))
            .map(|file| Mem { file })
            .map_err(|_| Errno::EACCES)
    }

    pub fn bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, addr)
            .map_err(|_| Errno::EFAULT)?;
        Ok(buf)
    }

    /// A NUL-terminated string of at most `max` bytes.
    pub fn cstring(&self, addr: u64, max: usize) -> Result<CString, Errno> {
        if addr == 0 {
            return Err(Errno::EFAULT);
        }
        let mut out = Vec::new();
        let mut chunk = [0u8; 256];
        while out.len() < max {
            // Reads may stop at an unmapped page; read what is there.
            let n = self
                .file
                .read_at(&mut chunk, addr + out.len() as u64)
                .map_err(|_| Errno::EFAULT)?;
            if n == 0 {
                return Err(Errno::EFAULT);
            }
            if let Some(i) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..i]);
                return CString::new(out).map_err(|_| Errno::EINVAL);
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Err(Errno::ENAMETOOLONG)
    }

    pub fn path(&self, addr: u64) -> Result<CString, Errno> {
        self.cstring(addr, PATH_MAX)
    }

    pub fn u64s<const N: usize>(&self, addr: u64) -> Result<[u64; N], Errno> {
        let b = self.bytes(addr, 8 * N)?;
        let mut out = [0u64; N];
        for (i, c) in b.chunks_exact(8).enumerate() {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            out[i] = u64::from_ne_bytes(a);
        }
        Ok(out)
    }
}

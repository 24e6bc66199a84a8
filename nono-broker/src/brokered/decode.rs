//! Turning a notification into a request the broker owns: every argument
//! that lives in the agent's memory is copied here, once, with the kernel's
//! own limits. Nothing in this file touches a descriptor or the
//! filesystem, so it is unit-tested and fuzzed on plain bytes.

use std::ffi::CString;

use nix::errno::Errno;

use super::mem::{u64s, AgentMem};
use super::meta::{self, Op};
use super::target::Named;
use crate::calls::Call;

/// Largest socket address the kernel accepts (sizeof sockaddr_storage).
pub const SOCKADDR_MAX: usize = 128;
/// Most payload the broker copies for one send. A longer stream send is
/// completed short (as the kernel may); a longer datagram is refused.
pub const SEND_MAX: usize = 256 * 1024;
/// Most ancillary data for one message (the kernel's optmem limit is lower).
pub const CONTROL_MAX: usize = 64 * 1024;
/// UIO_MAXIOV: most iovecs per message, and most messages per batch.
pub const IOV_MAX: u64 = 1024;
/// Most payload copied for one whole `sendmmsg` batch; the rest of the
/// batch is left unsent (the call reports how many messages went).
pub const BATCH_MAX: usize = 1024 * 1024;
/// sizeof(struct mmsghdr) on 64-bit: msghdr (56) + msg_len (4) + padding.
pub const MMSGHDR_SIZE: u64 = 64;
/// Offset of `msg_len` in struct mmsghdr.
pub const MMSG_LEN_OFFSET: u64 = 56;

/// One message to send, copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// The raw socket address (empty: none).
    pub name: Vec<u8>,
    /// The payload (at most [`SEND_MAX`]).
    pub data: Vec<u8>,
    /// The length the agent asked to send (may exceed `data.len()`).
    pub declared: u64,
    /// Raw ancillary data (cmsg headers included).
    pub control: Vec<u8>,
}

/// A socket call, copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockReq {
    Connect {
        fd: i32,
        addr: Vec<u8>,
    },
    Bind {
        fd: i32,
        addr: Vec<u8>,
    },
    Listen {
        fd: i32,
        backlog: i32,
    },
    /// sendto (with an address) and sendmsg.
    Send {
        fd: i32,
        msg: Msg,
        flags: i32,
    },
    /// sendmmsg: `vec` is where the agent's array lives (each sent
    /// message's `msg_len` is written back there).
    Batch {
        fd: i32,
        msgs: Vec<Msg>,
        flags: i32,
        vec: u64,
    },
}

/// What the agent asked for, copied out of its memory.
#[derive(Debug)]
pub enum Request {
    Sock(SockReq),
    Meta(Named, Op),
    Watch {
        fd: i32,
        path: CString,
        mask: u32,
    },
    /// The open family: dirfd, path, flags, mode (for O_CREAT), and
    /// openat2's `resolve` flags (0 for the others).
    Open {
        dirfd: i32,
        path: Vec<u8>,
        flags: i32,
        mode: u32,
        resolve: u64,
    },
    /// mkdir/mkdirat: dirfd, path, mode.
    Mkdir {
        dirfd: i32,
        path: Vec<u8>,
        mode: u32,
    },
    /// rename/renameat/renameat2: (dirfd, path) of the source and of the
    /// destination, flags.
    Rename {
        from: (i32, Vec<u8>),
        to: (i32, Vec<u8>),
        flags: u32,
    },
    /// symlink/symlinkat: the link's target (never resolved by the
    /// broker) and where the link goes.
    Symlink {
        target: Vec<u8>,
        at: (i32, Vec<u8>),
    },
    /// unlink/unlinkat/rmdir: dirfd, path, flags (AT_REMOVEDIR).
    Unlink {
        dirfd: i32,
        path: Vec<u8>,
        flags: i32,
    },
}

/// Decode one notification. Exhaustive over [`Call`]: every row of the
/// table is decoded here.
pub fn request(call: Call, a: &[u64; 6], mem: &dyn AgentMem) -> Result<Request, Errno> {
    let fd = a[0] as i32;
    let cwd = libc::AT_FDCWD;
    let sock = |r: SockReq| Ok(Request::Sock(r));
    let m = |named: Named, op: Op| Ok(Request::Meta(named, op));
    match call {
        Call::Connect => sock(SockReq::Connect {
            fd,
            addr: sockaddr(mem, a[1], a[2])?,
        }),
        Call::Bind => sock(SockReq::Bind {
            fd,
            addr: sockaddr(mem, a[1], a[2])?,
        }),
        Call::Listen => sock(SockReq::Listen {
            fd,
            backlog: a[1] as i32,
        }),
        Call::SendTo => sock(SockReq::Send {
            fd,
            msg: Msg {
                name: sockaddr(mem, a[4], a[5])?,
                data: payload(mem, a[1], a[2])?,
                declared: a[2],
                control: Vec::new(),
            },
            flags: a[3] as i32,
        }),
        Call::SendMsg => sock(SockReq::Send {
            fd,
            msg: msghdr(mem, a[1], SEND_MAX)?,
            flags: a[2] as i32,
        }),
        Call::SendMmsg => sock(SockReq::Batch {
            fd,
            msgs: mmsghdrs(mem, a[1], a[2])?,
            flags: a[3] as i32,
            vec: a[1],
        }),
        Call::Chmod => m(meta::path(mem, cwd, a[0], true)?, Op::Chmod(a[1] as u32)),
        Call::Fchmod => m(Named::Open(fd), Op::Chmod(a[1] as u32)),
        Call::Fchmodat => m(meta::at(mem, a, 0)?, Op::Chmod(a[2] as u32)),
        Call::Fchmodat2 => m(meta::at(mem, a, a[3])?, Op::Chmod(a[2] as u32)),
        Call::Chown => m(meta::path(mem, cwd, a[0], true)?, chown(a[1], a[2])),
        Call::Lchown => m(meta::path(mem, cwd, a[0], false)?, chown(a[1], a[2])),
        Call::Fchown => m(Named::Open(fd), chown(a[1], a[2])),
        Call::Fchownat => m(meta::at(mem, a, a[4])?, chown(a[2], a[3])),
        Call::Utime => m(
            meta::path(mem, cwd, a[0], true)?,
            Op::Times(meta::utimbuf(mem, a[1])?),
        ),
        Call::Utimes => m(
            meta::path(mem, cwd, a[0], true)?,
            Op::Times(meta::timevals(mem, a[1])?),
        ),
        Call::Futimesat => m(
            meta::path(mem, fd, a[1], true)?,
            Op::Times(meta::timevals(mem, a[2])?),
        ),
        Call::Utimensat => {
            let named = if a[1] == 0 {
                Named::Open(fd)
            } else {
                meta::at(mem, a, a[3])?
            };
            m(named, Op::Times(meta::timespecs(mem, a[2])?))
        }
        Call::Setxattr => m(meta::path(mem, cwd, a[0], true)?, meta::setxattr(mem, a)?),
        Call::Lsetxattr => m(meta::path(mem, cwd, a[0], false)?, meta::setxattr(mem, a)?),
        Call::Fsetxattr => m(Named::Open(fd), meta::setxattr(mem, a)?),
        Call::Removexattr => m(
            meta::path(mem, cwd, a[0], true)?,
            Op::RemoveXattr(meta::xattr_name(mem, a[1])?),
        ),
        Call::Lremovexattr => m(
            meta::path(mem, cwd, a[0], false)?,
            Op::RemoveXattr(meta::xattr_name(mem, a[1])?),
        ),
        Call::Fremovexattr => m(
            Named::Open(fd),
            Op::RemoveXattr(meta::xattr_name(mem, a[1])?),
        ),
        // These carry a struct; glibc does not use them yet.
        Call::Setxattrat | Call::Removexattrat => Err(Errno::ENOSYS),
        Call::InotifyAddWatch => Ok(Request::Watch {
            fd,
            path: mem.path(a[1])?,
            mask: a[2] as u32,
        }),
        Call::Open => open(cwd, mem.path(a[0])?, a[1] as i32, a[2], 0),
        Call::Creat => open(
            cwd,
            mem.path(a[0])?,
            libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
            a[1],
            0,
        ),
        Call::Openat => open(fd, mem.path(a[1])?, a[2] as i32, a[3], 0),
        Call::Openat2 => {
            let p = mem.path(a[1])?;
            let [flags, mode, resolve] = u64s::<3>(mem, a[2])?;
            open(fd, p, flags as i32, mode, resolve)
        }
        Call::Mkdir => mkdir(cwd, mem.path(a[0])?, a[1]),
        Call::Mkdirat => mkdir(fd, mem.path(a[1])?, a[2]),
        Call::Unlink => unlink(cwd, mem.path(a[0])?, 0),
        Call::Unlinkat => unlink(fd, mem.path(a[1])?, a[2] as i32),
        Call::Rmdir => unlink(cwd, mem.path(a[0])?, libc::AT_REMOVEDIR),
        Call::Symlink => Ok(Request::Symlink {
            target: mem.path(a[0])?.into_bytes(),
            at: (cwd, mem.path(a[1])?.into_bytes()),
        }),
        Call::Symlinkat => Ok(Request::Symlink {
            target: mem.path(a[0])?.into_bytes(),
            at: (a[1] as i32, mem.path(a[2])?.into_bytes()),
        }),
        Call::Rename => rename((cwd, mem.path(a[0])?), (cwd, mem.path(a[1])?), 0),
        Call::Renameat => rename((fd, mem.path(a[1])?), (a[2] as i32, mem.path(a[3])?), 0),
        Call::Renameat2 => rename(
            (fd, mem.path(a[1])?),
            (a[2] as i32, mem.path(a[3])?),
            a[4] as u32,
        ),
    }
}

fn rename(from: (i32, CString), to: (i32, CString), flags: u32) -> Result<Request, Errno> {
    Ok(Request::Rename {
        from: (from.0, from.1.into_bytes()),
        to: (to.0, to.1.into_bytes()),
        flags,
    })
}

fn unlink(dirfd: i32, path: CString, flags: i32) -> Result<Request, Errno> {
    Ok(Request::Unlink {
        dirfd,
        path: path.into_bytes(),
        flags,
    })
}

fn mkdir(dirfd: i32, path: CString, mode: u64) -> Result<Request, Errno> {
    Ok(Request::Mkdir {
        dirfd,
        path: path.into_bytes(),
        mode: mode as u32 & 0o7777,
    })
}

fn chown(uid: u64, gid: u64) -> Op {
    Op::Chown(uid as u32, gid as u32)
}

fn open(dirfd: i32, path: CString, flags: i32, mode: u64, resolve: u64) -> Result<Request, Errno> {
    Ok(Request::Open {
        dirfd,
        path: path.into_bytes(),
        flags,
        mode: mode as u32 & 0o7777,
        resolve,
    })
}

/// A socket address: `len` bytes at `addr` (none when `addr` is NULL or
/// `len` is 0), as the kernel's move_addr_to_kernel takes it.
pub fn sockaddr(mem: &dyn AgentMem, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    // The kernel takes the length as an int.
    let len = len as u32 as i32;
    if len < 0 || len as usize > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    if addr == 0 || len == 0 {
        return Ok(Vec::new());
    }
    mem.bytes(addr, len as usize)
}

/// A send buffer, cut at [`SEND_MAX`].
fn payload(mem: &dyn AgentMem, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let n = len.min(SEND_MAX as u64) as usize;
    if n == 0 {
        return Ok(Vec::new());
    }
    mem.bytes(addr, n)
}

/// struct msghdr at `addr` (64-bit layout): name, namelen, iov, iovlen,
/// control, controllen, flags. At most `budget` payload bytes are copied.
pub fn msghdr(mem: &dyn AgentMem, addr: u64, budget: usize) -> Result<Msg, Errno> {
    let [name, namelen, iov, iovlen, control, controllen, _flags] = u64s::<7>(mem, addr)?;
    if iovlen > IOV_MAX {
        return Err(Errno::EMSGSIZE);
    }
    if controllen > CONTROL_MAX as u64 {
        return Err(Errno::ENOBUFS);
    }
    let control = if control == 0 || controllen == 0 {
        Vec::new()
    } else {
        mem.bytes(control, controllen as usize)?
    };
    let mut data = Vec::new();
    let mut declared: u64 = 0;
    for i in 0..iovlen {
        let [base, len] = u64s::<2>(mem, iov.wrapping_add(16 * i))?;
        if len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        declared = declared.saturating_add(len);
        let room = budget.min(SEND_MAX).saturating_sub(data.len());
        let take = (len as usize).min(room);
        if take > 0 {
            data.extend(mem.bytes(base, take)?);
        }
    }
    Ok(Msg {
        name: sockaddr(mem, name, namelen)?,
        data,
        declared,
        control,
    })
}

/// The messages of a `sendmmsg` batch: at most [`IOV_MAX`], decoded until
/// [`BATCH_MAX`] payload bytes or the first unreadable entry (the kernel
/// also sends what precedes a bad entry). An error only when the first
/// entry cannot be read.
pub fn mmsghdrs(mem: &dyn AgentMem, vec: u64, vlen: u64) -> Result<Vec<Msg>, Errno> {
    let vlen = (vlen & 0xffff_ffff).min(IOV_MAX);
    let mut out = Vec::new();
    let mut copied = 0usize;
    for i in 0..vlen {
        let at = vec.wrapping_add(MMSGHDR_SIZE * i);
        match msghdr(mem, at, BATCH_MAX.saturating_sub(copied)) {
            Ok(m) => {
                let full = m.data.len() as u64 == m.declared;
                copied += m.data.len();
                out.push(m);
                if copied >= BATCH_MAX || !full {
                    break;
                }
            }
            Err(e) if out.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// The descriptors of SCM_RIGHTS messages in `control`, and a copy of it
/// with each replaced through `swap` (the broker's duplicates). Other
/// control messages are kept as they are. Malformed headers: EINVAL.
pub fn rights(
    control: &[u8],
    swap: &mut dyn FnMut(i32) -> Result<i32, Errno>,
) -> Result<Vec<u8>, Errno> {
    const HDR: usize = 16; // cmsg_len (size_t), cmsg_level, cmsg_type
    let mut out = control.to_vec();
    let mut off = 0usize;
    while off + HDR <= control.len() {
        let len = u64::from_ne_bytes(
            control[off..off + 8]
                .try_into()
                .map_err(|_| Errno::EINVAL)?,
        );
        let level = i32::from_ne_bytes(
            control[off + 8..off + 12]
                .try_into()
                .map_err(|_| Errno::EINVAL)?,
        );
        let ty = i32::from_ne_bytes(
            control[off + 12..off + 16]
                .try_into()
                .map_err(|_| Errno::EINVAL)?,
        );
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len < HDR || len > control.len() - off {
            return Err(Errno::EINVAL);
        }
        if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS {
            let fds = &control[off + HDR..off + len];
            if fds.len() % 4 != 0 {
                return Err(Errno::EINVAL);
            }
            for (i, c) in fds.chunks_exact(4).enumerate() {
                let theirs = i32::from_ne_bytes(c.try_into().map_err(|_| Errno::EINVAL)?);
                let ours = swap(theirs)?;
                let at = off + HDR + 4 * i;
                out[at..at + 4].copy_from_slice(&ours.to_ne_bytes());
            }
        }
        // CMSG_ALIGN to 8 bytes.
        off += (len + 7) & !7;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::mem::SliceMem;
    use super::*;

    const BASE: u64 = 0x10_0000;

    /// A little address space: `put` returns where the bytes went.
    struct Space(Vec<u8>);
    impl Space {
        fn put(&mut self, b: &[u8]) -> u64 {
            while self.0.len() % 8 != 0 {
                self.0.push(0);
            }
            let at = BASE + self.0.len() as u64;
            self.0.extend_from_slice(b);
            at
        }
        fn mem(&self) -> SliceMem<'_> {
            SliceMem {
                base: BASE,
                data: &self.0,
            }
        }
    }

    fn words(w: &[u64]) -> Vec<u8> {
        w.iter().flat_map(|x| x.to_ne_bytes()).collect()
    }

    fn sun(path: &[u8]) -> Vec<u8> {
        let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v.push(0);
        v
    }

    #[test]
    fn connect_copies_the_address_once() {
        let mut s = Space(Vec::new());
        let addr = sun(b"/tmp/x.sock");
        let p = s.put(&addr);
        let r = request(Call::Connect, &[7, p, addr.len() as u64, 0, 0, 0], &s.mem()).unwrap();
        let Request::Sock(SockReq::Connect { fd, addr: got }) = r else {
            panic!("not a connect")
        };
        assert_eq!((fd, got), (7, addr));
    }

    #[test]
    fn oversized_or_negative_address_lengths_are_einval() {
        let s = Space(vec![0; 512]);
        for len in [129u64, 0xffff_ffff, u64::MAX] {
            assert_eq!(sockaddr(&s.mem(), BASE, len), Err(Errno::EINVAL), "{len}");
        }
        assert_eq!(sockaddr(&s.mem(), 0, 16), Ok(Vec::new()));
        assert_eq!(sockaddr(&s.mem(), BASE + 500, 16), Err(Errno::EFAULT));
    }

    #[test]
    fn sendmsg_gathers_iovecs_name_and_control() {
        let mut s = Space(Vec::new());
        let (a, b) = (s.put(b"hello "), s.put(b"world"));
        let iov = s.put(&words(&[a, 6, b, 5]));
        let name = sun(b"/run/x");
        let np = s.put(&name);
        let ctl = s.put(&[1u8; 24]);
        let hdr = s.put(&words(&[np, name.len() as u64, iov, 2, ctl, 24, 0]));
        let msg = msghdr(&s.mem(), hdr, SEND_MAX).unwrap();
        assert_eq!(msg.data, b"hello world");
        assert_eq!(msg.declared, 11);
        assert_eq!(msg.name, name);
        assert_eq!(msg.control.len(), 24);
    }

    #[test]
    fn sendmsg_limits() {
        let mut s = Space(Vec::new());
        let iov = s.put(&words(&[BASE, 1]));
        let too_many = s.put(&words(&[0, 0, iov, IOV_MAX + 1, 0, 0, 0]));
        assert_eq!(msghdr(&s.mem(), too_many, SEND_MAX), Err(Errno::EMSGSIZE));
        let big_ctl = s.put(&words(&[0, 0, iov, 1, BASE, CONTROL_MAX as u64 + 1, 0]));
        assert_eq!(msghdr(&s.mem(), big_ctl, SEND_MAX), Err(Errno::ENOBUFS));
        // A huge declared length is cut at the budget, not copied whole.
        let data = s.put(&vec![7u8; 300]);
        let iov2 = s.put(&words(&[data, 300]));
        let hdr = s.put(&words(&[0, 0, iov2, 1, 0, 0, 0]));
        let m = msghdr(&s.mem(), hdr, 100).unwrap();
        assert_eq!((m.data.len(), m.declared), (100, 300));
    }

    #[test]
    fn batches_stop_at_the_first_bad_entry_after_the_first() {
        let mut s = Space(Vec::new());
        let d = s.put(b"abc");
        let iov = s.put(&words(&[d, 3]));
        let good = words(&[0, 0, iov, 1, 0, 0, 0, 0]);
        let bad = words(&[0, 0, 0xdead_0000, 1, 0, 0, 0, 0]);
        let vec = s.put(&[good.clone(), good, bad].concat());
        let msgs = mmsghdrs(&s.mem(), vec, 3).unwrap();
        assert_eq!(msgs.len(), 2);
        let first_bad = s.put(&words(&[0, 0, 0xdead_0000, 1, 0, 0, 0, 0]));
        assert_eq!(mmsghdrs(&s.mem(), first_bad, 1), Err(Errno::EFAULT));
    }

    #[test]
    fn scm_rights_are_swapped_and_other_messages_kept() {
        let mut c = Vec::new();
        c.extend(24u64.to_ne_bytes());
        c.extend(libc::SOL_SOCKET.to_ne_bytes());
        c.extend(libc::SCM_RIGHTS.to_ne_bytes());
        c.extend(5i32.to_ne_bytes());
        c.extend(6i32.to_ne_bytes());
        let mut seen = Vec::new();
        let out = rights(&c, &mut |fd| {
            seen.push(fd);
            Ok(fd + 100)
        })
        .unwrap();
        assert_eq!(seen, [5, 6]);
        assert_eq!(&out[16..20], &105i32.to_ne_bytes());
        assert_eq!(&out[20..24], &106i32.to_ne_bytes());
        // A length running past the buffer is malformed.
        let mut bad = c.clone();
        bad[..8].copy_from_slice(&64u64.to_ne_bytes());
        assert_eq!(rights(&bad, &mut |fd| Ok(fd)), Err(Errno::EINVAL));
    }

    #[test]
    fn expanded_directory_calls_copy_paths_modes_and_flags() {
        let mut s = Space(Vec::new());
        let (p, q) = (s.put(b"/h/new\0"), s.put(b"/h/other\0"));
        let open = request(
            Call::Openat,
            &[5, p, libc::O_CREAT as u64, 0o100644, 0, 0],
            &s.mem(),
        );
        let Ok(Request::Open {
            dirfd,
            path,
            flags,
            mode,
            resolve: 0,
        }) = open
        else {
            panic!("not an open")
        };
        assert_eq!(
            (dirfd, path.as_slice(), flags, mode),
            (5, &b"/h/new"[..], libc::O_CREAT, 0o644)
        );
        let mk = request(Call::Mkdirat, &[7, p, 0o755, 0, 0, 0], &s.mem());
        assert!(matches!(
            mk,
            Ok(Request::Mkdir {
                dirfd: 7,
                mode: 0o755,
                ..
            })
        ));
        let rn = request(Call::Renameat2, &[3, p, 4, q, 1, 0], &s.mem());
        let Ok(Request::Rename { from, to, flags }) = rn else {
            panic!("not a rename")
        };
        assert_eq!(
            (from.0, to.0, flags, to.1.as_slice()),
            (3, 4, 1, &b"/h/other"[..])
        );
        let rm = request(Call::Rmdir, &[p, 0, 0, 0, 0, 0], &s.mem());
        assert!(matches!(
            rm,
            Ok(Request::Unlink {
                flags: libc::AT_REMOVEDIR,
                ..
            })
        ));
        let ln = request(Call::Symlinkat, &[q, 9, p, 0, 0, 0], &s.mem());
        assert!(matches!(ln, Ok(Request::Symlink { at: (9, _), .. })));
    }

    #[test]
    fn every_call_decodes_without_panicking_on_garbage() {
        let s = Space(vec![0xff; 4096]);
        for row in crate::calls::TABLE {
            for args in [[0u64; 6], [u64::MAX; 6], [BASE; 6], [BASE + 4000; 6]] {
                let _ = request(row.call, &args, &s.mem());
            }
        }
    }
}

//! inotify watches: a watch on a directory reveals the names of files
//! created there, which Landlock does not govern. The broker resolves the
//! path itself (as the agent sees it), allows the watch only where the
//! policy grants read, and adds it on its own duplicate of the agent's
//! inotify descriptor through `/proc/self/fd/N` of the object it judged.

use std::ffi::CStr;
use std::os::fd::AsFd;

use nix::errno::Errno;

use super::target::{hold, proc_path, Held, Named};
use super::{Grants, Verdict};
use crate::sys;

pub fn decide(tid: u32, fd: i32, path: &CStr, mask: u32, g: &Grants) -> Verdict {
    let follow = mask & libc::IN_DONT_FOLLOW == 0;
    let named = Named::Path {
        dirfd: libc::AT_FDCWD,
        path: path.to_owned(),
        follow,
    };
    let Held { fd: held, path } = match hold(tid, &named) {
        Ok(h) => h,
        Err(e) => return Verdict::Reply(Err(e)),
    };
    let Some(real) = path else {
        return Verdict::Reply(Err(Errno::EACCES));
    };
    if !g.readable(&real) {
        return Verdict::Judged {
            reply: Err(Errno::EACCES),
            op: "watch",
            path: real.display().to_string(),
            allowed: false,
            why: ipc::broker::BrokeredReason::OutsideReadGrants,
        };
    }
    let inotify = match sys::borrow_fd(tid, fd) {
        Ok(i) => i,
        Err(e) => return Verdict::Reply(Err(e)),
    };
    // The held object is reached through its magic link, which must be
    // followed; the agent's IN_DONT_FOLLOW was honoured when resolving.
    let mask = mask & !libc::IN_DONT_FOLLOW;
    Verdict::Reply(sys::inotify_add_watch(
        inotify.as_fd(),
        &proc_path(&held),
        mask,
    ))
}

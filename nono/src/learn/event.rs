//! What `nono learn` found, as data: the events the trace parser
//! (`events.rs`, `net.rs`) produces and the analysis (`analyse.rs`) groups.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    Write,
}

/// What is accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// The file itself (or a directory opened for listing, with `Read`).
    Node,
    /// An entry created or removed in this directory.
    Entry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Fs {
        path: PathBuf,
        access: Access,
        target: Target,
    },
    Connect {
        addr: SocketAddr,
        udp: bool,
    },
    Listen {
        port: u16,
    },
    Unix {
        path: PathBuf,
        bind: bool,
    },
    Dns {
        name: String,
        addrs: Vec<IpAddr>,
    },
}

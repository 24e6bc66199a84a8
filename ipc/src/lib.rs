//! Wire protocol between `nono` and its helpers.
//!
//! One `SOCK_SEQPACKET` socketpair per channel; one message family per
//! channel ([`broker`], [`keyholder`], [`signing`], [`proxy`]), each a `…Request` /
//! `…Response` pair. An [`Endpoint`] is typed by the family, so a side can
//! only send its own family's messages. Frames are encoded by [`codec`]
//! (bincode 2 behind a wrapper) with a hard size limit checked on send and
//! on receive before decoding; trailing bytes are rejected; at most
//! [`MAX_FDS`] descriptors travel with one frame. A payload larger than a
//! frame (the broker's launch plan) goes in a [`sealed`] memory file,
//! bounded by [`MAX_PLAN`]. What the user wrote (credential references
//! in [`reference`], host rules in [`hostrules`]) crosses parsed, and the
//! helpers report their reasons as data (`broker::BrokeredReason`,
//! `proxy::ProxyReason`). Malformed or unexpected
//! input from the less trusted side is an error that ends the session:
//! nothing here tries to resynchronise.

pub mod broker;
mod channel;
pub mod codec;
pub mod credentials;
pub mod hello;
pub mod hostrules;
pub mod keyholder;
pub mod proxy;
pub mod reference;
pub mod sealed;
pub mod signing;
mod sys;

pub use channel::{socketpair, Endpoint};

/// Protocol version, exchanged in the first message of every channel.
pub const PROTOCOL_VERSION: u32 = 3;
/// Largest frame, in bytes, on send and on receive.
pub const MAX_FRAME: usize = 128 * 1024;
/// Largest payload passed in a sealed memory file ([`sealed`]): the
/// broker's launch plan (argv, environment, grants). Far above what the
/// kernel accepts for exec (argv + environment: a quarter of the stack
/// limit, at most 6 MiB); it only bounds the broker's allocation.
pub const MAX_PLAN: usize = 64 * 1024 * 1024;
/// Most descriptors passed with one frame (the proxy's listener plus up
/// to [`MAX_FORWARDS`] forwarded loopback addresses).
pub const MAX_FDS: usize = 16;
/// Most loopback destinations forwarded into the agent's namespace.
pub const MAX_FORWARDS: usize = MAX_FDS - 1;
/// The descriptor number a helper finds its channel at.
pub const CHANNEL_FD: i32 = 3;
/// The descriptor of the keyholder-to-consumer credentials channel.
pub const CREDENTIALS_FD: i32 = 4;

/// Why an `ipc` operation failed: a channel operation (every such variant
/// ends the session), or wire data the front end could not build from
/// what the user wrote (a credential reference, a host rule).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpcError {
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    FrameTooLarge(usize),
    #[error("a payload of {0} bytes exceeds the {1}-byte limit")]
    PayloadTooLarge(usize, usize),
    #[error("sealed payload refused: {0}")]
    Sealed(&'static str),
    #[error("{0} descriptors exceed the limit of {MAX_FDS}")]
    TooManyFds(usize),
    #[error("cannot encode message: {0}")]
    Encode(String),
    #[error("malformed message: {0}")]
    Decode(String),
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    #[error("peer closed the channel")]
    Closed,
    #[error("protocol version mismatch: ours {ours}, peer {theirs}")]
    Version { ours: u32, theirs: u32 },
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    #[error("channel I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{reference}: {why}")]
    Reference {
        reference: String,
        why: &'static str,
    },
    #[error("unknown credential reference scheme in {0}; use NAME or keystore://NAME, keyring://SERVICE/ACCOUNT, kernel://NAME, env://VAR, file:///PATH or op://VAULT/ITEM/FIELD")]
    UnknownScheme(String),
    #[error("apple-password:// references need macOS Passwords and are not available on Linux")]
    MacOnlyReference,
    #[error("path pattern '{0}' must start with '/'")]
    PathPattern(String),
    #[error("'{entry}': {why}")]
    HostRule { entry: String, why: String },
}

pub type Result<T> = std::result::Result<T, IpcError>;

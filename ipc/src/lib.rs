//! Wire protocol between `nono` and its helpers.
//!
//! Planned layout (see ARCHITECTURE.md): one `SOCK_SEQPACKET` socketpair per
//! channel and one message family per channel (`keyholder`, `proxy`,
//! `broker`), each a `…Request`/`…Response` pair, encoded behind `codec`
//! with a maximum frame size checked before allocation and a capped count of
//! passed descriptors. Nothing is defined yet: no helper is started in this
//! release.

#![forbid(unsafe_code)]

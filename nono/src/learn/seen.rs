//! What the proxy saw during `nono learn --sandboxed`, filled by two
//! one-line hooks in `launch/proxy.rs` and read by `sandboxed.rs`. A slot
//! of its own, so the launch code reaches it without depending on `learn`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ipc::proxy::ProxyEvent;

/// What the proxy saw in this session: its port, and every (host, port)
/// with whether it was let through. None outside `learn --sandboxed`.
static SEEN: Mutex<Option<Seen>> = Mutex::new(None);

#[derive(Debug, Default)]
pub struct Seen {
    pub proxy_port: Option<u16>,
    pub hosts: BTreeMap<(String, u16), bool>,
}

pub fn seen() -> std::sync::MutexGuard<'static, Option<Seen>> {
    SEEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hook: the proxy listens on `port` (connections to it are not
/// destinations of their own).
pub fn proxy_port(port: u16) {
    if let Some(s) = seen().as_mut() {
        s.proxy_port = Some(port);
    }
}

/// Hook: one decision of the proxy.
pub fn proxy_event(e: &ProxyEvent) {
    if e.host.is_empty() || e.port == 0 {
        return;
    }
    if let Some(s) = seen().as_mut() {
        let allowed = s.hosts.entry((e.host.clone(), e.port)).or_insert(false);
        *allowed |= e.allowed;
    }
}

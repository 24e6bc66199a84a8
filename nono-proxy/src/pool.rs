//! Reuse of upstream HTTP/1.1 connections between relayed requests.
//!
//! A connection is only ever reused for the same checked destination: the
//! key is the scheme, the host as the agent named it, the port, the dial
//! decision (direct or through the upstream proxy; both follow from the
//! configuration, so the same host always gets the same one) and the
//! credential route, if any — a route's connections never serve another
//! route or a request without a credential. The address was checked when
//! the connection was dialled; the policy is checked again for every
//! request before the pool is asked.
//!
//! A connection goes back only once hyper reports it idle after a complete
//! response that allows keep-alive; never after an error, an upgrade or a
//! `Connection: close`. Idle connections are bounded in number (per key
//! and in all) and in time (`reap`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::Response;

/// How long a connection may sit idle before it is closed.
pub const IDLE_FOR: Duration = Duration::from_secs(30);
/// Idle connections kept per destination.
const PER_KEY: usize = 4;
/// Idle connections kept in all.
const TOTAL: usize = 32;

pub type Sender = SendRequest<Incoming>;

/// One checked destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub via_upstream_proxy: bool,
    /// The credential route whose requests use it, if any.
    pub route: Option<String>,
}

struct Idle {
    send: Sender,
    since: Instant,
}

#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<Key, Vec<Idle>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pool(..)")
    }
}

/// Whether a response leaves its connection reusable (hyper closes it
/// anyway on `Connection: close` or HTTP/1.0 without keep-alive; an
/// upgrade hands the connection over).
pub fn reusable<B>(resp: &Response<B>) -> bool {
    let closes = resp
        .headers()
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"));
    !closes
        && resp.status() != hyper::StatusCode::SWITCHING_PROTOCOLS
        && resp.version() == hyper::Version::HTTP_11
}

impl Pool {
    /// An idle, open connection for `key`, most recently used first.
    pub fn take(&self, key: &Key) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(key)?;
        while let Some(c) = list.pop() {
            if c.since.elapsed() < IDLE_FOR && c.send.is_ready() {
                return Some(c.send);
            }
        }
        idle.remove(key);
        None
    }

    /// Put `send` back once its response has been read to the end and the
    /// connection is idle; a connection that closes instead is dropped.
    pub fn recycle(self: &Arc<Self>, key: Key, mut send: Sender) {
        let pool = self.clone();
        tokio::spawn(async move {
            if send.ready().await.is_ok() {
                pool.put(key, send);
            }
        });
    }

    fn put(&self, key: Key, send: Sender) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let total: usize = idle.values().map(Vec::len).sum();
        let list = idle.entry(key).or_default();
        if list.len() < PER_KEY && total < TOTAL {
            list.push(Idle {
                send,
                since: Instant::now(),
            });
        }
    }

    /// Close connections idle for longer than `IDLE_FOR` or already closed.
    pub fn reap(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            for list in idle.values_mut() {
                list.retain(|c| c.since.elapsed() < IDLE_FOR && !c.send.is_closed());
            }
            idle.retain(|_, l| !l.is_empty());
        }
    }
}

/// Reap the pool every few seconds, for as long as the proxy serves.
pub async fn reaper(pool: Arc<Pool>) {
    let mut tick = tokio::time::interval(IDLE_FOR / 6);
    loop {
        tick.tick().await;
        pool.reap();
    }
}

#[cfg(test)]
mod tests {
    use super::reusable;
    use hyper::{Response, StatusCode, Version};

    fn resp(version: Version, status: StatusCode, connection: Option<&str>) -> Response<()> {
        let mut b = Response::builder().version(version).status(status);
        if let Some(c) = connection {
            b = b.header("connection", c);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn only_complete_keep_alive_responses_leave_a_connection_reusable() {
        assert!(reusable(&resp(Version::HTTP_11, StatusCode::OK, None)));
        assert!(reusable(&resp(
            Version::HTTP_11,
            StatusCode::NOT_FOUND,
            Some("keep-alive")
        )));
        for c in ["close", "Close", "keep-alive, close", "x,CLOSE "] {
            assert!(
                !reusable(&resp(Version::HTTP_11, StatusCode::OK, Some(c))),
                "{c}"
            );
        }
        assert!(!reusable(&resp(Version::HTTP_10, StatusCode::OK, None)));
        assert!(!reusable(&resp(
            Version::HTTP_11,
            StatusCode::SWITCHING_PROTOCOLS,
            None
        )));
    }
}

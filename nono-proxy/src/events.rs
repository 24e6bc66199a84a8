//! Decisions go to the front end (`ipc::proxy` `Event`) from one writer
//! thread, so a slow reader never blocks a proxy worker.

use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use ipc::proxy::{ProxyEvent, ProxyReason, ProxyRequest, ProxyResponse};
use ipc::Endpoint;

pub type Channel = Endpoint<ProxyResponse, ProxyRequest>;

/// `None` ends the proxy once every event queued before it is sent.
#[derive(Debug, Clone)]
pub struct Events {
    tx: Sender<Option<ProxyEvent>>,
}

impl Events {
    /// Start the writer thread on the shared channel.
    pub fn start(chan: Arc<Channel>) -> Events {
        let (tx, rx) = channel::<Option<ProxyEvent>>();
        std::thread::spawn(move || {
            for ev in rx {
                let Some(ev) = ev else {
                    // The front end hung up after the session: all is sent.
                    std::process::exit(0);
                };
                if chan.send(&ProxyResponse::Event(ev), &[]).is_err() {
                    // The front end is gone: the session is over.
                    std::process::exit(0);
                }
            }
        });
        Events { tx }
    }

    /// Send what is queued, then exit (the front end is draining: it reads
    /// until the channel closes).
    pub fn finish(&self) {
        let _ = self.tx.send(None);
    }

    pub fn emit(
        &self,
        allowed: bool,
        kind: &str,
        host: &str,
        port: u16,
        path: &str,
        reason: ProxyReason,
    ) {
        let _ = self.tx.send(Some(ProxyEvent {
            allowed,
            kind: kind.to_string(),
            host: host.to_string(),
            port,
            path: path.chars().take(512).collect(),
            reason,
        }));
    }
}

//! Decisions go to the front end (`ipc::proxy` `Event`) from one writer
//! thread, so a slow reader never blocks a proxy worker.

use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use ipc::proxy::{ProxyEvent, ProxyRequest, ProxyResponse};
use ipc::Endpoint;

pub type Channel = Endpoint<ProxyResponse, ProxyRequest>;

#[derive(Debug, Clone)]
pub struct Events {
    tx: Sender<ProxyEvent>,
}

impl Events {
    /// Start the writer thread on the shared channel.
    pub fn start(chan: Arc<Channel>) -> Events {
        let (tx, rx) = channel::<ProxyEvent>();
        std::thread::spawn(move || {
            for ev in rx {
                if chan.send(&ProxyResponse::Event(ev), &[]).is_err() {
                    // The front end is gone: the session is over.
                    std::process::exit(0);
                }
            }
        });
        Events { tx }
    }

    pub fn emit(&self, allowed: bool, kind: &str, host: &str, port: u16, path: &str, reason: &str) {
        let _ = self.tx.send(ProxyEvent {
            allowed,
            kind: kind.to_string(),
            host: host.to_string(),
            port,
            path: path.chars().take(512).collect(),
            reason: reason.to_string(),
        });
    }
}

//! `ipc::proxy`: the front end and `nono-proxy` (not started yet).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyRequest {
    Hello { version: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyResponse {
    Hello { version: u32 },
}

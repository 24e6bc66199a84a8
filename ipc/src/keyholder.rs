//! `ipc::keyholder`: the front end and `nono-keyholder` (not started yet).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyholderRequest {
    Hello {
        version: u32,
    },
    /// Look up credential references (`name`, `env://VAR`, `file://PATH`, ...).
    Fetch {
        refs: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyholderResponse {
    Hello {
        version: u32,
    },
    Secret {
        reference: String,
        value: Zeroizing<Vec<u8>>,
    },
    NotFound {
        reference: String,
    },
    Failed {
        reference: String,
        message: String,
    },
    Done,
}

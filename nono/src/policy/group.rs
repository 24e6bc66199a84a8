//! One policy group in the built-in format (`profiles/groups.toml`, and
//! the user's `groups.toml`): grants and protections by path.

use serde::{Deserialize, Serialize};

/// One protected path and what `why` calls it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DenyEntry {
    pub path: String,
    pub category: String,
}

/// A named set of grants and protections.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readwrite: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<DenyEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_write: Vec<DenyEntry>,
}

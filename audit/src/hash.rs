//! The integrity layer's hashes, each with its own domain prefix so a
//! value of one kind can never stand for another:
//!
//! ```text
//! field  = SHA256("nono-audit-field-v1\0" name "\0" canonical-JSON(value))
//! leaf   = SHA256("nono-audit-leaf-v1\0" seq(u64 BE) { name "\0" hex(field) "\n" }*)  names sorted
//! chain0 = SHA256("nono-audit-chain-v1\0" session-id)
//! chainN = SHA256(chainN-1 || leafN)
//! root   = Merkle over SHA256(0x00 || leaf); node = SHA256(0x01 || left || right);
//!          an odd node is carried up; no events: SHA256("nono-audit-empty-v1")
//! ```

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn hex(h: &Hash) -> String {
    trust::keys::hex(h)
}

pub fn field(name: &str, value: &serde_json::Value) -> Hash {
    let mut d = Sha256::new();
    d.update(b"nono-audit-field-v1\0");
    d.update(name.as_bytes());
    d.update(b"\0");
    d.update(value.to_string().as_bytes());
    d.finalize().into()
}

/// Field digests (hex) of one event: `time`, `kind`, and `data.KEY` for
/// each key of its data object (the whole `data` when it is no object).
pub fn fields(time: &str, kind: &str, data: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("time".into(), hex(&field("time", &time.into())));
    out.insert("kind".into(), hex(&field("kind", &kind.into())));
    match data.as_object() {
        Some(map) => {
            for (k, v) in map {
                let name = format!("data.{k}");
                out.insert(name.clone(), hex(&field(&name, v)));
            }
        }
        None => {
            out.insert("data".into(), hex(&field("data", data)));
        }
    }
    out
}

pub fn leaf(seq: u64, fields: &BTreeMap<String, String>) -> Hash {
    let mut d = Sha256::new();
    d.update(b"nono-audit-leaf-v1\0");
    d.update(seq.to_be_bytes());
    for (name, h) in fields {
        d.update(name.as_bytes());
        d.update(b"\0");
        d.update(h.as_bytes());
        d.update(b"\n");
    }
    d.finalize().into()
}

pub fn genesis(session_id: &str) -> Hash {
    let mut d = Sha256::new();
    d.update(b"nono-audit-chain-v1\0");
    d.update(session_id.as_bytes());
    d.finalize().into()
}

pub fn chain(prev: &Hash, leaf: &Hash) -> Hash {
    let mut d = Sha256::new();
    d.update(prev);
    d.update(leaf);
    d.finalize().into()
}

pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Sha256::digest(b"nono-audit-empty-v1").into();
    }
    let mut level: Vec<Hash> = leaves
        .iter()
        .map(|l| {
            let mut d = Sha256::new();
            d.update([0u8]);
            d.update(l);
            d.finalize().into()
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(r) => {
                    let mut d = Sha256::new();
                    d.update([1u8]);
                    d.update(pair[0]);
                    d.update(r);
                    d.finalize().into()
                }
                None => pair[0],
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_depends_on_order_and_count() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]));
        assert_ne!(merkle_root(&[a]), merkle_root(&[a, a]));
        assert_ne!(merkle_root(&[]), merkle_root(&[a]));
    }
}

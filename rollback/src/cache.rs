//! The metadata cache: which content a file had when it was last read,
//! keyed by (device, inode) and vouching only while the file's size, mtime,
//! ctime and mode are all unchanged. ctime cannot be set by the file's
//! owner, so a rewrite that restores the mtime (`touch -d`) still misses.
//! A file whose mtime or ctime is within [`RACY_NS`] of the moment it was
//! read is never cached: a write in the same clock tick as the read would
//! leave the same stamp (git's "racily clean" index entries).
//!
//! On disk (`cache.bin`): a magic line, then fixed 80-byte little-endian
//! records, then the SHA-256 of everything before it. A file that does not
//! check out is treated as empty: the cache can only save work, never
//! decide content.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::unix::fs::MetadataExt;

use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"nono-rollback-cache-v2\n";
const RECORD: usize = 80;
/// Files changed this close to being read are not cached (nanoseconds).
pub const RACY_NS: i64 = 2_000_000_000;

/// What a file looked like when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
}

impl Stamp {
    pub fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
            ctime_ns: m.ctime().saturating_mul(1_000_000_000) + m.ctime_nsec(),
            mode: m.mode(),
        }
    }

    /// Whether the file changed too close to `read_ns` (wall clock, ns) for
    /// its stamp to prove a later change would show.
    pub fn racy(&self, read_ns: i64) -> bool {
        self.mtime_ns.max(self.ctime_ns) > read_ns.saturating_sub(RACY_NS)
    }
}

/// The wall clock in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    mode: u32,
    /// The content is stored as a blob (not only hashed).
    stored: bool,
    digest: [u8; 32],
}

/// Inode numbers are already well spread: a multiplicative mix is enough.
#[derive(Debug, Default)]
pub struct InodeHasher(u64);

impl Hasher for InodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Map = HashMap<(u64, u64), Hit, BuildHasherDefault<InodeHasher>>;

#[derive(Debug, Default, Clone)]
pub struct Cache {
    map: Map,
    changed: bool,
    /// The store's collection generation this cache was loaded at.
    pub(crate) generation: u64,
}

impl Cache {
    /// The digest the cache vouches for, if `stamp` is exactly what was
    /// recorded (and, with `need_blob`, the content was stored).
    pub fn get(&self, stamp: &Stamp, need_blob: bool) -> Option<[u8; 32]> {
        let h = self.map.get(&(stamp.dev, stamp.ino))?;
        let same = h.size == stamp.size
            && h.mtime_ns == stamp.mtime_ns
            && h.ctime_ns == stamp.ctime_ns
            && h.mode == stamp.mode;
        (same && (h.stored || !need_blob)).then_some(h.digest)
    }

    /// Record a file read at `read_ns`; racy stamps are left out.
    pub fn put(&mut self, stamp: &Stamp, digest: [u8; 32], stored: bool, read_ns: i64) {
        if stamp.racy(read_ns) {
            return;
        }
        let hit = Hit {
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            ctime_ns: stamp.ctime_ns,
            mode: stamp.mode,
            stored,
            digest,
        };
        if self.map.insert((stamp.dev, stamp.ino), hit) != Some(hit) {
            self.changed = true;
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Whether anything was added since it was loaded or last saved.
    pub fn changed(&self) -> bool {
        self.changed
    }

    pub fn mark_saved(&mut self) {
        self.changed = false;
    }

    /// Keep only the entries whose digest `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8; 32]) -> bool) {
        let before = self.map.len();
        self.map.retain(|_, h| keep(&h.digest));
        self.changed |= self.map.len() != before;
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + self.map.len() * RECORD + 32);
        out.extend_from_slice(MAGIC);
        for ((dev, ino), h) in &self.map {
            out.extend_from_slice(&dev.to_le_bytes());
            out.extend_from_slice(&ino.to_le_bytes());
            out.extend_from_slice(&h.size.to_le_bytes());
            out.extend_from_slice(&h.mtime_ns.to_le_bytes());
            out.extend_from_slice(&h.ctime_ns.to_le_bytes());
            out.extend_from_slice(&h.mode.to_le_bytes());
            out.extend_from_slice(&u32::from(h.stored).to_le_bytes());
            out.extend_from_slice(&h.digest);
        }
        let sum: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&sum);
        out
    }

    /// The cache in `bytes`, or `None` if they are not one, whole.
    pub fn decode(bytes: &[u8]) -> Option<Cache> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        let records = body.strip_prefix(MAGIC)?;
        if records.len() % RECORD != 0 || Sha256::digest(body).as_slice() != sum {
            return None;
        }
        let mut map = Map::with_capacity_and_hasher(records.len() / RECORD, Default::default());
        for r in records.chunks_exact(RECORD) {
            let (key, hit) = record(r)?;
            map.insert(key, hit);
        }
        Some(Cache {
            map,
            changed: false,
            generation: 0,
        })
    }
}

fn record(r: &[u8]) -> Option<((u64, u64), Hit)> {
    let u64_at = |i: usize| r.get(i..i + 8)?.try_into().ok().map(u64::from_le_bytes);
    let i64_at = |i: usize| r.get(i..i + 8)?.try_into().ok().map(i64::from_le_bytes);
    let u32_at = |i: usize| r.get(i..i + 4)?.try_into().ok().map(u32::from_le_bytes);
    let hit = Hit {
        size: u64_at(16)?,
        mtime_ns: i64_at(24)?,
        ctime_ns: i64_at(32)?,
        mode: u32_at(40)?,
        stored: u32_at(44)? == 1,
        digest: r.get(48..80)?.try_into().ok()?,
    };
    Some(((u64_at(0)?, u64_at(8)?), hit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(ino: u64, ctime_ns: i64) -> Stamp {
        Stamp {
            dev: 7,
            ino,
            size: 10,
            mtime_ns: 1_000,
            ctime_ns,
            mode: 0o100644,
        }
    }

    #[test]
    fn vouches_only_for_the_exact_stamp() {
        let mut c = Cache::default();
        c.put(&stamp(1, 2_000), [1; 32], true, i64::MAX / 2);
        assert_eq!(c.get(&stamp(1, 2_000), true), Some([1; 32]));
        assert_eq!(c.get(&stamp(1, 2_001), false), None, "ctime differs");
        assert_eq!(c.get(&stamp(2, 2_000), false), None, "another inode");
        let mut grown = stamp(1, 2_000);
        grown.size = 11;
        assert_eq!(c.get(&grown, false), None);
        let mut chmod = stamp(1, 2_000);
        chmod.mode = 0o100755;
        assert_eq!(c.get(&chmod, false), None);
    }

    #[test]
    fn hashed_only_does_not_vouch_for_a_blob_and_racy_is_not_cached() {
        let mut c = Cache::default();
        c.put(&stamp(1, 2_000), [1; 32], false, i64::MAX / 2);
        assert_eq!(c.get(&stamp(1, 2_000), true), None);
        assert_eq!(c.get(&stamp(1, 2_000), false), Some([1; 32]));
        c.put(&stamp(3, 2_000), [3; 32], true, 2_000 + RACY_NS / 2);
        assert_eq!(c.get(&stamp(3, 2_000), false), None, "racy entry kept");
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let mut c = Cache::default();
        for i in 0..100 {
            c.put(
                &stamp(i, 5_000 + i as i64),
                [i as u8; 32],
                i % 2 == 0,
                i64::MAX / 2,
            );
        }
        let bytes = c.encode();
        let back = Cache::decode(&bytes).unwrap();
        assert_eq!(back.len(), 100);
        assert_eq!(back.get(&stamp(4, 5_004), true), Some([4; 32]));
        assert_eq!(back.get(&stamp(5, 5_005), true), None);
        let mut bad = bytes.clone();
        bad[MAGIC.len() + 3] ^= 1;
        assert!(Cache::decode(&bad).is_none());
        assert!(Cache::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(Cache::decode(b"").is_none());
    }
}

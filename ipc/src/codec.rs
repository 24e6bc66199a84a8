//! Encoding of one message into one frame. The only place that knows the
//! wire format (bincode 2, fixed-int little-endian, limited), so it can be
//! swapped without touching the families.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{IpcError, Result, MAX_FRAME, MAX_PLAN};

fn config<const LIMIT: usize>() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<LIMIT>()
}

/// Encode `msg`; fails if the frame would exceed [`MAX_FRAME`].
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    encode_within::<T, MAX_FRAME>(msg).map_err(|e| match e {
        IpcError::PayloadTooLarge(n, _) => IpcError::FrameTooLarge(n),
        e => e,
    })
}

/// Decode exactly one message from `frame`; the size limit bounds every
/// allocation the decoder makes, and trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T> {
    if frame.len() > MAX_FRAME {
        return Err(IpcError::FrameTooLarge(frame.len()));
    }
    decode_within::<T, MAX_FRAME>(frame)
}

/// Encode a payload for a sealed memory file, within [`MAX_PLAN`].
pub fn encode_plan<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    encode_within::<T, MAX_PLAN>(msg)
}

/// Decode a payload read from a sealed memory file, within [`MAX_PLAN`].
pub fn decode_plan<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_PLAN {
        return Err(IpcError::PayloadTooLarge(bytes.len(), MAX_PLAN));
    }
    decode_within::<T, MAX_PLAN>(bytes)
}

fn encode_within<T: Serialize, const LIMIT: usize>(msg: &T) -> Result<Vec<u8>> {
    let bytes = bincode::serde::encode_to_vec(msg, config::<LIMIT>())
        .map_err(|e| IpcError::Encode(e.to_string()))?;
    if bytes.len() > LIMIT {
        return Err(IpcError::PayloadTooLarge(bytes.len(), LIMIT));
    }
    Ok(bytes)
}

fn decode_within<T: DeserializeOwned, const LIMIT: usize>(bytes: &[u8]) -> Result<T> {
    let (msg, used) = bincode::serde::decode_from_slice(bytes, config::<LIMIT>())
        .map_err(|e| IpcError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(IpcError::TrailingBytes(bytes.len() - used));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{BrokerRequest, BrokerResponse};

    #[test]
    fn round_trip() {
        let m = BrokerResponse::Exited { code: 42 };
        assert_eq!(decode::<BrokerResponse>(&encode(&m).unwrap()).unwrap(), m);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut f = encode(&BrokerResponse::Exited { code: 1 }).unwrap();
        f.push(0);
        assert!(matches!(
            decode::<BrokerResponse>(&f),
            Err(IpcError::TrailingBytes(1))
        ));
    }

    #[test]
    fn oversized_and_lying_lengths_are_rejected_without_allocating() {
        assert!(matches!(
            decode::<BrokerRequest>(&vec![0u8; MAX_FRAME + 1]),
            Err(IpcError::FrameTooLarge(_))
        ));
        // A Network whose forwards claim 2^64 entries must fail on the limit, not allocate.
        let mut f = 1u32.to_le_bytes().to_vec(); // variant index of Network
        f.extend_from_slice(&0u16.to_le_bytes());
        f.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode::<BrokerRequest>(&f).is_err());
        // The same for a launch plan whose program claims 2^64 bytes.
        assert!(decode_plan::<crate::broker::LaunchSpec>(&u64::MAX.to_le_bytes()).is_err());
        assert!(matches!(
            decode_plan::<crate::broker::LaunchSpec>(&vec![0u8; MAX_PLAN + 1]),
            Err(IpcError::PayloadTooLarge(_, MAX_PLAN))
        ));
        let huge = BrokerRequest::Signal { signal: 1 };
        assert!(encode(&huge).is_ok());
    }

    #[test]
    fn truncated_frames_are_rejected() {
        let f = encode(&BrokerResponse::Started {
            pid: 1234,
            sync_wakeups: true,
        })
        .unwrap();
        for cut in 0..f.len() {
            assert!(decode::<BrokerResponse>(&f[..cut]).is_err(), "cut at {cut}");
        }
    }
}

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
        // A Network whose forwards claim more entries than the frame could
        // hold: sequences are read element by element (serde's cautious
        // size hint bounds any preallocation), so the claim runs out of
        // input inside the frame instead of allocating what it claims.
        let network = encode(&BrokerRequest::Network {
            port: 0,
            forwards: Vec::new(),
        })
        .unwrap();
        for claim in [MAX_FRAME as u64 + 1, u64::MAX] {
            let mut f = network[..4].to_vec(); // Network's own variant index
            f.extend_from_slice(&0u16.to_le_bytes());
            f.extend_from_slice(&claim.to_le_bytes());
            assert!(
                matches!(decode::<BrokerRequest>(&f), Err(IpcError::Decode(_))),
                "claim {claim}"
            );
        }
        // The same for a launch plan whose program claims 2^64 bytes.
        let spec = crate::broker::LaunchSpec {
            program: b"PROG".to_vec(),
            argv: Vec::new(),
            env: Vec::new(),
            caps: crate::broker::WireCaps {
                grants: Vec::new(),
                network: crate::broker::WireNetwork::Allowed,
                tcp_connect_ports: Vec::new(),
                tcp_bind_ports: Vec::new(),
                sysv_ipc: crate::broker::WireSysvIpc::Private,
                learn: false,
            },
            credential_vars: Vec::new(),
            unix_grants: Vec::new(),
            elevation: None,
            parents: None,
        };
        let mut plan = encode_plan(&spec).unwrap();
        let at = plan.windows(4).position(|w| w == b"PROG").unwrap() - 8;
        assert_eq!(plan[at..at + 8], 4u64.to_le_bytes());
        // Likewise: the lying length runs out of input, which the sealed
        // file's size bounds.
        for claim in [MAX_PLAN as u64 + 1, u64::MAX] {
            plan[at..at + 8].copy_from_slice(&claim.to_le_bytes());
            assert!(matches!(
                decode_plan::<crate::broker::LaunchSpec>(&plan),
                Err(IpcError::Decode(_))
            ));
        }
        assert!(matches!(
            decode_plan::<crate::broker::LaunchSpec>(&vec![0u8; MAX_PLAN + 1]),
            Err(IpcError::PayloadTooLarge(_, MAX_PLAN))
        ));
    }

    #[test]
    fn a_message_over_the_frame_limit_is_not_encoded() {
        let huge = BrokerResponse::Failed {
            message: "x".repeat(MAX_FRAME),
            exit_code: 1,
        };
        assert!(encode(&huge).is_err());
        let fits = BrokerResponse::Failed {
            message: "x".repeat(MAX_FRAME / 2),
            exit_code: 1,
        };
        assert!(decode::<BrokerResponse>(&encode(&fits).unwrap()).is_ok());
    }

    #[test]
    fn truncated_frames_are_rejected() {
        let f = encode(&BrokerResponse::Started {
            pid: 1234,
            sync_wakeups: true,
            pid_namespace: true,
            opens_notified: false,
        })
        .unwrap();
        for cut in 0..f.len() {
            assert!(decode::<BrokerResponse>(&f[..cut]).is_err(), "cut at {cut}");
        }
    }
}

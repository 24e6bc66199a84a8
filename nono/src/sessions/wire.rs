//! The attach protocol, over the session's `attach.sock` (a unix socket in
//! the user's private session directory): frames of a tag byte, a 32-bit
//! big-endian length and the payload.
//!
//! client → supervisor: `i` input bytes, `w` window size (rows, cols as
//! two 16-bit big-endian numbers).
//! supervisor → client: `o` output bytes, `x` the session ended (exit
//! status, 32-bit), `r` refused (a message).

/// Largest frame payload accepted.
pub const MAX_PAYLOAD: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Input(Vec<u8>),
    Size { rows: u16, cols: u16 },
    Output(Vec<u8>),
    Ended(i32),
    Refused(String),
}

pub fn encode(f: &Frame) -> Vec<u8> {
    let (tag, payload): (u8, Vec<u8>) = match f {
        Frame::Input(b) => (b'i', b.clone()),
        Frame::Size { rows, cols } => (b'w', [rows.to_be_bytes(), cols.to_be_bytes()].concat()),
        Frame::Output(b) => (b'o', b.clone()),
        Frame::Ended(code) => (b'x', code.to_be_bytes().to_vec()),
        Frame::Refused(m) => (b'r', m.as_bytes().to_vec()),
    };
    let mut out = Vec::with_capacity(5 + payload.len());
    out.push(tag);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Take one complete frame off the front of `buf`. `Err` on a malformed
/// frame (the peer is dropped).
pub fn decode(buf: &mut Vec<u8>) -> Result<Option<Frame>, String> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(format!("frame of {len} bytes"));
    }
    if buf.len() < 5 + len {
        return Ok(None);
    }
    let tag = buf[0];
    let payload: Vec<u8> = buf.drain(..5 + len).skip(5).collect();
    let frame = match (tag, payload.len()) {
        (b'i', _) => Frame::Input(payload),
        (b'w', 4) => Frame::Size {
            rows: u16::from_be_bytes([payload[0], payload[1]]),
            cols: u16::from_be_bytes([payload[2], payload[3]]),
        },
        (b'o', _) => Frame::Output(payload),
        (b'x', 4) => Frame::Ended(i32::from_be_bytes([
            payload[0], payload[1], payload[2], payload[3],
        ])),
        (b'r', _) => Frame::Refused(String::from_utf8_lossy(&payload).into_owned()),
        _ => return Err(format!("unknown frame '{}'", tag as char)),
    };
    Ok(Some(frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_across_partial_reads() {
        let frames = [
            Frame::Input(b"ls\r".to_vec()),
            Frame::Size {
                rows: 40,
                cols: 120,
            },
            Frame::Output(vec![0x1b, b'[']),
            Frame::Ended(143),
            Frame::Refused("busy".into()),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(encode).collect();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for b in bytes {
            buf.push(b);
            while let Some(f) = decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, frames);
        let mut bad = vec![b'w', 0, 0, 0, 1, 9];
        assert!(decode(&mut bad).is_err());
    }
}

//! Decoder fuzz target: arbitrary bytes as both directions of `ipc::signing`.
//! Must never panic or allocate beyond the frame limit; a successful decode
//! must re-encode to the same bytes (no two encodings of one message).
#![no_main]

use ipc::signing::{SigningRequest, SigningResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ipc::codec::decode::<SigningRequest>(data) {
        assert_eq!(ipc::codec::encode(&m).expect("re-encode"), data);
    }
    if let Ok(m) = ipc::codec::decode::<SigningResponse>(data) {
        assert_eq!(ipc::codec::encode(&m).expect("re-encode"), data);
    }
});

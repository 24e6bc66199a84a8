//! Decoder fuzz target: arbitrary bytes as both directions of `ipc::keyholder`.
//! Must never panic or allocate beyond the frame limit; a successful decode
//! must re-encode to the same bytes (no two encodings of one message).
#![no_main]

use ipc::keyholder::{KeyholderRequest, KeyholderResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ipc::codec::decode::<KeyholderRequest>(data) {
        assert_eq!(ipc::codec::encode(&m).expect("re-encode"), data);
    }
    if let Ok(m) = ipc::codec::decode::<KeyholderResponse>(data) {
        assert_eq!(ipc::codec::encode(&m).expect("re-encode"), data);
    }
});

//! Decoder fuzz target: arbitrary bytes as both directions of `ipc::broker`
//! and as the launch plan the broker reads from a sealed memory file.
//! Must never panic or allocate beyond the frame (or plan) limit; a
//! successful decode must re-encode to the same bytes (no two encodings of
//! one message).
#![no_main]

use ipc::broker::{BrokerRequest, BrokerResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ipc::codec::decode::<BrokerRequest>(data) {
        assert_eq!(ipc::codec::encode(&m).expect("re-encode"), data);
    }
    if let Ok(m) = ipc::codec::decode::<BrokerResponse>(data) {
        assert_eq!(ipc::codec::encode(&m).expect("re-encode"), data);
    }
    if let Ok(plan) = ipc::broker::decode_plan(data) {
        assert_eq!(ipc::codec::encode_plan(&plan).expect("re-encode"), data);
    }
});

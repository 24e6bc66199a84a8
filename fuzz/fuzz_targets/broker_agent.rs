//! The broker's agent-facing direction: an arbitrary notification (any row
//! of the syscall table, any six arguments) over an arbitrary address space.
//! Decoding must never panic, and must respect the kernel's limits: no
//! copy beyond what the agent's memory holds, addresses at most
//! sockaddr_storage, payloads and control data within their caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nono_broker::brokered::{request, Request, SliceMem, SockReq};
use nono_broker::calls::TABLE;

const BASE: u64 = 0x1000;

fuzz_target!(|data: &[u8]| {
    // 1 byte: the row; 48 bytes: arguments; the rest: memory at BASE.
    if data.len() < 49 {
        return;
    }
    let row = &TABLE[data[0] as usize % TABLE.len()];
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        let w = u64::from_le_bytes(data[1 + 8 * i..9 + 8 * i].try_into().unwrap());
        // Point most arguments into the memory, keep some wild.
        *a = if w & 1 == 0 { BASE + (w >> 1) % 4096 } else { w >> 1 };
    }
    let mem = SliceMem {
        base: BASE,
        data: &data[49..],
    };
    if let Ok(Request::Sock(s)) = request(row.call, &args, &mem) {
        let held = data.len() - 49;
        match s {
            SockReq::Connect { addr, .. } | SockReq::Bind { addr, .. } => {
                assert!(addr.len() <= 128 && addr.len() <= held)
            }
            SockReq::Send { msg, .. } => {
                assert!(msg.name.len() <= 128);
                assert!(msg.data.len() as u64 <= msg.declared);
                assert!(msg.control.len() <= held);
            }
            SockReq::Batch { msgs, .. } => {
                assert!(msgs.len() <= 1024);
                let total: usize = msgs.iter().map(|m| m.data.len()).sum();
                assert!(total <= 1024 * 1024 + 256 * 1024);
            }
            SockReq::Listen { .. } => {}
        }
    }
});

//! Fuzz target: `ClientFrame::decode_bincode` and `ServerFrame::decode_bincode` on arbitrary
//! bytes never panic nor reserve unbounded memory (a forged length prefix would abort the
//! process with "memory allocation failed"), and what decodes re-encodes to a fixpoint.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pzo_protocol::{ClientFrame, ServerFrame};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(frame) = ClientFrame::decode_bincode(bytes) {
        let encoded = frame.encode_bincode();
        assert_eq!(ClientFrame::decode_bincode(&encoded).as_ref(), Ok(&frame), "client frame round trip");
    }
    if let Some(frame) = ServerFrame::decode_bincode(bytes) {
        // Compare bytes, not values: stats frames carry f64 and NaN != NaN.
        let encoded = frame.encode_bincode();
        let again = ServerFrame::decode_bincode(&encoded).expect("an encoded server frame decodes");
        assert_eq!(again.encode_bincode(), encoded, "server frame round trip");
        let _ = frame.encode_json();
    }
});

//! Fuzz target: `ClientFrame::decode_json` on arbitrary UTF-8 never panics, and a decoded frame
//! re-encodes to a fixpoint (encode, decode, encode gives the same text).

#![no_main]

use libfuzzer_sys::fuzz_target;
use pzo_protocol::ClientFrame;

fuzz_target!(|text: &str| {
    let Ok(frame) = ClientFrame::decode_json(text) else { return };
    // One trip may normalize (amounts past i64 are clamped, `null` args become `{}`); after that
    // the encoding must be stable, and the binary codec must carry the frame unchanged.
    let first = frame.encode_json();
    let again = ClientFrame::decode_json(&first).expect("an encoded frame decodes");
    assert_eq!(again.encode_json(), first, "JSON encoding is not a fixpoint");
    let bytes = frame.encode_bincode();
    assert_eq!(ClientFrame::decode_bincode(&bytes).as_ref(), Ok(&frame), "bincode round trip");
});

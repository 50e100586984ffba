//! The client-frame decoder: any text a WebSocket or SSE client sends is either a frame
//! (which encodes back to the same frame) or a typed error, never a panic; and the body
//! checks the server runs on a `send` hold for any text.
#![no_main]

use app::protocol::ClientFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = serde_json::from_str::<ClientFrame>(text) {
        let again = serde_json::to_string(&frame).expect("a decoded frame encodes");
        let back: ClientFrame = serde_json::from_str(&again).expect("and decodes again");
        assert_eq!(back, frame);
        if let ClientFrame::Send { body, .. } = &frame {
            let _ = app::model::validate_body(body, 4000);
        }
    }
});

//! The single sign-on token parser (SPEC §6): any token a host page sends, forged or
//! signed, is claims or a typed refusal, never a panic. Half the inputs are used as a
//! raw token; the other half as a payload signed with the right secret, so the fuzzer
//! also reaches the payload's JSON and field checks.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &[u8] = b"fuzzing-secret-0123456789";

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let token = if first % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let body = URL_SAFE_NO_PAD.encode(rest);
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    };
    if let Ok(claims) = parley_server::auth::sso::verify_signature(SECRET, &token) {
        assert!(!claims.identity.subject.is_empty());
        let _ = parley_server::auth::sso::check_fresh(&claims, 1_800_000_000, 300);
    }
});

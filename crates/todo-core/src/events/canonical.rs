//! Canonical JSON (RFC 8785, JCS): one byte string per JSON value, whatever
//! the key order or formatting it arrived in. Used wherever JSON is hashed:
//! the audit chain and `Idempotency-Key` body fingerprints.

use serde_json::Value;

/// RFC 8785 (JCS) canonical JSON of `value`.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    // A `Value` holds no NaN or infinity, the only thing JCS cannot encode.
    serde_jcs::to_vec(value).expect("a JSON value always canonicalizes")
}

//! Which Kafka partition a message lands on, as the Kafka pub/sub component's
//! producer (Sarama) picks it, so devstack orders and blocks deliveries per
//! partition exactly as a Kafka consumer does (architecture §6).
//!
//! The component publishes `metadata.partitionKey` as the message key with
//! Sarama's default partitioner, the hash partitioner: FNV-1a (32-bit) over
//! the key bytes, read as a signed 32-bit integer, `%` the partition count
//! (Go's `%` truncates toward zero, as Rust's does), negated when negative.
//! A message without a key goes to a random partition; devstack spreads such
//! messages round-robin by log sequence instead, which is one of the outcomes
//! random choice allows and keeps runs reproducible.

/// The partition of a message with `key` (or, without one, log sequence
/// `seq`) on a topic with `partitions` partitions.
pub fn partition(key: Option<&str>, seq: i64, partitions: u32) -> u32 {
    let partitions = partitions.max(1);
    match key {
        Some(key) => {
            let hash = fnv1a_32(key.as_bytes()) as i32;
            // `i32::MIN % n` cannot overflow for n ≥ 1; the result's
            // magnitude is below n, so negating it cannot either.
            let n = i32::try_from(partitions).unwrap_or(i32::MAX);
            (hash % n).unsigned_abs()
        }
        None => u32::try_from(seq.rem_euclid(i64::from(partitions))).unwrap_or(0),
    }
}

/// FNV-1a, 32-bit (Go's `hash/fnv` `New32a`).
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference (draft-eastlake-fnv, test vectors).
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn keys_map_as_the_hash_partitioner_maps_them() {
        // FNV-1a of "u2" = 0x0542a986 = 88254854; % 3 = 2.
        assert_eq!(partition(Some("u2"), 0, 3), 2);
        // "alice" = 0x872213e7, as i32 -2027809817; % 3 = -2 → 2.
        assert_eq!(partition(Some("alice"), 0, 3), 2);
        // "foobar" = 0xbf9cf968, as i32 -1080231576; % 3 = 0.
        assert_eq!(partition(Some("foobar"), 0, 3), 0);
        assert_eq!(partition(Some("u3"), 0, 3), 1);
        // One partition: everything on 0; the key, not the sequence, decides.
        assert_eq!(partition(Some("a"), 7, 1), 0);
        assert_eq!(partition(Some("a"), 1, 3), partition(Some("a"), 2, 3));
        // No key: round-robin by sequence.
        assert_eq!(
            (0..6).map(|s| partition(None, s, 3)).collect::<Vec<_>>(),
            vec![0, 1, 2, 0, 1, 2]
        );
    }
}

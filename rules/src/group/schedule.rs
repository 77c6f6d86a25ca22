//! When a group runs: Prometheus's aligned schedule.
//!
//! Prometheus does not start a group's clock when the group is loaded; it
//! puts every evaluation on the grid `offset + k × interval` (in wall-clock
//! time), where `offset` is the XXH64 hash of the label set
//! `{file="<file>", name="<group>"}` modulo the interval in nanoseconds.
//! Groups are thus spread over their interval, and the same group always
//! runs at the same phase, in warden as in Prometheus.

use crate::xxhash::labels_hash;

const NANOS_PER_MS: u64 = 1_000_000;

/// The group's phase within its interval, ms (the millisecond part of the
/// nanosecond offset Prometheus computes; evaluation timestamps are
/// milliseconds, so that is where Prometheus's evaluations land too).
pub(crate) fn offset_ms(file: &str, name: &str, interval_ms: i64) -> i64 {
    let interval_ns = (interval_ms.max(1) as u64).saturating_mul(NANOS_PER_MS);
    let offset_ns = labels_hash([("name", name), ("file", file)]) % interval_ns;
    (offset_ns / NANOS_PER_MS) as i64
}

/// The first slot `offset_ms + k × interval_ms` strictly after `after_ms`.
pub(crate) fn next_slot(after_ms: i64, interval_ms: i64, offset_ms: i64) -> i64 {
    let interval = interval_ms.max(1);
    let k = after_ms.saturating_sub(offset_ms).div_euclid(interval);
    offset_ms.saturating_add(k.saturating_add(1).saturating_mul(interval))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xxhash::xxh64;

    #[test]
    fn offset_is_the_prometheus_hash_modulo_the_interval() {
        // Prometheus: labels{file, name}.Hash() % interval (ns). The hash
        // is XXH64 over "file\xff<file>\xffname\xff<name>\xff".
        let h = xxh64(b"file\xffrules.yml\xffname\xffnode\xff");
        let interval_ns: u64 = 60_000 * 1_000_000;
        assert_eq!(
            offset_ms("rules.yml", "node", 60_000),
            ((h % interval_ns) / 1_000_000) as i64
        );
    }

    #[test]
    fn next_slot_is_strictly_after() {
        assert_eq!(next_slot(0, 60_000, 1_234), 1_234);
        assert_eq!(next_slot(1_234, 60_000, 1_234), 61_234);
        assert_eq!(next_slot(1_233, 60_000, 1_234), 1_234);
        assert_eq!(next_slot(61_235, 60_000, 1_234), 121_234);
    }
}

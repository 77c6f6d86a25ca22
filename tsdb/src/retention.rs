//! Retention rules: how old and how much data the store keeps.

/// Retention by time: the oldest timestamp to keep at `now_ms`.
pub fn time_cutoff(now_ms: i64, retention_ms: i64) -> i64 {
    now_ms.saturating_sub(retention_ms)
}

/// Retention by size: given every chunk's `(max_t, bytes)`, the cutoff
/// that keeps the newest chunks within `budget` bytes, or `None` when
/// everything fits. Chunks whose `max_t` is below the cutoff are to go.
pub fn size_cutoff(mut chunks: Vec<(i64, usize)>, budget: u64) -> Option<i64> {
    chunks.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    let mut total = 0u64;
    for (max_t, bytes) in chunks {
        total += bytes as u64;
        if total > budget {
            return Some(max_t.saturating_add(1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_cutoff_keeps_the_newest_chunks() {
        let chunks = vec![(10, 100), (30, 100), (20, 100)];
        assert_eq!(size_cutoff(chunks.clone(), 300), None);
        assert_eq!(size_cutoff(chunks.clone(), 250), Some(11));
        assert_eq!(size_cutoff(chunks.clone(), 150), Some(21));
        assert_eq!(size_cutoff(chunks, 0), Some(31));
    }

    #[test]
    fn time_cutoff_saturates() {
        assert_eq!(time_cutoff(100, 30), 70);
        assert_eq!(time_cutoff(i64::MIN + 1, 30), i64::MIN);
    }
}

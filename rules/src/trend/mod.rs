//! Growth-trend and memory-leak detection.

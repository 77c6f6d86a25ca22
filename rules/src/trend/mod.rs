//! Growth-trend and memory-leak detection.
//!
//! The question is "will this process run out of memory within a day if
//! things go on like this?", asked of a series that is noisy by nature:
//! garbage collectors draw a sawtooth hundreds of MB high, caches warm up
//! after a start, deploys step the level up, restarts reset it, traffic
//! makes it breathe over the day. Rules on raw growth (`deriv`,
//! `predict_linear`) fire on all of these. The detector answers with:
//!
//! 1. **Clean data** ([`segment`]): NaNs, staleness markers and
//!    out-of-order samples are dropped; too little data is
//!    [`Status::Insufficient`], never a guess.
//! 2. **The current life only** ([`segment`]): a fall to half the recent
//!    floor (or a fall after a hole) is a restart; fitting across it would
//!    hide a leak or fake one from the warm-up.
//! 3. **The post-GC floor** ([`floor`]): minima over windows sized from the
//!    observed GC period. A leak raises what survives a collection; the
//!    sawtooth above it is noise.
//! 4. **Robust fits at several lengths** ([`detector`]): Theil–Sen over the
//!    last 30 min, 45 min, … up to the window; the longest fit that passes
//!    every test is used. Each fit must be significant (slope ≥ 3 standard
//!    errors, from the robust spread of the floor), grow in both halves and
//!    in its last 30 min (rejects steps, plateaus, and leaks that stopped),
//!    and not follow faster growth (rejects the tail of a warm-up).
//! 5. **Time to the limit** from the highest peaks, not the floor: the
//!    floor line now plus the 99th percentile of what rides on it.
//!    [`Status::Leak`] when that is within the horizon (24 h),
//!    [`Status::Growth`] otherwise.
//! 6. **Hysteresis** ([`LeakDetector`]): reported after `fire_after` of
//!    continuous `Leak`, cleared after `clear_after` without.
//!
//! The same machinery estimates time-to-full for filesystems
//! ([`filesystem`]).

pub mod config;
pub mod detector;
pub mod filesystem;
pub mod floor;
pub mod replay;
pub mod robust;
pub mod segment;

pub use config::{ResetRule, TrendConfig};
pub use detector::{Assessment, LeakDetector, Status, Verdict, assess};
pub use filesystem::FilesystemDetector;
pub use replay::{CsvError, StepResult, parse_csv, replay, summarize, write_json_lines};

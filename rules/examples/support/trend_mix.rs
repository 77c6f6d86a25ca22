//! The series mix of the leak-detection benchmarks (the detector alone and
//! the live path): flat sawtooths of 20–400 MB and 30 s–10 min, leaks under
//! a sawtooth, warm-ups and restarting services, so that every code path of
//! the detector is exercised. Deterministic, so runs compare.

/// A cheap deterministic pseudo-random number in [0, 1).
pub fn rnd(seed: u64) -> f64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Resident memory (bytes) of series `k` at its sample `i`, `t` seconds
/// after its start; the kind is `k % 4`, amplitudes and periods vary with `k`.
pub fn value(k: u64, i: u64, t: f64) -> f64 {
    let amp = 20e6 + 380e6 * rnd(k * 7 + 1);
    let period = 30.0 + 570.0 * rnd(k * 7 + 2);
    let base = 200e6 + 800e6 * rnd(k * 7 + 3);
    let saw = (t % period) / period * amp;
    let noise = (rnd(k * 1_000_003 + i) - 0.5) * 4e6;
    let shape = match k % 4 {
        0 => 0.0,
        1 => 16_667.0 * t,
        2 => -300e6 * (-t / 1800.0).exp(),
        _ => {
            let life = t % 7200.0;
            -base * 0.8 * (-life / 900.0).exp() + 5_000.0 * life
        }
    };
    base + shape + saw + noise
}

/// The limit of series `k`: 1 GB above its highest healthy peaks, so the
/// leaking kinds reach it within a day.
pub fn limit(k: u64) -> f64 {
    200e6 + 800e6 * rnd(k * 7 + 3) + 1.25 * (20e6 + 380e6 * rnd(k * 7 + 1)) + 1e9
}

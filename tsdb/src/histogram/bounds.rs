//! Bucket boundaries.
//!
//! Boundaries decide which bucket an observation falls in, where buckets of
//! two schemas line up, and what `histogram_quantile` interpolates between,
//! so they must be the very same floats Prometheus uses — not merely close.
//! For schemas > 0 Prometheus does not compute `2^(i/2^schema)` at query time
//! but looks up a fraction in [0.5, 1) in a precomputed table and scales it
//! by a power of two. That table is not correctly rounded: it was built by
//! repeated multiplication with the per-schema growth factor `2^(2^-schema)`
//! as Go's `math.Exp2` computes it, reusing the coarser schema's value at
//! every even position. We rebuild it the same way from those eight factors,
//! which reproduces all of Prometheus's values exactly (see the tests).

use super::{EXPONENTIAL_SCHEMA_MAX, is_custom_buckets_schema};

/// `2^(2^-schema)` for schemas 1..=8 as Go's `math.Exp2` returns it. Only
/// schema 1 differs from the correctly rounded value (by one ulp below √2).
const GROWTH_FACTORS: [f64; 9] = [
    2.0,
    // 1.414213562373095: deliberately not `SQRT_2`, which is one ulp higher.
    f64::from_bits(0x3FF6_A09E_667F_3BCC),
    1.189207115002721,
    1.0905077326652577,
    1.0442737824274138,
    1.0218971486541166,
    1.0108892860517005,
    1.0054299011128027,
    1.0027112750502025,
];

/// Number of entries in the finest (schema 8) fraction table.
const TABLE_LEN: usize = 1 << EXPONENTIAL_SCHEMA_MAX;

/// Builds the per-schema fraction tables; row `s` uses its first `2^s`
/// entries.
const fn build_fractions() -> [[f64; TABLE_LEN]; 9] {
    let mut table = [[0.0; TABLE_LEN]; 9];
    let mut schema = 0;
    while schema < 9 {
        let n = 1usize << schema;
        table[schema][0] = 0.5;
        let mut k = 1;
        while k < n {
            table[schema][k] = if k % 2 == 0 {
                // Every even position is a boundary of the coarser schema;
                // reuse it rather than accumulate rounding error.
                table[schema - 1][k / 2]
            } else {
                table[schema][k - 1] * GROWTH_FACTORS[schema]
            };
            k += 1;
        }
        schema += 1;
    }
    table
}

/// Fractions in [0.5, 1) of the bucket boundaries of schemas 0..=8.
static FRACTIONS: [[f64; TABLE_LEN]; 9] = build_fractions();

/// Upper bound of the exponential bucket with index `idx` in `schema`.
///
/// Bucket `idx` spans `(2^((idx-1)/2^schema), 2^(idx/2^schema)]`. The bucket
/// whose upper bound would be the first value above `f64::MAX` is capped at
/// `f64::MAX`, so that the next bucket (upper bound `+Inf`) is the one that
/// counts observations of infinity. For a schema outside −53..=8 that would
/// make Prometheus panic, NaN is returned; `validate` rejects such
/// histograms.
pub(crate) fn exponential_bound(idx: i64, schema: i32) -> f64 {
    if schema < 0 {
        let shift = schema.unsigned_abs();
        let exp = if shift >= 62 {
            // Only reachable with invalid schemas; saturate like a huge shift.
            idx.signum().saturating_mul(i64::MAX)
        } else {
            idx.saturating_mul(1i64 << shift)
        };
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let Some(fractions) = usize::try_from(schema).ok().and_then(|s| FRACTIONS.get(s)) else {
        return f64::NAN;
    };
    let mask = (1i64 << schema) - 1;
    let frac = usize::try_from(idx & mask)
        .ok()
        .and_then(|i| fractions.get(i))
        .copied()
        .unwrap_or(f64::NAN);
    let exp = (idx >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// Upper bound of bucket `idx` for any schema.
///
/// For custom buckets, index `len` is the implicit `+Inf` bucket and index
/// −1 stands for `-Inf` (the lower bound of bucket 0). Prometheus panics on
/// any other out-of-range index; we extend the two infinities outwards so
/// that iteration over a malformed histogram stays total.
pub(crate) fn bucket_bound(idx: i64, schema: i32, custom_values: &[f64]) -> f64 {
    if !is_custom_buckets_schema(schema) {
        return exponential_bound(idx, schema);
    }
    if idx < 0 {
        return f64::NEG_INFINITY;
    }
    usize::try_from(idx)
        .ok()
        .and_then(|i| custom_values.get(i))
        .copied()
        .unwrap_or(f64::INFINITY)
}

/// Index in `target_schema` of the bucket that contains bucket `idx` of
/// `origin_schema` (which must be ≥ `target_schema`).
pub(crate) fn target_index(idx: i64, origin_schema: i32, target_schema: i32) -> i64 {
    let shift = origin_schema.saturating_sub(target_schema).clamp(0, 63);
    ((idx - 1) >> shift) + 1
}

/// `x · 2^exp`, correctly rounded, for any `exp` (Go's `math.Ldexp`).
///
/// Multiplying by a power of two is exact unless the result leaves the
/// normal range, so the scaling is split into steps that keep intermediate
/// values normal and round only once, at the end.
pub(crate) fn ldexp(x: f64, exp: i64) -> f64 {
    const P1023: f64 = f64::from_bits(0x7FE0_0000_0000_0000); // 2^1023
    const PM969: f64 = f64::from_bits(0x0360_0000_0000_0000); // 2^-969 = 2^-1022 · 2^53
    let mut y = x;
    let mut n = exp;
    if n > 1023 {
        y *= P1023;
        n -= 1023;
        if n > 1023 {
            y *= P1023;
            n -= 1023;
            n = n.min(1023);
        }
    } else if n < -1022 {
        y *= PM969;
        n += 969;
        if n < -1022 {
            y *= PM969;
            n += 969;
            n = n.max(-1022);
        }
    }
    // `n` is now within the normal exponent range, so 2^n is representable.
    let bits = u64::try_from(n + 1023).unwrap_or(0) << 52;
    y * f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_fraction_table_matches_prometheus() {
        // Spot checks against Prometheus's `exponentialBounds`, including
        // entries that differ from the correctly rounded 0.5·2^(i/256).
        let schema8 = &FRACTIONS[8];
        assert_eq!(schema8[0], 0.5);
        assert_eq!(schema8[1], 0.5013556375251013);
        assert_eq!(schema8[53], 0.5771552102951081);
        assert_eq!(schema8[101], 0.6572577939746774);
        assert_eq!(schema8[124], 0.6994898362691555);
        assert_eq!(schema8[128], 0.7071067811865475);
        assert_eq!(schema8[192], 0.8408964152537144);
        assert_eq!(schema8[220], 0.9071260877501991);
        assert_eq!(schema8[221], 0.909585556079304);
        assert_eq!(schema8[224], 0.9170040432046711);
        assert_eq!(schema8[255], 0.9972960560854698);
        assert_eq!(FRACTIONS[1][..2], [0.5, 0.7071067811865475]);
        assert_eq!(
            FRACTIONS[3][..8],
            [
                0.5,
                0.5452538663326288,
                0.5946035575013605,
                0.6484197773255048,
                0.7071067811865475,
                0.7711054127039704,
                0.8408964152537144,
                0.9170040432046711
            ]
        );
        // Coarser schemas are exact subsets of finer ones.
        for schema in 0..8usize {
            for k in 0..(1usize << schema) {
                assert_eq!(FRACTIONS[schema][k], FRACTIONS[8][k << (8 - schema)]);
            }
        }
        // Every entry is within a few ulps of the exact value.
        for (k, &f) in schema8.iter().enumerate() {
            let exact = 0.5 * (k as f64 / 256.0).exp2();
            let ulps = (f.to_bits() as i64 - exact.to_bits() as i64).abs();
            assert!(ulps <= 4, "entry {k} is {ulps} ulps off");
        }
    }

    #[test]
    fn histogram_exponential_bounds() {
        assert_eq!(exponential_bound(0, 0), 1.0);
        assert_eq!(exponential_bound(1, 0), 2.0);
        assert_eq!(exponential_bound(-1, 0), 0.5);
        assert_eq!(exponential_bound(1, 1).to_bits(), 0x3FF6_A09E_667F_3BCC);
        assert_eq!(format!("{}", exponential_bound(1, 1)), "1.414213562373095");
        assert_eq!(exponential_bound(1, -1), 4.0);
        assert_eq!(exponential_bound(-2, -2), 2f64.powi(-8));
        assert_eq!(exponential_bound(1, -4), 65536.0);
        assert_eq!(exponential_bound(3, 2), 2.0 * 0.8408964152537144);
        // The last finite bucket is capped at f64::MAX, the next one is +Inf.
        assert_eq!(exponential_bound(1024, 0), f64::MAX);
        assert_eq!(exponential_bound(1025, 0), f64::INFINITY);
        assert_eq!(exponential_bound(256, -2), f64::MAX);
        assert_eq!(exponential_bound(1024 * 256, 8), f64::MAX);
        // Subnormal and vanishing bounds.
        assert_eq!(exponential_bound(-1074, 0), f64::from_bits(1));
        assert_eq!(exponential_bound(-1100, 0), 0.0);
        assert!(exponential_bound(3, 9).is_nan());
    }

    #[test]
    fn histogram_custom_bounds() {
        let bounds = [5.0, 10.0];
        assert_eq!(bucket_bound(-1, -53, &bounds), f64::NEG_INFINITY);
        assert_eq!(bucket_bound(0, -53, &bounds), 5.0);
        assert_eq!(bucket_bound(1, -53, &bounds), 10.0);
        assert_eq!(bucket_bound(2, -53, &bounds), f64::INFINITY);
    }

    #[test]
    fn histogram_target_index() {
        assert_eq!(target_index(1, 1, 0), 1);
        assert_eq!(target_index(2, 1, 0), 1);
        assert_eq!(target_index(3, 1, 0), 2);
        assert_eq!(target_index(0, 1, 0), 0);
        assert_eq!(target_index(-1, 1, 0), 0);
        assert_eq!(target_index(-2, 1, 0), -1);
        assert_eq!(target_index(5, 3, 3), 5);
    }

    #[test]
    fn histogram_ldexp_is_exact() {
        assert_eq!(ldexp(0.75, 3), 6.0);
        assert_eq!(ldexp(1.0, 2000), f64::INFINITY);
        assert_eq!(ldexp(1.0, -1074), f64::from_bits(1));
        assert_eq!(ldexp(0.75, -1074), f64::from_bits(1));
        assert_eq!(ldexp(1.0, -5000), 0.0);
        assert_eq!(ldexp(0.5, 1025), f64::INFINITY);
        assert_eq!(ldexp(f64::MAX, -1), f64::MAX / 2.0);
    }
}

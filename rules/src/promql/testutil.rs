//! Helpers for the engine's own tests: a tiny in-memory [`Querier`], and
//! promqltest scripts run on the real engine.

use warden_tsdb::{Labels, Matcher, Querier, QueryError, Sample, Series};

/// Series held in memory, selected by matchers like the real store.
#[derive(Default)]
pub(crate) struct MemQuerier {
    series: Vec<Series>,
}

impl MemQuerier {
    /// Adds a series `labels` with `values[i]` at `i * interval_ms` (`None` skips a slot).
    pub fn add(&mut self, labels: &[(&str, &str)], interval_ms: i64, values: &[Option<f64>]) {
        let labels = Labels::from_pairs(labels.iter().copied()).expect("valid labels");
        let samples = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|v| Sample {
                    t: i as i64 * interval_ms,
                    v,
                })
            })
            .collect();
        self.series.push(Series::new(labels, samples));
        self.series.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
}

impl Querier for MemQuerier {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Series>, QueryError> {
        Ok(self
            .series
            .iter()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .map(|s| {
                Series::new(
                    s.labels.clone(),
                    s.samples
                        .iter()
                        .copied()
                        .filter(|x| x.t >= min_t && x.t <= max_t)
                        .collect(),
                )
            })
            .filter(|s| !s.samples.is_empty())
            .collect())
    }

    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }

    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, QueryError> {
        Ok(Vec::new())
    }
}

/// Runs a promqltest script (`name` only labels the report) on the engine
/// with the upstream suite's options; fails with every case that did not
/// pass. Scripts keep histogram-heavy tests as readable as upstream's.
pub(crate) fn assert_script_passes(name: &str, script: &str) {
    use crate::promql::Engine;
    use crate::promql::promqltest::{self, Outcome};
    let engine = Engine::new(promqltest::engine_options());
    let report = promqltest::run_source(std::path::Path::new(name), script, &engine);
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(!report.cases.is_empty(), "{name}: no eval in the script");
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Passed))
        .map(|c| format!("{c:?}"))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

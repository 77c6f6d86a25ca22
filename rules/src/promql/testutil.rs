//! A tiny in-memory [`Querier`] for the engine's own tests.

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

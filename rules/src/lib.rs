//! Evaluation: the PromQL engine over any [`warden_tsdb::Querier`], and the
//! trend (leak) detector.

pub mod promql;
pub mod trend;

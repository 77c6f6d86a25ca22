//! Evaluation: the PromQL engine over any [`warden_tsdb::Querier`], rule
//! files, and the trend (leak) detector.

pub mod promql;
pub mod query;
pub mod rulefmt;
pub mod trend;
pub mod unittest;

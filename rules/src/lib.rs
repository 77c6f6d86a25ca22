//! Evaluation: the PromQL engine over any [`warden_tsdb::Querier`], rule
//! files, rule groups with their alert states, and the trend (leak)
//! detector.

pub mod alerting;
pub mod group;
pub mod promql;
pub mod query;
pub mod rulefmt;
pub mod state;
pub mod template;
pub mod trend;
pub mod unittest;
mod xxhash;

//! The `warden` binary.

mod api;
mod cli;
mod config;
mod logging;
mod remote_query;
mod selfmetrics;

/// Where `warden query` asks by default: a local warden.
pub const DEFAULT_QUERY_URL: &str = "http://127.0.0.1:9464";

fn main() {}

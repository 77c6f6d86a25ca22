//! The `warden` binary.

mod api;
mod remote_query;

/// Where `warden query` asks by default: a local warden.
pub const DEFAULT_QUERY_URL: &str = "http://127.0.0.1:9464";

fn main() {}

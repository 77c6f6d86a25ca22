//! The `warden` binary.

mod api;

fn main() {}

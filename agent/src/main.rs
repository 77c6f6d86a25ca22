//! The `warden` binary.

mod cli;
mod config;
mod logging;
mod selfmetrics;

fn main() {}

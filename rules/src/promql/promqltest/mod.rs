//! Runner for Prometheus's promqltest scripts (`*.test`).

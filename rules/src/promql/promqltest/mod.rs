//! Runner for Prometheus's promqltest scripts (`*.test`).
//!
//! The upstream PromQL test suite is written in this small language (see
//! the format notes in the shared conformance folder); running it unchanged
//! is how warden shows that its PromQL answers like Prometheus's. A script
//! loads series into an in-memory store ([`MemStore`]), evaluates
//! expressions with an [`Engine`], and compares results with the upstream
//! harness's rules, including its two hidden checks on instant queries
//! (the same query in range mode, and step invariance under `@`).
//!
//! Native histograms are loaded and compared like floats: `{{…}}` samples,
//! and with `load_with_nhcb` the native form of classic histograms.

mod atmod;
mod compare;
mod duration;
mod histogram;
mod nhcb;
mod number;
mod report;
mod runner;
mod script;
mod series;
mod store;
mod strings;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use compare::float_eq;
pub use duration::parse_duration;
pub use histogram::Histogram;
pub use report::{CaseReport, Failure, FileReport, Outcome, PrintOptions, Report};
pub use runner::run_script;
pub use script::{
    Command, Eval, EvalKind, ExpectedSeries, Load, MessageMatch, Script, ScriptError, parse_script,
};
pub use series::{SeqValue, SeriesDesc, parse_labels_prefix, parse_series_desc};
pub use store::MemStore;

use super::{Engine, EngineOptions};

/// Engine options the upstream scripts assume: 5m lookback, 1m default
/// subquery step, experimental syntax on, at most 10,000 samples per query.
pub fn engine_options() -> EngineOptions {
    EngineOptions {
        lookback_delta_ms: 5 * 60 * 1000,
        max_samples: 10_000,
        timeout: Duration::from_secs(100),
        default_subquery_step_ms: 60 * 1000,
        experimental: true,
    }
}

/// Runs one script's text; `path` only names it in the report.
pub fn run_source(path: &Path, source: &str, engine: &Engine) -> FileReport {
    match parse_script(source) {
        Ok(script) => FileReport {
            path: path.to_path_buf(),
            error: None,
            cases: run_script(&script, engine),
        },
        Err(e) => FileReport {
            path: path.to_path_buf(),
            error: Some(format!("{}: parse error: {}", e.line, e.message)),
            cases: Vec::new(),
        },
    }
}

/// Runs every file in order; a file that cannot be read or parsed is
/// reported as an error (one failed case) and the others still run.
pub fn run_files(paths: &[PathBuf], engine: &Engine) -> Report {
    let files = paths
        .iter()
        .map(|p| match std::fs::read_to_string(p) {
            Ok(src) => run_source(p, &src, engine),
            Err(e) => FileReport {
                path: p.clone(),
                error: Some(format!(" cannot read file: {e}")),
                cases: Vec::new(),
            },
        })
        .collect();
    Report { files }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Bad input must give an error, never a panic.
        #[test]
        fn parser_never_panics(src in "(load 1m\n|eval instant at 1m |eval range from 0 to 1m step 1m |expect |clear\n|[ a-z{}=\"'`_x0-9.+\\-\\[\\]:@#\n\\\\])*") {
            let _ = parse_script(&src);
        }

        #[test]
        fn series_parser_never_panics(src in "[ a-z{}=\"'`_x0-9.+\\-\\[\\]:@\\\\éŝ]*") {
            let _ = parse_series_desc(&src);
        }

        #[test]
        fn durations_never_panic(src in "[0-9a-z]{0,12}") {
            let _ = parse_duration(&src);
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let src =
            "load 1y\n  m 1 2\n\neval instant at 292y m\n\neval range from 0 to 292y step 1y m\n";
        let r = run_source(Path::new("x.test"), src, &Engine::default());
        assert_eq!(r.error, None);
        assert_eq!(r.cases.len(), 2);
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let r = run_source(
            Path::new("x.test"),
            "load 1m\n  a 1\n\nnope\n",
            &Engine::default(),
        );
        assert_eq!(
            r.error.as_deref(),
            Some("4: parse error: invalid command \"nope\"")
        );
        assert_eq!(r.failed(), 1);
        let r = run_files(
            &[PathBuf::from("/nonexistent/dir/y.test")],
            &Engine::default(),
        );
        assert_eq!(r.failed(), 1);
        assert!(
            r.render(&PrintOptions::default())
                .contains("ERROR /nonexistent/dir/y.test: cannot read file")
        );
    }
}

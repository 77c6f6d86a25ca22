//! Executing a parsed script against an [`Engine`]: loading data, running
//! each `eval` (plus upstream's two extra checks on instant queries) and
//! deciding passed, failed or skipped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use regex::Regex;
use warden_tsdb::{Sample, Series};

use super::atmod::{check_times, pin_to_time};
use super::compare::{Window, assert_sorted, compare_result, render_expected, render_value};
use super::report::{CaseReport, Failure, Outcome};
use super::script::{Command, Eval, EvalKind, Load, Script};
use super::series::SeqValue;
use super::store::MemStore;
use crate::promql::{Annotations, Engine, InstantSample, PromqlError, QueryOutput, Value};

/// Expressions using these functions are left out of the range-mode check:
/// they resolve differently in a range query.
static QUERY_CONTEXT_FUNCS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(start|end|range|step)\(\)").expect("static regex"));

/// Why a case was skipped.
pub const SKIP_NHCB: &str = "data loaded with load_with_nhcb (native histograms)";
/// Why a case was skipped.
pub const SKIP_EXPECTED_HISTOGRAM: &str = "expected result holds native histograms";
/// Why a case was skipped.
pub const SKIP_READS_HISTOGRAM: &str = "query reads native-histogram samples";

/// Runs every command of `script`; one report per `eval`.
pub fn run_script(script: &Script, engine: &Engine) -> Vec<CaseReport> {
    let mut store = MemStore::new();
    let mut nhcb_epoch = false;
    let mut out = Vec::new();
    for cmd in &script.commands {
        match cmd {
            Command::Clear => {
                store = MemStore::new();
                nhcb_epoch = false;
            }
            Command::Load(load) => {
                nhcb_epoch |= load.with_nhcb;
                load_into(&mut store, load);
            }
            Command::Eval(ev) => {
                let outcome = if nhcb_epoch {
                    Outcome::Skipped(SKIP_NHCB.into())
                } else if ev.expects_histogram() {
                    Outcome::Skipped(SKIP_EXPECTED_HISTOGRAM.into())
                } else {
                    run_eval_guarded(ev, engine, &store)
                };
                out.push(CaseReport {
                    line: ev.line,
                    expr: ev.expr.clone(),
                    outcome,
                });
            }
        }
    }
    out
}

/// Adds a load block's float samples to the store and notes where its
/// native-histogram samples would have been.
fn load_into(store: &mut MemStore, load: &Load) {
    for s in &load.series {
        let mut floats = Vec::new();
        let mut hist_times = Vec::new();
        for (i, v) in s.values.iter().enumerate() {
            let t = (i as i64).saturating_mul(load.interval_ms);
            match v {
                SeqValue::Float(f) => floats.push(Sample { t, v: *f }),
                SeqValue::Histogram(_) => hist_times.push(t),
                SeqValue::Omitted => {}
            }
        }
        store.add_floats(&s.labels, &floats);
        store.add_histogram_times(&s.labels, &hist_times);
    }
}

fn run_eval_guarded(ev: &Eval, engine: &Engine, store: &MemStore) -> Outcome {
    store.reset_touched();
    let result = catch_unwind(AssertUnwindSafe(|| run_eval(ev, engine, store)));
    if store.touched_histogram() {
        return Outcome::Skipped(SKIP_READS_HISTOGRAM.into());
    }
    match result {
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(f)) => Outcome::Failed(f),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::Failed(Failure {
                reason: format!("the engine panicked: {msg}"),
                expected: render_expected(ev),
                got: String::new(),
            })
        }
    }
}

/// What went wrong, before the expectation is rendered.
struct Miss {
    reason: String,
    got: String,
}

impl Miss {
    fn new(reason: impl Into<String>, got: impl Into<String>) -> Miss {
        Miss {
            reason: reason.into(),
            got: got.into(),
        }
    }
}

fn run_eval(ev: &Eval, engine: &Engine, store: &MemStore) -> Result<(), Failure> {
    let r = match ev.kind {
        EvalKind::Range { start, end, step } => run_range(ev, engine, store, start, end, step),
        EvalKind::Instant { .. } => run_instant_all(ev, engine, store),
    };
    r.map_err(|m| Failure {
        reason: m.reason,
        expected: render_expected(ev),
        got: m.got,
    })
}

fn err_text(e: &PromqlError) -> String {
    format!("error: {e}")
}

fn run_range(
    ev: &Eval,
    engine: &Engine,
    store: &MemStore,
    start: i64,
    end: i64,
    step: i64,
) -> Result<(), Miss> {
    let parsed_ok = ev
        .parsed
        .as_ref()
        .map_err(|e| Miss::new(format!("the expression does not parse: {e}"), String::new()));
    parsed_ok?;
    match engine.range(store, &ev.expr, start, end, step) {
        Err(e) => on_error(ev, &e, ""),
        Ok(out) => {
            if ev.expects_failure() {
                return Err(Miss::new(
                    "expected an error but the query succeeded",
                    render_value(&out.value),
                ));
            }
            check_output(
                ev,
                &out,
                Window {
                    start,
                    end: Some(end),
                    step,
                },
                "",
            )
        }
    }
}

/// The query failed: fine if a failure was expected and its text matches.
fn on_error(ev: &Eval, e: &PromqlError, context: &str) -> Result<(), Miss> {
    if !ev.expects_failure() {
        return Err(Miss::new(format!("{context}the query failed"), err_text(e)));
    }
    check_expected_failure(ev, &e.to_string())
        .map_err(|why| Miss::new(format!("{context}{why}"), err_text(e)))
}

/// Upstream's failure-message checks (deprecated and `expect fail` forms).
fn check_expected_failure(ev: &Eval, text: &str) -> Result<(), String> {
    if let Some(m) = ev
        .expected_fail_message
        .as_ref()
        .filter(|m| !m.is_empty() && *m != text)
    {
        return Err(format!("expected error {m:?}"));
    }
    if let Some(r) = ev
        .expected_fail_regexp
        .as_ref()
        .filter(|r| !r.is_match(text))
    {
        return Err(format!("expected error matching pattern {:?}", r.as_str()));
    }
    if let Some(m) = ev.fail_match.first().filter(|m| !m.matches(text)) {
        return Err(format!("expected error matching {m}"));
    }
    Ok(())
}

/// Annotations and value of a successful query.
fn check_output(ev: &Eval, out: &QueryOutput, window: Window, context: &str) -> Result<(), Miss> {
    check_annotations(ev, &out.annotations).map_err(|why| {
        Miss::new(
            format!("{context}{why}"),
            format!(
                "{}\nwarnings: {:?}\ninfos: {:?}",
                render_value(&out.value),
                out.annotations.warnings,
                out.annotations.infos
            ),
        )
    })?;
    compare_result(ev, &out.value, window)
        .map_err(|why| Miss::new(format!("{context}{why}"), render_value(&out.value)))
}

/// Upstream's annotation rules: `eval_warn`/`eval_info` need at least one;
/// `expect warn|info` lines and the actual annotations must match both
/// ways; `no_warn`/`no_info` forbid them; otherwise they are not checked.
fn check_annotations(ev: &Eval, a: &Annotations) -> Result<(), String> {
    if ev.warn && a.warnings.is_empty() {
        return Err("expected warnings but got none".into());
    }
    if ev.info && a.infos.is_empty() {
        return Err("expected info annotations but got none".into());
    }
    for (kind, expected, actual) in [
        ("warn", &ev.expect_warn, &a.warnings),
        ("info", &ev.expect_info, &a.infos),
    ] {
        if expected.is_empty() {
            continue;
        }
        if actual.is_empty() {
            return Err(format!("expected {kind} annotations but none were found"));
        }
        for e in expected {
            if !actual.iter().any(|x| e.matches(x)) {
                return Err(format!(
                    "expected {kind} annotation matching {e} but no matching annotation was found"
                ));
            }
        }
        for x in actual {
            if !expected.iter().any(|e| e.matches(x)) {
                return Err(format!("unexpected {kind} annotation {x:?}"));
            }
        }
    }
    if ev.no_warn && !a.warnings.is_empty() {
        return Err("unexpected warning annotations".into());
    }
    if ev.no_info && !a.infos.is_empty() {
        return Err("unexpected info annotations".into());
    }
    Ok(())
}

/// The instant query itself, then the `@`-pinned variants.
fn run_instant_all(ev: &Eval, engine: &Engine, store: &MemStore) -> Result<(), Miss> {
    let parsed = ev
        .parsed
        .as_ref()
        .map_err(|e| Miss::new(format!("the expression does not parse: {e}"), String::new()))?;
    let t = ev.instant_time().unwrap_or(0);
    run_instant(ev, engine, store, &ev.expr, t, "")?;
    let pinned = pin_to_time(parsed, t).map_err(|e| {
        Miss::new(
            format!("cannot attach @ {t}ms for the step-invariance check: {e}"),
            "",
        )
    })?;
    if let Some(q) = pinned {
        for et in check_times(t) {
            let context = format!("step invariance: `{q}` at {et}ms: ");
            run_instant(ev, engine, store, &q, et, &context)?;
        }
    }
    Ok(())
}

/// One instant query with all of upstream's checks, including range mode.
fn run_instant(
    ev: &Eval,
    engine: &Engine,
    store: &MemStore,
    q: &str,
    t: i64,
    context: &str,
) -> Result<(), Miss> {
    let out = match engine.instant(store, q, t) {
        Err(e) => return on_error(ev, &e, context),
        Ok(out) => out,
    };
    if ev.expects_failure() {
        return Err(Miss::new(
            format!("{context}expected an error but the query succeeded"),
            render_value(&out.value),
        ));
    }
    let window = match ev.range_vector {
        Some((start, end, step)) => Window {
            start,
            end: Some(end),
            step,
        },
        None => Window {
            start: t,
            end: None,
            step: 0,
        },
    };
    check_output(ev, &out, window, context)?;
    if ev.excluded_from_range_check() || QUERY_CONTEXT_FUNCS.is_match(q) {
        return Ok(());
    }
    let context = format!(
        "{context}range mode ({}ms to {}ms step 1m): ",
        t - 60_000,
        t + 60_000
    );
    let range = engine
        .range(store, q, t - 60_000, t + 60_000, 60_000)
        .map_err(|e| Miss::new(format!("{context}the query failed"), err_text(&e)))?;
    if ev.is_ordered() {
        return Ok(());
    }
    let Value::Matrix(series) = &range.value else {
        return Err(Miss::new(
            format!("{context}a range query must return a matrix"),
            render_value(&range.value),
        ));
    };
    assert_sorted(series)
        .map_err(|why| Miss::new(format!("{context}{why}"), render_value(&range.value)))?;
    let at_t = points_at(series, t);
    let value = match out.value {
        Value::Scalar { .. } => match at_t.first() {
            Some(s) => Value::Scalar { t, v: s.v },
            None => {
                return Err(Miss::new(
                    format!("{context}no point at the evaluation time for a scalar result"),
                    render_value(&range.value),
                ));
            }
        },
        _ => Value::Vector(at_t),
    };
    compare_result(ev, &value, window)
        .map_err(|why| Miss::new(format!("{context}{why}"), render_value(&range.value)))
}

/// The point of each series at exactly `t`, as an instant vector.
fn points_at(series: &[Series], t: i64) -> Vec<InstantSample> {
    series
        .iter()
        .filter_map(|s| {
            s.samples.iter().find(|p| p.t == t).map(|p| InstantSample {
                labels: s.labels.clone(),
                t,
                v: p.v,
            })
        })
        .collect()
}

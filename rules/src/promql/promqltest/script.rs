//! Parsing a whole test script into commands (`load`, `clear`, `eval`).
//!
//! The rules follow the upstream harness line for line: lines are trimmed,
//! comment lines become empty lines, an empty line ends a block, and the
//! first word picks the command. Any error aborts the whole file with its
//! line number.

use std::fmt;
use std::sync::LazyLock;

use promql_parser::parser::Expr;
use regex::Regex;
use warden_tsdb::Labels;
use warden_tsdb::matcher::translate_go_regex;

use super::duration::parse_duration;
use super::number::parse_scalar_line;
use super::series::{SeqValue, SeriesDesc, parse_labels_prefix, parse_series_desc};
use super::strings::unquote;

/// A script that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// The commands in file order.
    pub commands: Vec<Command>,
}

/// One command of a script.
#[derive(Debug, Clone)]
pub enum Command {
    /// Drop all data.
    Clear,
    /// Add series.
    Load(Load),
    /// Run a query and check it.
    Eval(Box<Eval>),
}

/// A `load` or `load_with_nhcb` block.
#[derive(Debug, Clone)]
pub struct Load {
    /// Line of the command.
    pub line: usize,
    /// Time between positions.
    pub interval_ms: i64,
    /// Whether classic histograms are also converted to native ones.
    pub with_nhcb: bool,
    /// The series; a later line for the same labels replaced an earlier one.
    pub series: Vec<SeriesDesc>,
}

/// What kind of query an `eval` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at <t>`.
    Instant {
        /// Evaluation time (ms).
        at: i64,
    },
    /// `eval range from <start> to <end> step <step>`.
    Range {
        /// First step (ms).
        start: i64,
        /// Last step (ms).
        end: i64,
        /// Step (ms).
        step: i64,
    },
}

/// How an expected message is matched.
#[derive(Debug, Clone)]
pub enum MessageMatch {
    /// Any message.
    Any,
    /// Exactly this text.
    Exact(String),
    /// A regex found anywhere in the text.
    Regex(Regex),
}

impl MessageMatch {
    /// Whether `text` satisfies this expectation.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            MessageMatch::Any => true,
            MessageMatch::Exact(m) => m == text,
            MessageMatch::Regex(r) => r.is_match(text),
        }
    }
}

impl fmt::Display for MessageMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageMatch::Any => f.write_str("any message"),
            MessageMatch::Exact(m) => write!(f, "message {m:?}"),
            MessageMatch::Regex(r) => write!(f, "pattern {:?}", r.as_str()),
        }
    }
}

/// One expected series of an `eval` block.
#[derive(Debug, Clone)]
pub struct ExpectedSeries {
    /// Its labels.
    pub labels: Labels,
    /// Position among the block's lines (for `ordered`), 1-based.
    pub pos: usize,
    /// Expected values, one per step.
    pub values: Vec<SeqValue>,
}

/// An `eval` block.
#[derive(Debug, Clone)]
pub struct Eval {
    /// Line of the command (1-based).
    pub line: usize,
    /// The expression as written.
    pub expr: String,
    /// The expression parsed by `promql-parser`, or why it does not parse.
    pub parsed: Result<Expr, String>,
    /// Instant or range.
    pub kind: EvalKind,
    /// `eval_fail`, or an `expect fail` line.
    pub fail: bool,
    /// Matchers of `expect fail` lines (at most one).
    pub fail_match: Vec<MessageMatch>,
    /// `expected_fail_message` (deprecated form).
    pub expected_fail_message: Option<String>,
    /// `expected_fail_regexp` (deprecated form).
    pub expected_fail_regexp: Option<Regex>,
    /// `eval_warn`: at least one warning.
    pub warn: bool,
    /// `eval_info`: at least one info.
    pub info: bool,
    /// `expect warn` lines.
    pub expect_warn: Vec<MessageMatch>,
    /// `expect no_warn` given.
    pub no_warn: bool,
    /// `expect info` lines.
    pub expect_info: Vec<MessageMatch>,
    /// `expect no_info` given.
    pub no_info: bool,
    /// `eval_ordered` or `expect ordered`.
    pub ordered: bool,
    /// `expect range vector from … to … step …`: (start, end, step) ms.
    pub range_vector: Option<(i64, i64, i64)>,
    /// `expect string` text (upstream compares against "" when absent).
    pub expected_string: String,
    /// Whether `expect string` was given.
    pub has_expected_string: bool,
    /// A bare scalar line.
    pub scalar: Option<f64>,
    /// Expected series.
    pub series: Vec<ExpectedSeries>,
}

impl Eval {
    /// Whether the query must fail.
    pub fn expects_failure(&self) -> bool {
        self.fail || !self.fail_match.is_empty()
    }

    /// Whether the result's order matters.
    pub fn is_ordered(&self) -> bool {
        self.ordered
    }

    /// Whether the upstream harness leaves this block out of the range-mode
    /// check (range-vector and string expectations).
    pub fn excluded_from_range_check(&self) -> bool {
        self.range_vector.is_some() || self.has_expected_string
    }

    /// Whether the expected results mention a native histogram.
    pub fn expects_histogram(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.values.iter().any(|v| matches!(v, SeqValue::Histogram(_))))
    }

    /// The instant evaluation time (`expect range vector` replaces it by its end).
    pub fn instant_time(&self) -> Option<i64> {
        match self.kind {
            EvalKind::Instant { at } => Some(self.range_vector.map_or(at, |(_, end, _)| end)),
            EvalKind::Range { .. } => None,
        }
    }
}

static PAT_SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\t ]+").expect("static regex"));
static PAT_LOAD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^load(?:_(with_nhcb))?\s+(.+?)$").expect("static regex"));
static PAT_EVAL_INSTANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
        .expect("static regex")
});
static PAT_EVAL_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$",
    )
    .expect("static regex")
});
static PAT_EXPECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
        .expect("static regex")
});
static PAT_EXPECT_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")
        .expect("static regex")
});

/// Compiles a Go RE2 pattern, unanchored, as the harness's `regexp.Compile`.
fn compile_go_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate_go_regex(pattern)).map_err(|e| format!("invalid regex {pattern:?}: {e}"))
}

fn err(line_idx: usize, message: impl Into<String>) -> ScriptError {
    ScriptError {
        line: line_idx + 1,
        message: message.into(),
    }
}

/// Parses a script.
pub fn parse_script(input: &str) -> Result<Script, ScriptError> {
    let lines: Vec<&str> = input
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') { "" } else { l }
        })
        .collect();
    let mut commands = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let first = PAT_SPACE.split(l).next().unwrap_or("").to_lowercase();
        if first == "clear" {
            commands.push(Command::Clear);
        } else if first.starts_with("load") {
            let (last, load) = parse_load(&lines, i)?;
            commands.push(Command::Load(load));
            i = last;
        } else if first.starts_with("eval") {
            let (last, eval) = parse_eval(&lines, i)?;
            commands.push(Command::Eval(Box::new(eval)));
            i = last;
        } else {
            return Err(err(i, format!("invalid command {l:?}")));
        }
        i += 1;
    }
    Ok(Script { commands })
}

/// Returns the index of the block's last line and the command.
fn parse_load(lines: &[&str], mut i: usize) -> Result<(usize, Load), ScriptError> {
    let caps = PAT_LOAD.captures(lines[i]).ok_or_else(|| {
        err(
            i,
            "invalid load command. (load[_with_nhcb] <step:duration>)",
        )
    })?;
    let with_nhcb = caps.get(1).is_some();
    let step = caps.get(2).map_or("", |m| m.as_str());
    let interval_ms = parse_duration(step)
        .map_err(|e| err(i, format!("invalid step definition {step:?}: {e}")))?;
    let mut load = Load {
        line: i + 1,
        interval_ms,
        with_nhcb,
        series: Vec::new(),
    };
    // A start-timestamp line waiting for its sample line: (line, labels, offsets).
    let mut pending_st: Option<(usize, Labels, Vec<Option<i64>>)> = None;
    while i + 1 < lines.len() && !lines[i + 1].is_empty() {
        i += 1;
        let def = lines[i];
        if is_st_line(def) {
            if let Some((l, _, _)) = pending_st {
                return Err(err(l, "@st line has no following sample line"));
            }
            let (labels, n) = parse_st_line(def).map_err(|e| err(i, e))?;
            if let Some(labels) = labels {
                pending_st = Some((i, labels, n));
            }
            continue;
        }
        let mut desc = parse_series_desc(def).map_err(|e| err(i, e))?;
        if let Some((l, labels, offsets)) = pending_st.take() {
            let n = offsets.len();
            if labels != desc.labels {
                return Err(err(
                    l,
                    "@st metric does not match the following sample line metric",
                ));
            }
            if n != desc.values.len() {
                return Err(err(
                    l,
                    format!(
                        "@st line has {n} values but sample line has {}",
                        desc.values.len()
                    ),
                ));
            }
            desc.start_offsets = offsets;
        }
        match load.series.iter_mut().find(|s| s.labels == desc.labels) {
            Some(existing) => *existing = desc,
            None => load.series.push(desc),
        }
    }
    if let Some((l, _, _)) = pending_st {
        return Err(err(l, "@st line has no following sample line"));
    }
    Ok((i, load))
}

fn is_st_line(def: &str) -> bool {
    def.find([' ', '\t'])
        .is_some_and(|sp| def[..sp].ends_with("@st"))
}

/// Parses `metric{…}@st <offsets>` or a standalone `@st <offsets>`; returns
/// the labels (None for the standalone form, which names no series and is
/// only checked) and the offsets.
fn parse_st_line(def: &str) -> Result<(Option<Labels>, Vec<Option<i64>>), String> {
    let sp = def
        .find([' ', '\t'])
        .ok_or("invalid @st line: missing value sequence")?;
    let metric = def[..sp].strip_suffix("@st").unwrap_or(&def[..sp]);
    let offsets = parse_st_sequence(def[sp..].trim())?;
    if metric.is_empty() {
        return Ok((None, offsets));
    }
    let (labels, used) = parse_labels_prefix(metric)
        .map_err(|e| format!("invalid @st line metric {metric:?}: {e}"))?;
    if used != metric.len() {
        return Err(format!("invalid @st line metric {metric:?}"));
    }
    Ok((Some(labels), offsets))
}

/// Expands a start-timestamp offset sequence: one entry per position, the
/// offset from the sample's time in ms, `None` where a sample has none.
fn parse_st_sequence(s: &str) -> Result<Vec<Option<i64>>, String> {
    let mut out: Vec<Option<i64>> = Vec::new();
    for item in s.split_whitespace() {
        let bad = |why: &str| format!("invalid ST item {item:?}: {why}");
        let count = |rest: &str| -> Result<usize, String> {
            rest.parse::<usize>()
                .map_err(|_| bad("invalid repeat count"))
        };
        // (first offset, change per position, positions)
        let (first, delta, positions) = if item == "_" || item == "*" {
            (None, 0, 1)
        } else if let Some(r) = item.strip_prefix("_x") {
            match count(r)? {
                0 => return Err(bad("invalid repeat count")),
                k => (None, 0, k),
            }
        } else if let Some(r) = item.strip_prefix("*x") {
            (None, 0, count(r)?.saturating_add(1))
        } else {
            let (first, rest) = st_duration_prefix(item).map_err(|e| bad(&e))?;
            if rest.is_empty() {
                (Some(first), 0, 1)
            } else if let Some(r) = rest.strip_prefix('x') {
                (Some(first), 0, count(r)?.saturating_add(1))
            } else if rest.starts_with(['+', '-']) {
                let (delta, r) = st_duration_prefix(rest).map_err(|e| bad(&e))?;
                let r = r
                    .strip_prefix('x')
                    .ok_or_else(|| bad("expected 'x<count>' after step duration"))?;
                (Some(first), delta, count(r)?.saturating_add(1))
            } else {
                return Err(bad("unexpected character after duration"));
            }
        };
        if out.len().saturating_add(positions) > super::series::MAX_POSITIONS {
            return Err(bad("sequence too long"));
        }
        for k in 0..positions {
            out.push(first.map(|f| f.saturating_add(delta.saturating_mul(k as i64))));
        }
    }
    Ok(out)
}

/// Reads an optionally signed duration at the start of `s`; returns its
/// value in ms and the rest.
fn st_duration_prefix(s: &str) -> Result<(i64, &str), String> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    if digits == 0 {
        return Err(format!("expected digits in duration {s:?}"));
    }
    let end = body[digits..]
        .find(|c: char| !c.is_ascii_alphabetic() || c == 'x')
        .map_or(body.len(), |e| digits + e);
    let ms = parse_duration(&body[..end])?;
    Ok((if negative { -ms } else { ms }, &body[end..]))
}

fn parse_eval(lines: &[&str], mut i: usize) -> Result<(usize, Eval), ScriptError> {
    let line = lines[i];
    let instant = PAT_EVAL_INSTANT.captures(line);
    let range = PAT_EVAL_RANGE.captures(line);
    let (modifier, expr, kind) = match (instant, range) {
        (Some(c), _) => {
            let at = c.get(2).map_or("", |m| m.as_str());
            let expr = c.get(3).map_or("", |m| m.as_str());
            let at = parse_duration(at).map_err(|e| {
                err(
                    i,
                    format!(
                        "error in eval {expr} (line {}): invalid timestamp definition {at:?}: {e}",
                        i + 1
                    ),
                )
            })?;
            (c.get(1).map(|m| m.as_str()), expr, EvalKind::Instant { at })
        }
        (None, Some(c)) => {
            let expr = c.get(5).map_or("", |m| m.as_str());
            let (start, end, step) = parse_times(
                c.get(2).map_or("", |m| m.as_str()),
                c.get(3).map_or("", |m| m.as_str()),
                c.get(4).map_or("", |m| m.as_str()),
            )
            .map_err(|e| err(i, format!("error in eval {expr} (line {}): {e}", i + 1)))?;
            (
                c.get(1).map(|m| m.as_str()),
                expr,
                EvalKind::Range { start, end, step },
            )
        }
        (None, None) => {
            return Err(err(
                i,
                "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered|_info] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn|_info] range from <from> to <to> step <step> <query>'",
            ));
        }
    };
    let parsed = crate::promql::parse_expr(expr).map_err(|e| match e {
        crate::promql::PromqlError::Parse { message, .. } => message,
        other => other.to_string(),
    });
    let mut ev = Eval {
        line: i + 1,
        expr: expr.to_string(),
        parsed,
        kind,
        fail: modifier == Some("fail"),
        fail_match: Vec::new(),
        expected_fail_message: None,
        expected_fail_regexp: None,
        warn: modifier == Some("warn"),
        info: modifier == Some("info"),
        expect_warn: Vec::new(),
        no_warn: false,
        expect_info: Vec::new(),
        no_info: false,
        ordered: modifier == Some("ordered"),
        range_vector: None,
        expected_string: String::new(),
        has_expected_string: false,
        scalar: None,
        series: Vec::new(),
    };
    let cmd_line = i;
    let ferr = |msg: String| {
        err(
            cmd_line,
            format!("error in eval {expr} (line {}): {msg}", cmd_line + 1),
        )
    };
    let is_instant = matches!(kind, EvalKind::Instant { .. });
    let mut pos: usize = 1;
    while i + 1 < lines.len() && !lines[i + 1].is_empty() {
        i += 1;
        let def = lines[i];
        if ev.fail {
            if let Some(m) = def.strip_prefix("expected_fail_message") {
                ev.expected_fail_message = Some(m.trim().to_string());
                break;
            }
            if let Some(p) = def.strip_prefix("expected_fail_regexp") {
                let p = p.trim();
                ev.expected_fail_regexp = Some(compile_go_regex(p).map_err(|e| {
                    ferr(format!(
                        "invalid regexp '{p}' for expected_fail_regexp: {e}"
                    ))
                })?);
                break;
            }
        }
        if def.starts_with("expect range vector") {
            let c = PAT_EXPECT_RANGE
                .captures(def)
                .ok_or_else(|| ferr(format!("invalid range vector definition {def:?}")))?;
            let t = parse_times(&c[1], &c[2], &c[3]).map_err(ferr)?;
            ev.range_vector = Some(t);
            pos += 1;
            continue;
        }
        if def.starts_with("expect string") {
            ev.expected_string = parse_expect_string(def).map_err(ferr)?;
            ev.has_expected_string = true;
            pos += 1;
            continue;
        }
        if def.split(' ').next() == Some("expect") {
            parse_expect(&mut ev, def).map_err(ferr)?;
            continue;
        }
        if let Some(v) = parse_scalar_line(def) {
            ev.scalar = Some(v);
            break;
        }
        let desc = parse_series_desc(def).map_err(|e| err(i, e))?;
        if desc.values.len() > 1 && is_instant && ev.range_vector.is_none() {
            return Err(ferr(
                "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query".into(),
            ));
        }
        let entry = ExpectedSeries {
            labels: desc.labels,
            pos,
            values: desc.values,
        };
        match ev.series.iter_mut().find(|s| s.labels == entry.labels) {
            Some(existing) => *existing = entry,
            None => ev.series.push(entry),
        }
        pos += 1;
    }
    Ok((i, ev))
}

fn parse_times(from: &str, to: &str, step: &str) -> Result<(i64, i64, i64), String> {
    let start = parse_duration(from)
        .map_err(|e| format!("invalid start timestamp definition {from:?}: {e}"))?;
    let end =
        parse_duration(to).map_err(|e| format!("invalid end timestamp definition {to:?}: {e}"))?;
    if end < start {
        return Err(format!(
            "invalid test definition, end timestamp ({to}) is before start timestamp ({from})"
        ));
    }
    let step =
        parse_duration(step).map_err(|e| format!("invalid step definition {step:?}: {e}"))?;
    Ok((start, end, step))
}

fn parse_expect_string(def: &str) -> Result<String, String> {
    let invalid = "expected string literal not valid - a quoted string literal is required";
    if def == "expect string" {
        return Err(invalid.into());
    }
    let lit = def.strip_prefix("expect string ").unwrap_or("");
    if lit.is_empty() {
        return Err(invalid.into());
    }
    unquote(lit).map_err(|_| {
        "expected string literal not valid - check that the string is correctly quoted".into()
    })
}

fn parse_expect(ev: &mut Eval, def: &str) -> Result<(), String> {
    let c = PAT_EXPECT.captures(def.trim()).ok_or(
        "invalid expect statement, must match `expect <type> <match_type>: <string>` format",
    )?;
    let kind = c.get(1).map_or("", |m| m.as_str());
    let matcher = match (c.get(2).map(|m| m.as_str()), c.get(3)) {
        (Some("msg"), Some(t)) => MessageMatch::Exact(t.as_str().trim().to_string()),
        (Some(_), Some(t)) => {
            let p = t.as_str().trim();
            MessageMatch::Regex(
                compile_go_regex(p).map_err(|_| format!("invalid regex {p} for {kind}"))?,
            )
        }
        _ => MessageMatch::Any,
    };
    match kind {
        "fail" => ev.fail_match.push(matcher),
        "warn" => ev.expect_warn.push(matcher),
        "no_warn" => ev.no_warn = true,
        "info" => ev.expect_info.push(matcher),
        "no_info" => ev.no_info = true,
        _ => ev.ordered = true,
    }
    if !ev.expect_info.is_empty() && ev.no_info {
        return Err("invalid expect lines, info and no_info cannot be used together".into());
    }
    if !ev.expect_warn.is_empty() && ev.no_warn {
        return Err("invalid expect lines, warn and no_warn cannot be used together".into());
    }
    if ev.fail_match.len() > 1 {
        return Err("invalid expect lines, multiple expect fail lines are not allowed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evals(s: &Script) -> Vec<&Eval> {
        s.commands
            .iter()
            .filter_map(|c| match c {
                Command::Eval(e) => Some(&**e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn worked_example() {
        let src = "load 1m\n    http_requests_total{job=\"a\"} 0+10x10\n\thttp_requests_total{job=\"b\"} 0 _ 20 stale 40\n\n# comment\neval instant at 5m sum(http_requests_total)\n    expect no_warn\n    {} 90\n\neval range from 0 to 3m step 1m http_requests_total{job=\"b\"}\n    http_requests_total{job=\"b\"} 0 0 20 _\n\neval instant at 1m 1 + 2\n    3\n";
        let s = parse_script(src).unwrap();
        assert_eq!(s.commands.len(), 4);
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert_eq!(
            (l.interval_ms, l.with_nhcb, l.series.len()),
            (60_000, false, 2)
        );
        let e = evals(&s);
        assert_eq!(e[0].kind, EvalKind::Instant { at: 300_000 });
        assert_eq!(e[0].expr, "sum(http_requests_total)");
        assert!(e[0].no_warn);
        assert_eq!(e[0].series[0].pos, 1);
        assert_eq!(
            e[1].kind,
            EvalKind::Range {
                start: 0,
                end: 180_000,
                step: 60_000
            }
        );
        assert_eq!(e[1].series[0].values.len(), 4);
        assert_eq!(e[2].scalar, Some(3.0));
        assert_eq!(e[2].line, 13);
        assert!(e[2].parsed.is_ok());
    }

    #[test]
    fn a_comment_ends_a_block() {
        let src = "load 1m\n  a 1\n# comment\n  b 2\n";
        let e = parse_script(src).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("invalid command"), "{e}");
    }

    #[test]
    fn scalar_line_ends_the_block() {
        let e = parse_script("eval instant at 0 1\n  1\n  {} 2\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn expect_lines() {
        let src = "eval instant at 1m foo\n  expect fail msg: bad thing\n\neval instant at 1m foo\n  expect warn regex: a+b\n  expect warn\n  expect info msg:x y \n  expect ordered\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n\neval instant at 1m foo\n  expect string \"a\\tb\"\n";
        let s = parse_script(src).unwrap();
        let e = evals(&s);
        assert!(e[0].expects_failure());
        assert!(e[0].fail_match[0].matches("bad thing"));
        assert!(!e[0].fail_match[0].matches("bad thing!"));
        assert_eq!(e[1].expect_warn.len(), 2);
        assert!(e[1].expect_warn[0].matches("xxaabyy"));
        assert!(e[1].expect_info[0].matches("x y"));
        assert!(e[1].is_ordered());
        assert_eq!(
            e[1].series.iter().map(|s| s.pos).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(e[2].expected_string, "a\tb");
        assert!(e[2].excluded_from_range_check());
    }

    #[test]
    fn deprecated_forms() {
        let src = "eval_fail instant at 0 foo\n  expected_fail_message some error\n\neval_fail range from 0 to 1m step 1m foo\n  expected_fail_regexp err.r\n\neval_warn instant at 0 foo\n\neval_info range from 0 to 0 step 1s foo\n\neval_ordered instant at 0 foo\n";
        let s = parse_script(src).unwrap();
        let e = evals(&s);
        assert_eq!(e[0].expected_fail_message.as_deref(), Some("some error"));
        assert!(
            e[1].expected_fail_regexp
                .as_ref()
                .unwrap()
                .is_match("an error")
        );
        assert!(e[1].expects_failure());
        assert!(e[2].warn);
        assert!(e[3].info);
        assert!(e[4].ordered);
        // eval_ordered has no range form.
        assert!(parse_script("eval_ordered range from 0 to 1m step 1m foo\n").is_err());
    }

    #[test]
    fn range_vector_expectation() {
        let src = "eval instant at 1m foo[1m]\n  expect range vector from 10s to 1m step 10s\n  foo 1 2 3\n";
        let s = parse_script(src).unwrap();
        let e = evals(&s);
        assert_eq!(e[0].range_vector, Some((10_000, 60_000, 10_000)));
        assert_eq!(e[0].instant_time(), Some(60_000));
        assert!(e[0].excluded_from_range_check());
        // Several values without `expect range vector` is an error.
        assert!(parse_script("eval instant at 1m foo\n  foo 1 2\n").is_err());
    }

    #[test]
    fn errors_name_the_line() {
        for (src, line) in [
            ("load 1m\n  a 1\n\nbogus\n", 4),
            ("load\n", 1),
            ("load 1x\n", 1),
            ("eval instant at 1q foo\n", 1),
            ("eval instant foo\n", 1),
            ("eval range from 2m to 1m step 1m foo\n", 1),
            ("\n\neval instant at 1m foo\n  expect bogus\n", 3),
            (
                "eval instant at 1m foo\n  expect warn\n  expect no_warn\n",
                1,
            ),
            ("eval instant at 1m foo\n  expect fail\n  expect fail\n", 1),
            ("eval instant at 1m foo\n  expect string abc\n", 1),
            ("eval instant at 1m foo\n  expect warn regex: (\n", 1),
            ("load 1m\n  a{b=\"c\"} 1 2 x\n", 2),
            ("load 1m\n  a@st 1m\n", 2),
            ("load 1m\n  a@st 0 0\n  a 1\n", 2),
            ("load 1m\n  a@st 0\n  b 1\n", 2),
        ] {
            let e = parse_script(src).unwrap_err();
            assert_eq!(e.line, line, "{src:?}: {e}");
        }
    }

    #[test]
    fn start_timestamp_lines() {
        let src = "load 1m\n  @st -1m\n  a@st -1m+10sx1 _ 0-1mx1\n  a 1 2 _ 3 4\n  b 1\n";
        let s = parse_script(src).unwrap();
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert_eq!(l.series.len(), 2);
        let secs = |v: &[i64]| v.iter().map(|&x| Some(x * 1000)).collect::<Vec<_>>();
        let mut want = secs(&[-60, -50]);
        want.push(None);
        want.extend(secs(&[0, -60]));
        assert_eq!(l.series[0].start_offsets, want);
        assert!(l.series[1].start_offsets.is_empty());
    }

    #[test]
    fn later_series_line_replaces_earlier() {
        let s = parse_script("load 1m\n  a 1\n  a 2 3\n").unwrap();
        let Command::Load(l) = &s.commands[0] else {
            panic!()
        };
        assert_eq!(l.series.len(), 1);
        assert_eq!(l.series[0].values.len(), 2);
    }

    #[test]
    fn expression_syntax_errors_are_kept_per_case() {
        let s = parse_script("eval instant at 1m sum(\n").unwrap();
        assert!(evals(&s)[0].parsed.is_err());
    }

    #[test]
    fn uppercase_command_words_dispatch() {
        // The first word is lowercased for dispatch, the syntax is not.
        assert!(parse_script("CLEAR\n").is_ok());
        assert!(parse_script("LOAD 1m\n").is_err());
    }
}

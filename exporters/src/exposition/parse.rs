//! The parser: text 0.0.4 or OpenMetrics 1.0 bodies to samples with their
//! family's metadata.
//!
//! It works on bytes with bounds-checked access only, so arbitrary input
//! gives an error naming the line, never a panic.

use std::sync::Arc;

use warden_tsdb::{LabelsBuilder, MetricMetadata, MetricType, labels::METRIC_NAME};

use super::Format;
use warden_tsdb::Labels;

/// Why a body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// A family as declared by `# TYPE`, `# HELP` and `# UNIT` lines (or
/// implied by a sample with no declaration: type unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFamily {
    /// The family name as in the metadata lines.
    pub name: String,
    /// Its type, help and unit.
    pub metadata: MetricMetadata,
}

/// One sample read from a body.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// The series' labels, `__name__` included.
    pub labels: Labels,
    /// The value.
    pub value: f64,
    /// The sample's own timestamp in milliseconds, if it had one.
    pub timestamp_ms: Option<i64>,
    /// The family the sample belongs to, shared by its samples.
    pub family: Arc<ParsedFamily>,
}

/// Suffixes by which a sample name belongs to its family.
const SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_count", "_sum", "_info", "_gcount", "_gsum",
];

/// Parses a whole body. Text format: `# HELP`/`# TYPE` lines, other
/// comments and blank lines ignored, integer millisecond timestamps.
/// OpenMetrics: `# TYPE`/`# HELP`/`# UNIT`, second timestamps, exemplars
/// accepted and dropped, and the body must end with `# EOF`.
pub fn parse(format: Format, body: &[u8]) -> Result<Vec<ParsedSample>, ParseError> {
    let mut samples = Vec::new();
    parse_each(format, body, |s| samples.push(s))?;
    Ok(samples)
}

/// [`parse`] without collecting: hands each sample to `each` as soon as it
/// is read, so a large scrape never holds every sample's labels at once.
/// The body is only valid when this returns `Ok` (an error, even a missing
/// `# EOF`, can come after samples were handed over), so a caller that
/// appends them commits on `Ok` only, and rolls back otherwise, as
/// Prometheus's scrape loop does. Returns the number of samples.
pub fn parse_each(
    format: Format,
    body: &[u8],
    mut each: impl FnMut(ParsedSample),
) -> Result<usize, ParseError> {
    let om = format == Format::OpenMetrics;
    let mut count = 0;
    let mut family: Option<Arc<ParsedFamily>> = None;
    let mut eof_seen = false;
    let mut lines = body.split(|&b| b == b'\n').enumerate().peekable();
    while let Some((idx, line)) = lines.next() {
        let n = idx + 1;
        let err = |message: String| ParseError { line: n, message };
        let is_last = lines.peek().is_none();
        if eof_seen {
            if is_last && line.is_empty() {
                break;
            }
            return Err(err("content after # EOF".into()));
        }
        if line.is_empty() && is_last {
            break;
        }
        if line
            .iter()
            .all(|b| *b == b' ' || *b == b'\t' || *b == b'\r')
        {
            if om {
                return Err(err("empty line".into()));
            }
            continue;
        }
        let mut c = Cursor::new(line);
        if c.peek() == Some(b'#') {
            c.i += 1;
            c.skip_ws();
            let word = c.word();
            match word {
                b"EOF" if om => {
                    c.skip_ws();
                    if !c.at_end() {
                        return Err(err("unexpected text after # EOF".into()));
                    }
                    eof_seen = true;
                }
                b"TYPE" | b"HELP" | b"UNIT" if om || word != b"UNIT" => {
                    c.skip_ws();
                    let quoted_name;
                    let name = if c.eat(b'"') {
                        quoted_name = c.quoted().map_err(err)?;
                        quoted_name.as_str()
                    } else {
                        std::str::from_utf8(c.word()).unwrap_or("")
                    };
                    if name.is_empty() {
                        return Err(err("expected a metric name".into()));
                    }
                    if word == b"TYPE" {
                        c.expect_ws().map_err(err)?;
                    } else if matches!(c.peek(), Some(b' ') | Some(b'\t')) {
                        // One separator; the rest, blanks included, is the text.
                        c.i += 1;
                    } else if !c.at_end() {
                        return Err(err("expected whitespace after the metric name".into()));
                    }
                    let rest = c.rest();
                    let fam = current(&mut family, name);
                    match word {
                        b"TYPE" => {
                            let t = std::str::from_utf8(rest).unwrap_or("").trim_end();
                            fam.metadata.kind = parse_type(t, om)
                                .ok_or_else(|| err(format!("invalid metric type {t:?}")))?;
                        }
                        b"HELP" => fam.metadata.help = unescape(rest, om).map_err(err)?,
                        _ => fam.metadata.unit = unescape(rest, om).map_err(err)?,
                    }
                }
                _ if om => return Err(err("unknown comment line".into())),
                _ => {}
            }
            continue;
        }
        let s = sample(&mut c, om).map_err(err)?;
        let name = s.labels.metric_name().unwrap_or("");
        let fam = match &family {
            Some(f) if belongs(name, &f.name) => f.clone(),
            _ => {
                let f = Arc::new(ParsedFamily {
                    name: name.to_string(),
                    metadata: MetricMetadata::default(),
                });
                family = Some(f.clone());
                f
            }
        };
        count += 1;
        each(ParsedSample {
            labels: s.labels,
            value: s.value,
            timestamp_ms: s.timestamp_ms,
            family: fam,
        });
    }
    if om && !eof_seen {
        let last = body.split(|&b| b == b'\n').count();
        return Err(ParseError {
            line: last,
            message: "missing # EOF".into(),
        });
    }
    Ok(count)
}

/// The family being declared: the current one if it has this name, else a
/// new one.
fn current<'a>(family: &'a mut Option<Arc<ParsedFamily>>, name: &str) -> &'a mut ParsedFamily {
    if family.as_ref().is_none_or(|f| f.name != name) {
        *family = Some(Arc::new(ParsedFamily {
            name: name.to_string(),
            metadata: MetricMetadata::default(),
        }));
    }
    let arc = family.get_or_insert_with(|| {
        Arc::new(ParsedFamily {
            name: name.to_string(),
            metadata: MetricMetadata::default(),
        })
    });
    Arc::make_mut(arc)
}

/// Whether a sample named `sample` is part of family `family`.
fn belongs(sample: &str, family: &str) -> bool {
    sample == family
        || sample
            .strip_prefix(family)
            .is_some_and(|rest| SUFFIXES.contains(&rest))
}

fn parse_type(t: &str, om: bool) -> Option<MetricType> {
    Some(match t {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" if !om => MetricType::Unknown,
        "unknown" if om => MetricType::Unknown,
        "info" if om => MetricType::Info,
        "stateset" if om => MetricType::StateSet,
        // A gauge histogram is stored like a histogram.
        "gaugehistogram" if om => MetricType::Histogram,
        _ => return None,
    })
}

/// Undoes the escapes of help text (`\\`, `\n`, and `\"` in OpenMetrics);
/// other backslashes are kept as written, as Prometheus does.
fn unescape(raw: &[u8], om: bool) -> Result<String, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'\\' {
            match raw.get(i + 1) {
                Some(b'\\') => out.push(b'\\'),
                Some(b'n') => out.push(b'\n'),
                Some(b'"') if om => out.push(b'"'),
                Some(&other) => {
                    out.push(b'\\');
                    out.push(other);
                }
                None => {
                    out.push(b'\\');
                    i += 1;
                    continue;
                }
            }
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "invalid UTF-8".to_string())
}

struct Sample {
    labels: Labels,
    value: f64,
    timestamp_ms: Option<i64>,
}

/// Parses `name{labels} value [timestamp] [# exemplar]`.
fn sample(c: &mut Cursor<'_>, om: bool) -> Result<Sample, String> {
    let mut b = LabelsBuilder::new();
    let mut has_name = false;
    let ident = c.ident(true);
    if !ident.is_empty() {
        b.push(METRIC_NAME, ident);
        has_name = true;
    }
    if !om && has_name {
        // The text format allows blanks between the name and its labels.
        let at = c.i;
        c.skip_ws();
        if c.peek() != Some(b'{') {
            c.i = at;
        }
    }
    if c.peek() == Some(b'{') {
        c.i += 1;
        labels(c, &mut b, &mut has_name)?;
    }
    if !has_name {
        return Err("expected a metric name".into());
    }
    c.expect_ws()?;
    let value_tok = c.word();
    let value = parse_value(value_tok).ok_or_else(|| {
        format!(
            "invalid value {:?}",
            String::from_utf8_lossy(value_tok).into_owned()
        )
    })?;
    let mut timestamp_ms = None;
    c.skip_ws();
    if !c.at_end() && c.peek() != Some(b'#') {
        let tok = c.word();
        let ts = if om {
            om_timestamp(tok)
        } else {
            text_timestamp(tok)
        };
        timestamp_ms = Some(ts.ok_or_else(|| {
            format!(
                "invalid timestamp {:?}",
                String::from_utf8_lossy(tok).into_owned()
            )
        })?);
        c.skip_ws();
    }
    if c.peek() == Some(b'#') {
        if !om {
            return Err("unexpected text after the value".into());
        }
        exemplar(c)?;
    }
    c.skip_ws();
    if !c.at_end() {
        return Err("unexpected text after the sample".into());
    }
    let labels = b.build().map_err(|e| e.to_string())?;
    Ok(Sample {
        labels,
        value,
        timestamp_ms,
    })
}

/// Parses the inside of `{...}` after the opening brace.
fn labels(c: &mut Cursor<'_>, b: &mut LabelsBuilder, has_name: &mut bool) -> Result<(), String> {
    loop {
        c.skip_ws();
        if c.eat(b'}') {
            return Ok(());
        }
        let (name, quoted) = if c.eat(b'"') {
            (c.quoted()?, true)
        } else {
            let id = c.ident(false);
            if id.is_empty() {
                return Err("expected a label name".into());
            }
            (id.to_string(), false)
        };
        c.skip_ws();
        if quoted && !*has_name && matches!(c.peek(), Some(b',') | Some(b'}')) {
            // Prometheus 3's `{"metric.name", label="v"}`.
            b.push(METRIC_NAME, name);
            *has_name = true;
        } else {
            if !c.eat(b'=') {
                return Err(format!("expected '=' after label name {name:?}"));
            }
            c.skip_ws();
            if !c.eat(b'"') {
                return Err(format!("expected '\"' to open the value of {name:?}"));
            }
            let value = c.quoted()?;
            if name == METRIC_NAME {
                *has_name = true;
            }
            b.push(name, value);
        }
        c.skip_ws();
        if c.eat(b',') {
            continue;
        }
        if c.eat(b'}') {
            return Ok(());
        }
        return Err("expected ',' or '}' in the label set".into());
    }
}

/// Checks and skips an OpenMetrics exemplar: `# {labels} value [timestamp]`.
fn exemplar(c: &mut Cursor<'_>) -> Result<(), String> {
    c.i += 1; // '#'
    c.expect_ws()?;
    if !c.eat(b'{') {
        return Err("expected '{' to open an exemplar".into());
    }
    let mut b = LabelsBuilder::new();
    let mut named = true; // an exemplar has no metric name
    labels(c, &mut b, &mut named)?;
    c.expect_ws()?;
    let v = c.word();
    parse_value(v).ok_or("invalid exemplar value")?;
    c.skip_ws();
    if !c.at_end() {
        let t = c.word();
        om_timestamp(t).ok_or("invalid exemplar timestamp")?;
    }
    Ok(())
}

/// A float as Go's `strconv.ParseFloat` reads exposition values: decimal
/// and exponent forms, and `Inf`/`NaN` in any case with an optional sign.
fn parse_value(tok: &[u8]) -> Option<f64> {
    if tok.is_empty() || tok.len() > 64 {
        return None;
    }
    let s = std::str::from_utf8(tok).ok()?;
    // Rust also accepts "infinity"; Go does too. Both refuse "0x" here.
    s.parse::<f64>().ok()
}

fn text_timestamp(tok: &[u8]) -> Option<i64> {
    std::str::from_utf8(tok).ok()?.parse().ok()
}

/// Seconds (possibly fractional) to milliseconds, exactly for plain
/// decimals and rounded for exponent forms.
fn om_timestamp(tok: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(tok).ok()?;
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && int.len() <= 15
    {
        let mut ms: i64 = int.parse::<i64>().ok()?.checked_mul(1000)?;
        let mut scale = 100;
        for d in frac.bytes().take(3) {
            ms += i64::from(d - b'0') * scale;
            scale /= 10;
        }
        return Some(if neg { -ms } else { ms });
    }
    let f: f64 = s.parse().ok()?;
    let ms = (f * 1000.0).round();
    if ms.is_finite() && ms.abs() < 9.0e18 {
        Some(ms as i64)
    } else {
        None
    }
}

/// A position in one line.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8]) -> Self {
        // A CRLF line ending is accepted.
        let b = b.strip_suffix(b"\r").unwrap_or(b);
        Cursor { b, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ') | Some(b'\t')) {
            self.i += 1;
        }
    }

    fn expect_ws(&mut self) -> Result<(), String> {
        if !matches!(self.peek(), Some(b' ') | Some(b'\t')) {
            return Err(if self.at_end() {
                "unexpected end of line".into()
            } else {
                "expected whitespace".into()
            });
        }
        self.skip_ws();
        Ok(())
    }

    /// Everything up to the next space or tab.
    fn word(&mut self) -> &'a [u8] {
        let start = self.i;
        while !matches!(self.peek(), None | Some(b' ') | Some(b'\t')) {
            self.i += 1;
        }
        self.b.get(start..self.i).unwrap_or(&[])
    }

    fn rest(&mut self) -> &'a [u8] {
        let r = self.b.get(self.i..).unwrap_or(&[]);
        self.i = self.b.len();
        r
    }

    /// A classic metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or label name
    /// (no colons); empty when none starts here.
    fn ident(&mut self, metric: bool) -> &'a str {
        let start = self.i;
        while let Some(c) = self.peek() {
            let ok = c.is_ascii_alphabetic()
                || c == b'_'
                || (metric && c == b':')
                || (self.i > start && c.is_ascii_digit());
            if !ok {
                break;
            }
            self.i += 1;
        }
        // Only ASCII was consumed, so this cannot fail.
        std::str::from_utf8(self.b.get(start..self.i).unwrap_or(&[])).unwrap_or("")
    }

    /// The rest of a quoted string after its opening quote, unescaped
    /// (`\\`, `\"`, `\n`; other escapes kept as written).
    fn quoted(&mut self) -> Result<String, String> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".into()),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    match self.b.get(self.i + 1) {
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'"') => out.push(b'"'),
                        Some(b'n') => out.push(b'\n'),
                        Some(&o) => {
                            out.push(b'\\');
                            out.push(o);
                        }
                        None => return Err("unterminated quoted string".into()),
                    }
                    self.i += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "invalid UTF-8 in a quoted string".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_metadata() {
        let body =
            b"# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.63\n\
# some comment\n\n# TYPE http_requests_total counter\n\
http_requests_total{code=\"200\",path=\"/a\\\"b\\\\\\n\"} 1027 1395066363000\n\
http_requests_total { code = \"500\" , } +Inf\nother NaN\n";
        let s = parse(Format::Text, body).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].labels.to_string(), "node_load1");
        assert_eq!(s[0].value, 0.63);
        assert_eq!(s[0].family.metadata.kind, MetricType::Gauge);
        assert_eq!(s[0].family.metadata.help, "1m load average.");
        assert_eq!(s[1].labels.get("path"), Some("/a\"b\\\n"));
        assert_eq!(s[1].timestamp_ms, Some(1395066363000));
        assert_eq!(s[1].family.metadata.kind, MetricType::Counter);
        assert_eq!(s[2].value, f64::INFINITY);
        assert_eq!(s[2].labels.get("code"), Some("500"));
        assert_eq!(s[3].family.name, "other");
        assert_eq!(s[3].family.metadata.kind, MetricType::Unknown);
        assert!(s[3].value.is_nan());
    }

    #[test]
    fn openmetrics_with_exemplar_and_eof() {
        let body = b"# TYPE foo counter\n# UNIT foo seconds\n# HELP foo Say \\\"hi\\\"\n\
foo_total{a=\"1\"} 17.0 1520879607.789 # {trace_id=\"x\"} 0.67 1520879602\nfoo_created 1520430000.123\n\
# TYPE \"my.metric\" gauge\n{\"my.metric\",\"my.label\"=\"v\"} 1\n# EOF\n";
        let s = parse(Format::OpenMetrics, body).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].timestamp_ms, Some(1520879607789));
        assert_eq!(s[0].family.name, "foo");
        assert_eq!(s[0].family.metadata.unit, "seconds");
        assert_eq!(s[0].family.metadata.help, "Say \"hi\"");
        assert_eq!(s[1].family.name, "foo");
        assert_eq!(s[2].labels.metric_name(), Some("my.metric"));
        assert_eq!(s[2].labels.get("my.label"), Some("v"));
    }

    #[test]
    fn parse_each_streams_and_still_fails_the_whole_body() {
        let mut names = Vec::new();
        let n = parse_each(Format::Text, b"a 1\nb{x=\"y\"} 2\n", |s| {
            names.push(s.labels.to_string())
        })
        .unwrap();
        assert_eq!(
            (n, names.as_slice()),
            (2, &["a".to_string(), "b{x=\"y\"}".to_string()][..])
        );
        // Samples come before the missing `# EOF` is known: the caller must
        // not commit them.
        let mut seen = 0;
        let e = parse_each(Format::OpenMetrics, b"a 1\n", |_| seen += 1).unwrap_err();
        assert_eq!((seen, e.message.as_str()), (1, "missing # EOF"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(Format::Text, b"ok 1\nbad{a=\"1\" 2\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse(Format::Text, b"# TYPE x histogramm\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("histogramm"));
        let e = parse(Format::Text, b"x 1 notatime\n").unwrap_err();
        assert!(e.message.contains("timestamp"), "{e}");
        let e = parse(Format::OpenMetrics, b"x 1\n").unwrap_err();
        assert!(e.message.contains("EOF"), "{e}");
        let e = parse(Format::OpenMetrics, b"# EOF\nx 1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse(Format::Text, b"x{a=\"1\",a=\"2\"} 1\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        let e = parse(Format::Text, b"x{a=\"\xff\"} 1\n").unwrap_err();
        assert!(e.message.contains("UTF-8"), "{e}");
    }
}

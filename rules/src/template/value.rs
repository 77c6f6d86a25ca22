//! The template's values with the Go types Prometheus gives them.
//!
//! gotmpl's values are untyped, but Go's behaviour depends on the static
//! type: a missing key of a `map[string]string` (the labels) renders as an
//! empty string, of a `map[string]interface{}` (from `args`) as
//! `<no value>`; a struct has fields, not keys; `*time.Time` prints as a
//! date. Every map or list this module builds is recorded in a [`Types`]
//! registry by address, so field access and printing can follow the Go type.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use gotmpl::Value;

/// The Go type behind a map or list value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GoType {
    /// `map[string]string`: labels and external labels.
    StringMap,
    /// The alert data struct (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`).
    AlertData,
    /// `*template.sample`: one element of a query result.
    Sample,
    /// `template.queryResult`: what `query` returns.
    QueryResult,
    /// `*time.Time`, nanoseconds since the epoch (from `toTime`).
    Time(i64),
    /// `*time.Duration`, nanoseconds (from `toDuration`).
    Duration(i64),
}

impl GoType {
    fn name(self) -> &'static str {
        match self {
            GoType::StringMap => "map[string]string",
            GoType::AlertData => {
                "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
            }
            GoType::Sample => "*template.sample",
            GoType::QueryResult => "template.queryResult",
            GoType::Time(_) => "*time.Time",
            GoType::Duration(_) => "*time.Duration",
        }
    }

    fn is_struct(self) -> bool {
        matches!(
            self,
            GoType::AlertData | GoType::Sample | GoType::Time(_) | GoType::Duration(_)
        )
    }
}

/// The Go types of the values one expansion created, by address. Each entry
/// keeps its value alive, so an address is never reused while registered.
#[derive(Default)]
pub struct Types {
    by_addr: HashMap<usize, (GoType, Value)>,
}

/// [`Types`] shared by the functions of one expansion.
pub type SharedTypes = Arc<Mutex<Types>>;

fn address(v: &Value) -> Option<usize> {
    match v {
        Value::Map(m) => Some(Arc::as_ptr(m) as *const u8 as usize),
        Value::List(l) => Some(Arc::as_ptr(l) as *const u8 as usize),
        _ => None,
    }
}

/// Locks the registry; a panic elsewhere cannot leave it half-written, so a
/// poisoned lock is still usable.
pub fn lock(types: &SharedTypes) -> MutexGuard<'_, Types> {
    types.lock().unwrap_or_else(|e| e.into_inner())
}

impl Types {
    /// Records `v` as a value of Go type `t` and returns it.
    pub fn register(&mut self, v: Value, t: GoType) -> Value {
        if let Some(a) = address(&v) {
            self.by_addr.insert(a, (t, v.clone()));
        }
        v
    }

    /// The Go type of `v`, if this expansion built it.
    pub fn of(&self, v: &Value) -> Option<GoType> {
        address(v).and_then(|a| self.by_addr.get(&a).map(|(t, _)| *t))
    }

    /// Go's `%T` of `v`.
    pub fn type_name(&self, v: &Value) -> &'static str {
        if let Some(t) = self.of(v) {
            return t.name();
        }
        match v {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Function(_) => "func",
        }
    }

    /// A `map[string]string` value.
    pub fn string_map(&mut self, m: &BTreeMap<String, String>) -> Value {
        let map: BTreeMap<Arc<str>, Value> = m
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Value::String(Arc::from(v.as_str()))))
            .collect();
        self.register(Value::Map(Arc::new(map)), GoType::StringMap)
    }

    /// A struct value with the given fields, in Go's declaration order.
    pub fn structure(&mut self, t: GoType, fields: Vec<(&str, Value)>) -> Value {
        let map: BTreeMap<Arc<str>, Value> =
            fields.into_iter().map(|(k, v)| (Arc::from(k), v)).collect();
        self.register(Value::Map(Arc::new(map)), t)
    }

    /// Go's `s.evalField`: the field or key `name` of `receiver`.
    pub fn field(&self, receiver: &Value, name: &str) -> Result<Value, String> {
        let t = self.of(receiver);
        match receiver {
            Value::Map(m) => match m.get(name) {
                Some(v) if !matches!(t, Some(GoType::Time(_) | GoType::Duration(_))) => {
                    Ok(v.clone())
                }
                _ => match t {
                    Some(GoType::StringMap) => Ok(Value::String(Arc::from(""))),
                    Some(t) if t.is_struct() => {
                        Err(format!("can't evaluate field {name} in type {}", t.name()))
                    }
                    // missingkey=zero on map[string]interface{}: a nil interface.
                    _ => Ok(Value::Nil),
                },
            },
            Value::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
            other => Err(format!(
                "can't evaluate field {name} in type {}",
                self.type_name(other)
            )),
        }
    }

    /// Go's text/template printing of an action's value (`printValue`).
    pub fn print(&self, v: &Value) -> String {
        match v {
            Value::Nil => "<no value>".to_string(),
            other => {
                let mut out = String::new();
                self.write_value(&mut out, other);
                out
            }
        }
    }

    /// Go's `fmt` `%v` of `v`.
    pub fn write_value(&self, out: &mut String, v: &Value) {
        match (v, self.of(v)) {
            (Value::Nil, _) => out.push_str("<nil>"),
            (Value::Float(f), _) => out.push_str(&go_float(*f)),
            (Value::Map(_), Some(GoType::Time(ns))) => out.push_str(&go_time(ns)),
            (Value::Map(_), Some(GoType::Duration(ns))) => out.push_str(&go_duration(ns)),
            (Value::Map(m), Some(GoType::AlertData)) => {
                out.push('{');
                for (i, k) in ["Labels", "ExternalLabels", "ExternalURL", "Value"]
                    .iter()
                    .enumerate()
                {
                    if i > 0 {
                        out.push(' ');
                    }
                    self.write_value(out, m.get(*k).unwrap_or(&Value::Nil));
                }
                out.push('}');
            }
            (Value::Map(m), Some(GoType::Sample)) => {
                out.push_str("&{");
                self.write_value(out, m.get("Labels").unwrap_or(&Value::Nil));
                out.push(' ');
                self.write_value(out, m.get("Value").unwrap_or(&Value::Nil));
                out.push('}');
            }
            (Value::Map(m), _) => {
                out.push_str("map[");
                for (i, (k, item)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    self.write_value(out, item);
                }
                out.push(']');
            }
            (Value::List(l), _) => {
                out.push('[');
                for (i, item) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    self.write_value(out, item);
                }
                out.push(']');
            }
            (other, _) => {
                let _ = write!(out, "{other}");
            }
        }
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`): the
/// shortest digits that round-trip, exponent form below 1e-4 and from 1e6
/// up, `+Inf`, `-Inf`, `NaN`.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` is the shortest round-trip digits, like Go's -1 precision.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Go's `%.4g` (what the humanize functions print).
pub fn go_g4(f: f64) -> String {
    go_g(f, 4)
}

/// Go's `%.<prec>g` of a float64.
pub fn go_g(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return go_float(f);
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{f:.decimals$}")).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`.
pub fn go_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000) as u32;
    let Some(t) = chrono::DateTime::from_timestamp(secs, frac) else {
        return format!("{ns}");
    };
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    if frac != 0 {
        let digits = format!("{frac:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, scale) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("\u{b5}s", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac_string(u, scale));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let sec_part = frac_string(u % 60_000_000_000, 1_000_000_000);
        let minutes = secs / 60;
        if minutes > 0 {
            let hours = minutes / 60;
            if hours > 0 {
                let _ = write!(out, "{hours}h");
            }
            let _ = write!(out, "{}m", minutes % 60);
        }
        out.push_str(&sec_part);
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `v / scale` with the fraction's trailing zeros dropped.
fn frac_string(v: u64, scale: u64) -> String {
    let whole = v / scale;
    let frac = v % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_does() {
        assert_eq!(go_float(1234567.891), "1.234567891e+06");
        assert_eq!(go_float(100000.0), "100000");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(-2.0), "-2");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(999999.0), "999999");
    }

    #[test]
    fn g4_is_gos_percent_point4g() {
        assert_eq!(go_g4(1.2345678), "1.235");
        assert_eq!(go_g4(1234.5678), "1235");
        assert_eq!(go_g4(12345.678), "1.235e+04");
        assert_eq!(go_g4(0.000012345), "1.234e-05");
        assert_eq!(go_g4(0.0), "0");
        assert_eq!(go_g4(100.0), "100");
        assert_eq!(go_g4(f64::NAN), "NaN");
    }

    #[test]
    fn durations_and_times_print_as_go_does() {
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(1_500), "1.5\u{b5}s");
        assert_eq!(go_duration(-2_000_000_000), "-2s");
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time(1_435_065_584_128_000_000),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(go_time(-1_000_000_000), "1969-12-31 23:59:59 +0000 UTC");
    }

    #[test]
    fn missing_keys_follow_the_go_type() {
        let mut t = Types::default();
        let labels = t.string_map(&BTreeMap::from([("a".into(), "b".into())]));
        assert_eq!(t.field(&labels, "a"), Ok(Value::String("b".into())));
        assert_eq!(t.field(&labels, "zz"), Ok(Value::String("".into())));
        let data = t.structure(GoType::AlertData, vec![("Labels", labels)]);
        assert!(
            t.field(&data, "Nope")
                .unwrap_err()
                .starts_with("can't evaluate field Nope in type struct {")
        );
        let args = Value::Map(Arc::new(BTreeMap::new()));
        assert_eq!(t.field(&args, "arg3"), Ok(Value::Nil));
        assert_eq!(
            t.field(&Value::Float(1.0), "x"),
            Err("can't evaluate field x in type float64".into())
        );
    }
}

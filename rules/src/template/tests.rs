//! Expansion tests. Expected strings follow Prometheus 3's
//! template/template.go and Go's text/template; functions Prometheus 2.42
//! also has are compared with the real server in
//! `tests/template_prometheus.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use warden_tsdb::{Labels, Sample};

use super::*;
use crate::promql::promqltest::MemStore;
use crate::promql::{Engine, EngineOptions};
use crate::query::LocalQuery;

const T_MS: i64 = 1_700_000_000_000;

fn store() -> LocalQuery {
    let mut s = MemStore::new();
    let add = |s: &mut MemStore, pairs: &[(&str, &str)], v: f64| {
        let labels = Labels::from_pairs(pairs.iter().copied()).expect("labels");
        s.add_floats(
            &labels,
            &[Sample {
                t: T_MS - 10_000,
                v,
            }],
        );
    };
    add(
        &mut s,
        &[("__name__", "up"), ("instance", "b:2"), ("job", "x")],
        0.0,
    );
    add(
        &mut s,
        &[("__name__", "up"), ("instance", "a:1"), ("job", "x")],
        1.0,
    );
    add(&mut s, &[("__name__", "mem"), ("instance", "a")], 1048576.0);
    LocalQuery::new(Engine::new(EngineOptions::default()), Arc::new(s))
}

fn ex(text: &str, value: f64) -> Result<String, TemplateError> {
    let l = BTreeMap::from([
        ("instance".to_string(), "host1:9100".to_string()),
        ("job".to_string(), "node".to_string()),
    ]);
    let ext = BTreeMap::from([("cluster".to_string(), "eu1".to_string())]);
    let data = TemplateData {
        labels: &l,
        external_labels: &ext,
        external_url: "http://prom.example.com:9090/prefix",
        value,
    };
    expand("__alert_Test", text, &data, T_MS, &store())
}

fn ok(text: &str) -> String {
    ok_v(text, 1234567.891)
}

fn ok_v(text: &str, value: f64) -> String {
    match ex(text, value) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

/// The error of expanding `text`, which must fail.
fn err(text: &str) -> String {
    match ex(text, 1234567.891) {
        Ok(s) => panic!("{text}: expanded to {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// Go's execution error at `needle` (its column counts the prefix).
fn exec_err(text: &str, needle: &str, context: &str, message: &str) -> String {
    let col = PREFIX.len() + text.find(needle).expect("needle in text");
    format!(
        "error executing template __alert_Test: template: __alert_Test:1:{col}: executing \"__alert_Test\" at <{context}>: {message}"
    )
}

#[test]
fn data_labels_and_value() {
    assert_eq!(
        ok("{{ $labels.instance }} {{ $labels.job }}"),
        "host1:9100 node"
    );
    assert_eq!(ok("{{ $value }}"), "1.234567891e+06");
    assert_eq!(ok_v("{{ $value }}", 0.5), "0.5");
    assert_eq!(ok_v("{{ $value }}", f64::NAN), "NaN");
    assert_eq!(ok_v("{{ .Value }}", f64::NEG_INFINITY), "-Inf");
    assert_eq!(
        ok(".{{ $labels.nope }}.{{ index $labels \"nope\" }}."),
        "..."
    );
    assert_eq!(ok("{{ .Labels.job }}"), "node");
    assert_eq!(
        ok("{{ $externalLabels.cluster }}|{{ $externalURL }}"),
        "eu1|http://prom.example.com:9090/prefix"
    );
    assert_eq!(ok("{{ $labels }}"), "map[instance:host1:9100 job:node]");
    assert_eq!(
        ok("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        "instance=host1:9100;job=node;"
    );
    assert_eq!(
        ok("{{ if gt $value 1000.0 }}high{{ else }}low{{ end }}"),
        "high"
    );
    assert_eq!(ok("{{ len $labels }}"), "2");
}

#[test]
fn humanize_family() {
    assert_eq!(ok("{{ $value | humanize }}"), "1.235M");
    assert_eq!(
        ok("{{ humanize \"1234\" }} {{ humanize 0.000012 }} {{ humanize 1000 }}"),
        "1.234k 12u 1k"
    );
    assert_eq!(ok_v("{{ humanize $value }}", f64::INFINITY), "+Inf");
    assert_eq!(
        ok("{{ humanize1024 1048576 }} {{ humanize1024 \"2048\" }}"),
        "1Mi 2ki"
    );
    assert_eq!(
        ok("{{ humanizeDuration 90061 }} {{ humanizeDuration 0.25 }} {{ humanizeDuration -61 }}"),
        "1d 1h 1m 1s 250ms -1m 1s"
    );
    assert_eq!(ok("{{ humanizePercentage 0.256 }}"), "25.6%");
    assert_eq!(
        ok("{{ humanizeTimestamp 1435065584.128 }}"),
        "2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(ok("{{ humanizeTimestamp \"NaN\" }}"), "NaN");
}

#[test]
fn humanize_errors() {
    let t = "{{ humanize \"abc\" }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "humanize",
            "humanize \"abc\"",
            "error calling humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax"
        )
    );
    let t = "{{ humanize true }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "humanize",
            "humanize true",
            "error calling humanize: can't convert bool to float"
        )
    );
    let t = "{{ humanize 1 2 }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "humanize",
            "humanize",
            "wrong number of args for humanize: want 1 got 2"
        )
    );
    let t = "{{ humanizeTimestamp 1e12 }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "humanizeTimestamp",
            "humanizeTimestamp 1e...",
            "error calling humanizeTimestamp: 1e+12 cannot be represented as a nanoseconds timestamp since it overflows int64"
        )
    );
}

#[test]
fn times_and_durations() {
    assert_eq!(
        ok("{{ toTime 0 }}|{{ toTime \"1435065584.128\" }}"),
        "1970-01-01 00:00:00 +0000 UTC|2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        ok("{{ toDuration 90 }}|{{ toDuration 0.0015 }}"),
        "1m30s|1.5ms"
    );
    assert_eq!(ok("{{ now }}"), "1.7e+09");
    assert_eq!(
        ok("{{ parseDuration \"1h30m\" }} {{ parseDuration \"250ms\" }}"),
        "5400 0.25"
    );
    let t = "{{ toTime $value }}";
    assert_eq!(ok_v(t, 1.5), "1970-01-01 00:00:01.5 +0000 UTC");
    match ex(t, f64::NAN) {
        Err(e) => assert_eq!(
            e.to_string(),
            exec_err(
                t,
                "toTime",
                "toTime $value",
                "error calling toTime: value is NaN or Inf"
            )
        ),
        Ok(s) => panic!("{s}"),
    }
    let t = "{{ toDuration 90 | humanizeDuration }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "humanizeDuration",
            "humanizeDuration",
            "error calling humanizeDuration: can't convert *time.Duration to float"
        )
    );
    let t = "{{ parseDuration \"soon\" }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "parseDuration",
            "parseDuration \"soon\"",
            "error calling parseDuration: not a valid duration string: \"soon\""
        )
    );
}

#[test]
fn strings() {
    assert_eq!(
        ok("{{ title \"hello world\" }} {{ toUpper \"abc\" }} {{ toLower \"ABC\" }}"),
        "Hello World ABC abc"
    );
    assert_eq!(
        ok(
            "{{ stripPort $labels.instance }} {{ stripPort \"[::1]:9090\" }} {{ stripPort \"::1\" }}"
        ),
        "host1 ::1 ::1"
    );
    assert_eq!(
        ok("{{ stripDomain \"a.b.c:9\" }} {{ stripDomain \"10.1.2.3:9\" }}"),
        "a:9 10.1.2.3:9"
    );
    assert_eq!(
        ok("{{ if match \"^host\" $labels.instance }}yes{{ end }}|{{ match \"x$\" \"y\" }}"),
        "yes|false"
    );
    assert_eq!(
        ok("{{ reReplaceAll \"(.*):(.*)\" \"$2-$1\" $labels.instance }}"),
        "9100-host1"
    );
    assert_eq!(ok("{{ safeHtml \"<b>\" }}"), "<b>");
    assert_eq!(
        ok("{{ pathPrefix }}|{{ externalURL }}"),
        "/prefix|http://prom.example.com:9090/prefix"
    );
    assert_eq!(
        ok("{{ graphLink \"up == 0\" }}|{{ tableLink \"up\" }}"),
        "/graph?g0.expr=up+%3D%3D+0&g0.tab=0|/graph?g0.expr=up&g0.tab=1"
    );
    assert_eq!(ok("{{ urlQueryEscape \"a b&c\" }}"), "a+b%26c");
    assert_eq!(
        ok("{{ with args 1 \"a\" }}{{ .arg0 }} {{ .arg1 }} {{ .arg2 }}{{ end }}"),
        "1 a <no value>"
    );
}

#[test]
fn string_argument_errors() {
    let t = "{{ toUpper $value }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "$value",
            "$value",
            "wrong type for value; expected string; got float64"
        )
    );
    let t = "{{ $value | toUpper }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "toUpper",
            "toUpper",
            "wrong type for value; expected string; got float64"
        )
    );
    let t = "{{ toUpper 42 }}";
    assert_eq!(err(t), exec_err(t, "42", "42", "expected string; found 42"));
    let t = "{{ match \"(\" \"x\" }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "match",
            "match \"(\" \"x\"",
            "error calling match: error parsing regexp: missing closing ): `(`"
        )
    );
    let t = "{{ reReplaceAll \"[\" \"\" \"x\" }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "reReplaceAll",
            "reReplaceAll \"[\" \"\" ...",
            "error calling reReplaceAll: regexp: Compile(`[`): error parsing regexp: missing closing ]: `[`"
        )
    );
    let t = "{{ .Nope }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            ".Nope",
            ".Nope",
            "can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
        )
    );
}

#[test]
fn queries() {
    assert_eq!(ok("{{ query \"up\" | len }}"), "2");
    assert_eq!(
        ok("{{ range query \"up\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}"),
        "a:1=1 b:2=0 "
    );
    assert_eq!(ok("{{ query \"up\" | first | value }}"), "1");
    assert_eq!(ok("{{ query \"up\" | first | label \"instance\" }}"), "a:1");
    assert_eq!(ok("{{ (query \"up\" | first).Labels.job }}"), "x");
    assert_eq!(
        ok("{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }} {{ end }}"),
        "a:1 b:2 "
    );
    assert_eq!(
        ok("{{ query \"mem\" | first | value | humanize1024 }}"),
        "1Mi"
    );
    assert_eq!(ok("{{ query \"scalar(vector(5))\" | first | value }}"), "5");
    assert_eq!(
        ok(
            "{{ query \"label_replace(vector(1), \\\"__value__\\\", \\\"str\\\", \\\"\\\", \\\"\\\")\" | first | strvalue }}"
        ),
        "str"
    );
    let t = "{{ query \"nothing\" | first }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "first",
            "first",
            "error calling first: first() called on vector with no elements"
        )
    );
    let t = "{{ query \"\\\"s\\\"\" }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "query",
            "query \"\\\"s\\\"\"",
            "error calling query: rule result is not a vector or scalar"
        )
    );
}

#[test]
fn printf_verbs() {
    assert_eq!(
        ok(
            "{{ printf \"%s %d %f %.2f %g %e %q %v\" \"s\" 42 1.5 1.234 0.00001 1234.5 \"q\" $value }}"
        ),
        "s 42 1.500000 1.23 1e-05 1.234500e+03 \"q\" 1.234567891e+06"
    );
    assert_eq!(ok("{{ printf \"%v|%5.1f%%\" 2.0 12.345 }}"), "2| 12.3%");
    assert_eq!(ok("{{ print 1 2 \"a\" }}|{{ println \"x\" }}"), "1 2a|x\n");
}

#[test]
fn long_node_text_is_cut_as_go_cuts_it() {
    let t = "{{ humanize \"this is not a number at all\" }}";
    assert_eq!(
        err(t),
        exec_err(
            t,
            "humanize",
            "humanize \"this is no...",
            "error calling humanize: strconv.ParseFloat: parsing \"this is not a number at all\": invalid syntax"
        )
    );
}

/// Parse errors as `promtool check rules` (Prometheus 2.42) prints them.
#[test]
fn check_reports_gos_parse_errors() {
    let cases = [
        ("{{ $labels.x ", "unclosed action"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ nosuch 1 }}", "function \"nosuch\" not defined"),
        ("{{ $nope }}", "undefined variable \"$nope\""),
        ("{{ if true }}x", "unexpected EOF"),
        ("{{ \"abc }}", "unterminated quoted string"),
        ("{{ (1 }}", "unclosed left paren"),
        ("{{ humanize }", "unexpected \"}\" in operand"),
        ("line1 {{ if }}", "missing value for if"),
        ("{{ `abc }}", "unterminated raw quoted string"),
        ("{{ $x : 1 }}", "expected :="),
        ("{{ # }}", "unexpected \"#\" in command"),
        ("{{ else }}", "unexpected {{else}}"),
    ];
    for (text, message) in cases {
        match check("__alert_A", text) {
            Err(e) => assert_eq!(
                e.to_string(),
                format!("template: __alert_A:1: {message}"),
                "{text}"
            ),
            Ok(()) => panic!("{text} parsed"),
        }
    }
    assert!(
        check(
            "__alert_A",
            "{{ $value | humanize }} {{ query \"up\" | first | value }}"
        )
        .is_ok()
    );
    match ex("{{ nosuch }}", 1.0) {
        Err(e) => assert_eq!(
            e.to_string(),
            "error parsing template __alert_Test: template: __alert_Test:1: function \"nosuch\" not defined"
        ),
        Ok(s) => panic!("{s}"),
    }
}

//! Unit tests of the binary operators.

use warden_tsdb::{CounterResetHint, Span};

use super::*;

#[test]
fn comparison_keeps_left_value() {
    assert_eq!(apply(Op::Gt, 3.0, 1.0), (3.0, true));
    assert_eq!(apply(Op::Lt, 3.0, 1.0), (3.0, false));
    assert!(apply(Op::Mod, 1.0, 0.0).0.is_nan());
}

fn hist(buckets: &[f64]) -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        count: buckets.iter().sum(),
        sum: 4.0,
        positive_spans: vec![Span {
            offset: 0,
            length: buckets.len() as u32,
        }],
        positive_buckets: buckets.to_vec(),
        ..FloatHistogram::default()
    }
}

#[test]
fn histogram_element_operations_follow_prometheus() {
    let h = Pt::H(Arc::new(hist(&[1.0, 2.0, 1.0])));
    let f = Pt::F(2.0);
    // h * 2 and 2 * h scale; h / 2 divides.
    for e in [elem_binop(Op::Mul, &h, &f), elem_binop(Op::Mul, &f, &h)] {
        let out = e.h.expect("histogram");
        assert_eq!(out.positive_buckets, [2.0, 4.0, 2.0]);
        assert_eq!(out.count, 8.0);
    }
    let out = elem_binop(Op::Div, &h, &f).h.expect("histogram");
    assert_eq!(out.positive_buckets, [0.5, 1.0, 0.5]);
    // h - h is a gauge; h + h keeps the hint.
    let out = elem_binop(Op::Sub, &h, &h).h.expect("histogram");
    assert_eq!(out.counter_reset_hint, CounterResetHint::Gauge);
    let out = elem_binop(Op::Add, &h, &h).h.expect("histogram");
    assert_eq!(out.counter_reset_hint, CounterResetHint::Unknown);
    assert_eq!(out.positive_buckets, [2.0, 4.0, 2.0]);
    // Mixes drop the element with an info.
    for (op, l, r) in [
        (Op::Add, &h, &f),
        (Op::Div, &f, &h),
        (Op::Gt, &h, &h),
        (Op::Eq, &h, &f),
        (Op::Mod, &h, &f),
        (Op::TrimUpper, &f, &f),
    ] {
        let e = elem_binop(op, l, r);
        assert!(matches!(e.err, Some(Anno::Types { .. })), "{op:?}");
    }
    // == between histograms keeps the left one when equal.
    let e = elem_binop(Op::Eq, &h, &h);
    assert!(e.keep && e.h.is_some());
    let other = Pt::H(Arc::new(hist(&[1.0, 2.0, 2.0])));
    assert!(!elem_binop(Op::Eq, &h, &other).keep);
    assert!(elem_binop(Op::Ne, &h, &other).keep);
}

#[test]
fn mixed_schemas_warn_about_the_layout() {
    let h = Pt::H(Arc::new(hist(&[1.0])));
    let mut c = hist(&[1.0]);
    c.schema = warden_tsdb::histogram::CUSTOM_BUCKETS_SCHEMA;
    c.custom_values = vec![1.0];
    let c = Pt::H(Arc::new(c));
    let e = elem_binop(Op::Add, &h, &c);
    assert_eq!(e.err, Some(Anno::Layout));
    assert!(e.h.is_none());
}

/// Runs a promqltest script on the real engine; every case must pass.
fn all_pass(src: &str) {
    crate::promql::testutil::assert_script_passes("binary.test", src);
}

#[test]
fn histograms_through_vector_operators() {
    all_pass(
        "load 1m\n\
        \x20 h{job=\"a\"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}x2\n\
        \x20 h{job=\"b\"} {{schema:0 sum:2 count:2 buckets:[1 1]}}x2\n\
        \x20 c{job=\"a\"} {{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}x2\n\
        \x20 f{job=\"a\", x=\"1\"} 2x2\n\
        \x20 f{job=\"b\", x=\"2\"} 3x2\n\
        \n\
        eval instant at 1m h + 1\n\
        \x20 expect info msg: PromQL info: incompatible sample types encountered for binary operator \"+\": histogram + float (1:1)\n\
        \n\
        eval instant at 1m 1 / h\n\
        \x20 expect info msg: PromQL info: incompatible sample types encountered for binary operator \"/\": float / histogram (1:1)\n\
        \n\
        eval instant at 1m 2 * h{job=\"a\"}\n\
        \x20 expect no_info\n\
        \x20 {job=\"a\"} {{schema:0 sum:8 count:8 buckets:[2 4 2]}}\n\
        \n\
        eval instant at 1m h{job=\"a\"} / 2\n\
        \x20 {job=\"a\"} {{schema:0 sum:2 count:2 buckets:[0.5 1 0.5]}}\n\
        \n\
        eval instant at 1m -h{job=\"a\"}\n\
        \x20 {job=\"a\"} {{schema:0 sum:-4 count:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}\n\
        \n\
        eval instant at 1m h{job=\"a\"} * -1\n\
        \x20 {job=\"a\"} {{schema:0 sum:-4 count:-4 counter_reset_hint:gauge buckets:[-1 -2 -1]}}\n\
        \n\
        eval instant at 1m h * on(job) group_left(x) f\n\
        \x20 {job=\"a\", x=\"1\"} {{schema:0 sum:8 count:8 buckets:[2 4 2]}}\n\
        \x20 {job=\"b\", x=\"2\"} {{schema:0 sum:6 count:6 buckets:[3 3]}}\n\
        \n\
        eval instant at 1m h - on(job) h\n\
        \x20 {job=\"a\"} {{schema:0 counter_reset_hint:gauge}}\n\
        \x20 {job=\"b\"} {{schema:0 counter_reset_hint:gauge}}\n\
        \n\
        eval instant at 1m h{job=\"a\"} + c\n\
        \x20 expect warn msg: PromQL warning: incompatible bucket layout encountered for binary operator + (1:1)\n\
        \n\
        eval instant at 1m h == bool h\n\
        \x20 {job=\"a\"} 1\n\
        \x20 {job=\"b\"} 1\n\
        \n\
        eval instant at 1m h > h\n\
        \x20 expect info msg: PromQL info: incompatible sample types encountered for binary operator \">\": histogram > histogram (1:1)\n\
        \n\
        eval instant at 1m h and on(job) f{x=\"1\"}\n\
        \x20 h{job=\"a\"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}\n\
        \n\
        eval instant at 1m f unless on(job) h{job=\"b\"}\n\
        \x20 f{job=\"a\", x=\"1\"} 2\n\
        \n\
        eval instant at 1m f{x=\"1\"} or ignoring(x) h\n\
        \x20 f{job=\"a\", x=\"1\"} 2\n\
        \x20 h{job=\"b\"} {{schema:0 sum:2 count:2 buckets:[1 1]}}\n\
        \n\
        eval instant at 1m f * on() h\n\
        \x20 expect fail msg: found duplicate series for the match group {} on the right hand-side of the operation: [{__name__=\"h\", job=\"a\"}, {__name__=\"h\", job=\"b\"}];many-to-many matching not allowed: matching labels must be unique on one side\n\
        \n\
        eval instant at 1m h </ 1\n\
        \x20 h{job=\"a\"} {{schema:0 sum:0.7071067811865476 count:1 buckets:[1]}}\n\
        \x20 h{job=\"b\"} {{schema:0 sum:0.7071067811865476 count:1 buckets:[1]}}\n",
    );
}

#[test]
fn trim_on_a_bucket_boundary() {
    // native_histograms.test: cbh </ 15 and cbh >/ 15.
    let cbh = FloatHistogram {
        schema: warden_tsdb::histogram::CUSTOM_BUCKETS_SCHEMA,
        count: 15.0,
        sum: 172.5,
        positive_spans: vec![Span {
            offset: 0,
            length: 5,
        }],
        positive_buckets: vec![1.0, 6.0, 4.0, 3.0, 1.0],
        custom_values: vec![5.0, 10.0, 15.0, 20.0],
        ..FloatHistogram::default()
    };
    let mut h = cbh.clone();
    h.trim_buckets(15.0, true);
    assert_eq!(h.count, 11.0);
    assert_eq!(h.sum, 97.5);
    assert_eq!(h.positive_buckets, [1.0, 6.0, 4.0]);
    let mut h = cbh;
    h.trim_buckets(15.0, false);
    assert_eq!(h.count, 4.0);
    assert_eq!(h.sum, 72.5);
    assert_eq!(h.positive_buckets, [3.0, 1.0]);
}

//! Aggregations over native histograms, as promqltest scripts (Prometheus's
//! expected results and annotations for its engine).

/// Runs `script`; every case must pass.
fn check(script: &str) {
    crate::promql::testutil::assert_script_passes("aggregate.test", script);
}

const MIXED: &str = r#"
load 10m
  m{s="f1"} 1 2 _
  m{s="f2"} 3 4 _
  m{s="h1"} {{schema:0 sum:4 count:3 buckets:[1 2]}} {{schema:0 sum:4 count:3 buckets:[1 2]}} {{schema:0 sum:4 count:3 buckets:[1 2]}}
  m{s="h2"} {{schema:0 sum:2 count:1 buckets:[1]}} _ {{schema:0 sum:2 count:1 buckets:[1]}}
"#;

#[test]
fn sum_and_avg_drop_groups_mixing_floats_and_histograms() {
    check(&format!(
        r#"{MIXED}
eval instant at 0 sum(m)
  expect warn msg: PromQL warning: encountered a mix of histograms and floats for aggregation (1:5)

eval instant at 0 avg(m)
  expect warn msg: PromQL warning: encountered a mix of histograms and floats for aggregation (1:5)

eval range from 0 to 20m step 10m sum by (s) (m)
  expect no_warn
  {{s="f1"}} 1 2 _
  {{s="f2"}} 3 4 _
  {{s="h1"}} {{{{schema:0 sum:4 count:3 buckets:[1 2]}}}}x2
  {{s="h2"}} {{{{schema:0 sum:2 count:1 buckets:[1]}}}} _ {{{{schema:0 sum:2 count:1 buckets:[1]}}}}

eval range from 0 to 20m step 10m sum(m{{s=~"h.*"}})
  {{}} {{{{schema:0 sum:6 count:4 buckets:[2 2]}}}} {{{{schema:0 sum:4 count:3 buckets:[1 2]}}}} {{{{schema:0 sum:6 count:4 buckets:[2 2]}}}}

eval range from 0 to 20m step 10m avg(m{{s=~"h.*"}})
  {{}} {{{{schema:0 sum:3 count:2 buckets:[1 1]}}}} {{{{schema:0 sum:4 count:3 buckets:[1 2]}}}} {{{{schema:0 sum:3 count:2 buckets:[1 1]}}}}

eval range from 0 to 20m step 10m count(m)
  {{}} 4 3 2

eval range from 0 to 20m step 10m group by (s) (m)
  {{s="f1"}} 1 1 _
  {{s="f2"}} 1 1 _
  {{s="h1"}} 1 1 1
  {{s="h2"}} 1 _ 1
"#
    ));
}

#[test]
fn float_only_aggregations_ignore_histograms_with_an_info() {
    check(&format!(
        r#"{MIXED}
eval range from 0 to 20m step 10m min(m)
  expect info msg: PromQL info: ignored histogram in min aggregation (1:5)
  {{}} 1 2 _

eval instant at 0 max(m)
  expect info msg: PromQL info: ignored histogram in max aggregation (1:5)
  {{}} 3

eval instant at 0 stddev(m)
  expect info msg: PromQL info: ignored histogram in stddev aggregation (1:8)
  {{}} 1

eval instant at 0 stdvar(m)
  expect info msg: PromQL info: ignored histogram in stdvar aggregation (1:8)
  {{}} 1

eval instant at 0 quantile(0.5, m)
  expect info msg: PromQL info: ignored histogram in quantile aggregation (1:15)
  {{}} 2

eval instant at 20m max(m)
  expect info msg: PromQL info: ignored histogram in max aggregation (1:5)

eval instant at 0 max(m{{s=~"f.*"}})
  expect no_info
  {{}} 3
"#
    ));
}

#[test]
fn topk_and_bottomk_ignore_histograms_limitk_keeps_them() {
    check(&format!(
        r#"{MIXED}
eval instant at 0 topk(1, m)
  expect info msg: PromQL info: ignored histogram in topk aggregation (1:1)
  m{{s="f2"}} 3

eval instant at 0 bottomk by (s) (1, m)
  expect info msg: PromQL info: ignored histogram in bottomk aggregation (1:1)
  m{{s="f1"}} 1
  m{{s="f2"}} 3

eval instant at 20m topk(5, m)
  expect info msg: PromQL info: ignored histogram in topk aggregation (1:1)

eval range from 0 to 20m step 10m limitk(10, m)
  expect no_info
  m{{s="f1"}} 1 2 _
  m{{s="f2"}} 3 4 _
  m{{s="h1"}} {{{{schema:0 sum:4 count:3 buckets:[1 2]}}}}x2
  m{{s="h2"}} {{{{schema:0 sum:2 count:1 buckets:[1]}}}} _ {{{{schema:0 sum:2 count:1 buckets:[1]}}}}

eval range from 0 to 20m step 10m limit_ratio(1, m{{s=~"h.*"}})
  m{{s="h1"}} {{{{schema:0 sum:4 count:3 buckets:[1 2]}}}}x2
  m{{s="h2"}} {{{{schema:0 sum:2 count:1 buckets:[1]}}}} _ {{{{schema:0 sum:2 count:1 buckets:[1]}}}}
"#
    ));
}

#[test]
fn count_values_labels_histograms_by_their_string() {
    check(&format!(
        r#"{MIXED}
eval instant at 20m count_values("v", m)
  {{v="{{count:3, sum:4, (0.5,1]:1, (1,2]:2}}"}} 1
  {{v="{{count:1, sum:2, (0.5,1]:1}}"}} 1
"#
    ));
}

#[test]
fn schema_mixes_and_counter_reset_conflicts_are_reported() {
    check(
        r#"
load 1m
  h{s="exp"} {{schema:0 sum:1 count:1 buckets:[1]}}
  h{s="cbh"} {{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}
  r{s="a"} {{schema:0 sum:1 count:1 counter_reset_hint:reset buckets:[1]}}
  r{s="b"} {{schema:0 sum:1 count:1 counter_reset_hint:not_reset buckets:[1]}}

eval instant at 0 sum(h)
  expect warn msg: PromQL warning: vector contains a mix of histograms with exponential and custom buckets schemas for metric name "h" (1:5)

eval instant at 0 avg by (s) (h)
  expect no_warn
  {s="exp"} {{schema:0 sum:1 count:1 buckets:[1]}}
  {s="cbh"} {{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}

# Both are first samples, which the store reads back with an unknown hint
# (as Prometheus's head does), so nothing conflicts here; the conflict
# itself is covered by the histogram arithmetic's own tests.
eval instant at 0 sum(r)
  expect no_warn
  {} {{schema:0 sum:2 count:2 buckets:[2]}}
"#,
    );
}

#[test]
fn sum_and_avg_are_compensated_and_avg_survives_overflow() {
    check(
        r#"
load 1m
  k{i="1"} {{schema:0 sum:3.1 count:1}}
  k{i="2"} {{schema:0 sum:1e100 count:1}}
  k{i="3"} {{schema:0 sum:-1e100 count:1}}
  k{i="4"} {{schema:0 sum:1.3 count:1}}
  o{i="1"} {{schema:0 sum:1e308 count:1e308}}
  o{i="2"} {{schema:0 sum:1e308 count:1e308}}
  o{i="3"} {{schema:0 sum:-1e308 count:1e308}}

eval instant at 0 sum(k)
  {} {{schema:0 sum:4.4 count:4}}

eval instant at 0 avg(k)
  {} {{schema:0 sum:1.1 count:1}}

eval instant at 0 avg(o)
  {} {{schema:0 sum:3.333333333333333e307 count:1e308}}
"#,
    );
}

//! Rule-file checks, compared with what promtool 2.42 says on the same input.

use super::*;

fn errors(text: &str) -> Vec<String> {
    match parse("r.yml", text, LoadOptions::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_valid_file_loads() {
    let f = parse(
        "r.yml",
        r#"
groups:
- name: a
  interval: 30s
  limit: 10
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 5m
    keep_firing_for: 1m
    labels: {severity: page}
    annotations:
      summary: "{{ $labels.instance }} down"
"#,
        LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(f.rule_count(), 2);
    let g = &f.groups[0];
    assert_eq!(
        (g.name.as_str(), g.interval_ms, g.limit),
        ("a", Some(30_000), 10)
    );
    assert_eq!(g.position, Position { line: 3, column: 3 });
    match &g.rules[1].kind {
        RuleKind::Alerting {
            alert,
            for_ms,
            keep_firing_for_ms,
            annotations,
        } => {
            assert_eq!(
                (alert.as_str(), *for_ms, *keep_firing_for_ms),
                ("Down", 300_000, 60_000)
            );
            assert_eq!(annotations["summary"], "{{ $labels.instance }} down");
        }
        other => panic!("expected an alerting rule, got {other:?}"),
    }
}

#[test]
fn empty_files_have_no_rules() {
    assert_eq!(
        parse("r.yml", "", LoadOptions::default())
            .unwrap()
            .rule_count(),
        0
    );
    assert_eq!(
        parse("r.yml", "groups: []\n", LoadOptions::default())
            .unwrap()
            .rule_count(),
        0
    );
}

#[test]
fn rule_level_problems_name_group_rule_and_place() {
    let e = errors(
        r#"groups:
- name: a
  rules:
  - record: ok
    expr: up
    for: 5m
  - alert: Z
    record: z
    expr: up
  - alert: L
    expr: up
    labels:
      "0bad": x
  - record: "bad name"
    expr: sum(up
"#,
    );
    assert_eq!(
        e,
        [
            r#"r.yml: 4:13: group "a", rule 1, "ok": invalid field 'for' in recording rule"#,
            r#"r.yml: 7:5: group "a", rule 2, "z": only one of 'record' and 'alert' must be set"#,
            r#"r.yml: 10:5: group "a", rule 3, "L": invalid label name: 0bad"#,
            r#"r.yml: 14:13: group "a", rule 4, "bad name": invalid recording rule name: bad name"#,
            r#"r.yml: 15:11: group "a", rule 4, "bad name": could not parse expression: unclosed left parenthesis"#,
        ]
    );
}

#[test]
fn group_level_problems() {
    let e = errors(
        r#"groups:
- name: ""
  rules:
  - record: x
  - expr: up
  - record: a:b
    expr: up
    labels: {__name__: x}
  - alert: Y
    expr: up
    annotations: {"0x": y}
- name: g2
  interval: 5x
  rules: []
- name: g2
  rules: []
"#,
    );
    assert_eq!(
        e,
        [
            "r.yml: 2:3: Groupname must not be empty",
            r#"r.yml: 4:5: group "", rule 1, "x": field 'expr' must be set in rule"#,
            r#"r.yml: 5:5: group "", rule 2, "": one of 'record' or 'alert' must be set"#,
            r#"r.yml: 6:5: group "", rule 3, "a:b": invalid label name: __name__"#,
            r#"r.yml: 9:5: group "", rule 4, "Y": invalid annotation name: 0x"#,
            r#"r.yml: 13:13: not a valid duration string: "5x""#,
            r#"r.yml: 15:9: groupname: "g2" is repeated in the same file"#,
        ]
    );
}

#[test]
fn yaml_problems_have_positions() {
    let e =
        errors("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    lables: {a: b}\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("r.yml: 6:5: unknown field `lables`"),
        "{}",
        e[0]
    );
    let e = errors("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    expr: down\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("r.yml: 6:5: duplicate mapping key"),
        "{}",
        e[0]
    );
    let e = errors("groups:\n- name: a\n   rules: []\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("r.yml: 3:"), "{}", e[0]);
}

#[test]
fn vmalert_fields_need_lenient_loading() {
    let text = "groups:\n- name: a\n  eval_offset: 1m\n  concurrency: 2\n  rules:\n  - record: x\n    expr: up\n";
    let e = errors(text);
    assert_eq!(e.len(), 2);
    assert!(
        e[0].starts_with("r.yml: 3:16: unknown field `eval_offset`"),
        "{}",
        e[0]
    );
    let lenient = LoadOptions {
        lenient: true,
        ..LoadOptions::default()
    };
    let f = parse("r.yml", text, lenient).unwrap();
    assert_eq!(f.rule_count(), 1);
}

#[test]
fn unknown_fields_can_be_ignored() {
    let text = "namespace: n\ngroups:\n- name: a\n  ownership:\n    service: \"x\"\n\n    team: y\n  eval_offset: 1m\n  rules:\n  - record: x\n    owner: z\n    expr: up\n  - alert: A\n    expr: up == 0\n    for: 5x\n";
    assert!(errors(text)[0].starts_with("r.yml: 1:1: unknown field `namespace`"));
    let ignore = LoadOptions {
        ignore_unknown_fields: true,
        ..LoadOptions::default()
    };
    // Unknown fields go; real problems keep their original positions.
    let e = parse("r.yml", text, ignore).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"r.yml: 15:10: group "a", rule 2, "A": not a valid duration string: "5x""#
    );
    let f = parse("r.yml", &text.replace("5x", "5m"), ignore).unwrap();
    assert_eq!(f.rule_count(), 2);
    assert_eq!(f.groups[0].rules[0].expr, "up");
    // A flow mapping cannot be blanked line by line: the error stays.
    let flow = "groups: [{name: a, extra: 1, rules: []}]\n";
    assert!(parse("r.yml", flow, ignore).is_err());
}

#[test]
fn duplicate_rules_lint_compares_across_groups_in_promtool_order() {
    let f = parse(
        "r.yml",
        r#"groups:
- name: a
  rules:
  - record: x
    expr: up
  - record: x
    expr: up
  - record: x
    expr: up
    labels: {a: b}
  - alert: A
    expr: up
- name: b
  rules:
  - alert: A
    expr: up
  - record: x
    expr: up
    labels: {a: b}
  - record: y
    expr: up
"#,
        LoadOptions::default(),
    )
    .unwrap();
    let duplicates = duplicate_rules(&f);
    let names: Vec<(&str, usize)> = duplicates
        .iter()
        .map(|d| (d.name.as_str(), d.labels.len()))
        .collect();
    assert_eq!(names, [("A", 0), ("x", 0), ("x", 1)]);
}

#[test]
fn a_negative_limit_means_no_limit_as_in_prometheus() {
    let f = parse(
        "r.yml",
        "groups:\n- name: a\n  limit: -1\n  rules: []\n",
        LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(f.groups[0].limit, 0);
}

#[test]
fn duplicate_keys_are_reported_without_parser_advice() {
    let e = errors("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    expr: down\n");
    assert_eq!(e, ["r.yml: 6:5: duplicate mapping key: expr"]);
}

#[test]
fn alert_templates_must_parse() {
    let e = errors(
        r#"groups:
- name: a
  rules:
  - alert: A
    expr: up
    labels:
      sev: "{{ $labels.x "
    annotations:
      summary: "{{ humanize }"
      ok: "{{ $value | humanize }} {{ query \"up\" | first | value }}"
      desc: |
        line one
        {{ nosuch 1 }}
  - record: r
    expr: up
    labels:
      plain: "{{ not a template for recording rules"
"#,
    );
    assert_eq!(
        e,
        [
            r#"r.yml: 7:12: group "a", rule 1, "A": label "sev": template: __alert_A:1: unclosed action"#,
            r#"r.yml: 9:16: group "a", rule 1, "A": annotation "summary": template: __alert_A:1: unexpected "}" in operand"#,
            r#"r.yml: 12:9: group "a", rule 1, "A": annotation "desc": template: __alert_A:2: function "nosuch" not defined"#,
        ]
    );
}

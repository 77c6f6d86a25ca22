//! `/api/v1/rules` and `/api/v1/alerts` side by side with the real
//! Prometheus (Debian's 2.42) running the same rule file: wherever 2.42
//! writes a field, warden writes it too, in the same order, with the same
//! kind of value and the same format (RFC 3339 times, `%e` alert values,
//! seconds as numbers), and with the same value where it does not depend on
//! timing. (Prometheus 3 adds fields 2.42 lacks, such as the `unknown` rule
//! state; those are checked by warden's own tests.)

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::rules::{alert, config, wait_for};
use common::{WAIT, Warden, free_port, get, write_config};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

const RULES: &str = r#"
groups:
  - name: shapes
    interval: 1s
    rules:
      - record: shapes:constant
        expr: vector(7)
        labels:
          kind: recorded
      - alert: ShapesFiring
        expr: vector(1) > 0
        labels:
          severity: page
        annotations:
          summary: always firing
          description: '{{ $labels.severity }} at {{ $value }} ({{ $externalLabels.dc }})'
      - alert: ShapesPending
        expr: vector(0.25) > 0
        for: 1h
        keep_firing_for: 5m
        labels:
          severity: ticket
      - alert: ShapesNever
        expr: vector(1) < 0
"#;

/// JSON that remembers the order of object keys (serde_json's map does not).
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
                Ok(Json::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::String(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Json::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut v = Vec::new();
                while let Some(kv) = a.next_entry()? {
                    v.push(kv);
                }
                Ok(Json::Object(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn fetch(port: u16, path: &str) -> Json {
    let r = get(port, path, None).expect("request");
    assert_eq!(r.status, 200, "{path} on {port}: {}", r.body);
    serde_json::from_str(&r.body).expect("JSON")
}

/// Fields whose values depend on when and how fast each server evaluated.
const TIMING: &[&str] = &["evaluationTime", "lastEvaluation", "activeAt"];

fn is_rfc3339(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

fn is_go_e_float(s: &str) -> bool {
    regex::Regex::new(r"^-?\d(\.\d+)?e[+-]\d{2,3}$")
        .unwrap()
        .is_match(s)
        || matches!(s, "NaN" | "+Inf" | "-Inf")
}

/// Checks that `ours` has every field of `theirs`, in the same order, with
/// the same kind and format of value, and the same value where timing does
/// not enter.
fn same_shape(path: &str, theirs: &Json, ours: &Json, problems: &mut Vec<String>) {
    match (theirs, ours) {
        (Json::Object(t), Json::Object(o)) => {
            let mut last = None;
            for (k, tv) in t {
                let p = format!("{path}.{k}");
                let Some(i) = o.iter().position(|(ok, _)| ok == k) else {
                    problems.push(format!("{p}: missing"));
                    continue;
                };
                if last.is_some_and(|l| i < l) {
                    problems.push(format!("{p}: out of Prometheus's order"));
                }
                last = Some(i);
                let ov = &o[i].1;
                if TIMING.contains(&k.as_str()) {
                    match (tv, ov) {
                        (Json::String(a), Json::String(b)) => {
                            if !is_rfc3339(a) || !is_rfc3339(b) {
                                problems.push(format!("{p}: not both RFC 3339: {a:?} {b:?}"));
                            }
                        }
                        (Json::Number(_), Json::Number(_)) => {}
                        _ => problems.push(format!("{p}: {tv:?} vs {ov:?}")),
                    }
                } else if k == "value" {
                    match (tv, ov) {
                        (Json::String(a), Json::String(b)) if is_go_e_float(a) && a == b => {}
                        _ => problems.push(format!("{p}: {tv:?} vs {ov:?}")),
                    }
                } else {
                    same_shape(&p, tv, ov, problems);
                }
            }
        }
        (Json::Array(t), Json::Array(o)) => {
            if t.len() != o.len() {
                problems.push(format!("{path}: {} vs {} elements", t.len(), o.len()));
            }
            for (i, (a, b)) in t.iter().zip(o).enumerate() {
                same_shape(&format!("{path}[{i}]"), a, b, problems);
            }
        }
        (a, b) if a == b => {}
        (a, b) => problems.push(format!("{path}: Prometheus {a:?}, warden {b:?}")),
    }
}

/// Debian's Prometheus on its own port and data directory, killed by PID
/// on drop.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(dir: &Path, rules: &Path) -> Prometheus {
        let bin = Path::new("/usr/bin/prometheus");
        assert!(bin.exists(), "install Debian's prometheus package");
        let cfg = dir.join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!(
                "global:\n  evaluation_interval: 1s\n  external_labels: {{dc: eu1}}\nrule_files:\n  - {}\n",
                rules.display()
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prom-data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .env("TZ", "UTC")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus { child, port };
        let deadline = Instant::now() + WAIT;
        while !get(port, "/-/ready", None).is_ok_and(|r| r.status == 200) {
            assert!(Instant::now() < deadline, "prometheus did not get ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn both_settled(port: u16) -> bool {
    alert(port, "ShapesFiring").is_some_and(|a| a["state"] == "firing")
        && alert(port, "ShapesPending").is_some_and(|a| a["state"] == "pending")
}

#[test]
fn rules_and_alerts_have_prometheus_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();
    let prom = Prometheus::start(dir.path(), &rules);
    let rules_path = rules.display().to_string();
    let cfg = config(&dir.path().join("data"), &[rules_path.as_str()]).replace(
        "evaluation_interval: 1s\n",
        "evaluation_interval: 1s\n  external_labels: {dc: eu1}\n",
    );
    let cfg = write_config(dir.path(), &cfg);
    let port = free_port();
    let mut w = Warden::start(dir.path(), &cfg, port);
    w.wait_ready();
    wait_for(&w, "both servers to have their alerts", || {
        (both_settled(port) && both_settled(prom.port)).then_some(())
    });

    let mut problems = Vec::new();
    // 2.42 knows `type`; the other filters came later (2.49+) and are
    // checked against warden alone below.
    for path in [
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/rules?type=alert",
        "/api/v1/rules?type=record",
    ] {
        let mut theirs = fetch(prom.port, path);
        let mut ours = fetch(port, path);
        // Alerts are listed in no particular order by Prometheus.
        for doc in [&mut theirs, &mut ours] {
            if let Some(Json::Array(a)) = doc
                .get("data")
                .and_then(|d| d.get("alerts"))
                .cloned()
                .as_mut()
            {
                a.sort_by_key(|x| format!("{:?}", x.get("labels")));
                if let Json::Object(top) = doc
                    && let Some((_, Json::Object(data))) = top.iter_mut().find(|(k, _)| k == "data")
                    && let Some((_, v)) = data.iter_mut().find(|(k, _)| k == "alerts")
                {
                    *v = Json::Array(a.clone());
                }
            }
        }
        same_shape(path, &theirs, &ours, &mut problems);
    }
    assert!(problems.is_empty(), "differences:\n{}", problems.join("\n"));
    check_newer_filters(port, &rules_path);
    assert_eq!(w.terminate().code(), Some(0));
}

/// The filters of Prometheus 3's `/api/v1/rules` that 2.42 lacks.
fn check_newer_filters(port: u16, file: &str) {
    let names = |path: &str| -> Vec<String> {
        let data = common::rules::api(port, path);
        data["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names("/api/v1/rules?rule_name[]=ShapesPending&rule_name[]=shapes:constant"),
        ["shapes:constant", "ShapesPending"]
    );
    assert_eq!(names("/api/v1/rules?rule_group[]=other").len(), 0);
    let file = form_urlencoded::byte_serialize(file.as_bytes()).collect::<String>();
    assert_eq!(names(&format!("/api/v1/rules?file[]={file}")).len(), 4);
    assert_eq!(
        names("/api/v1/rules?match[]=%7Bseverity%3D~%22page%7Cticket%22%7D"),
        ["ShapesFiring", "ShapesPending"]
    );
    assert_eq!(
        names("/api/v1/rules?type=record&match[]=%7Bkind%3D%22recorded%22%7D"),
        ["shapes:constant"]
    );
    let excluded = common::rules::api(port, "/api/v1/rules?type=alert&exclude_alerts=true");
    for r in excluded["groups"][0]["rules"].as_array().unwrap() {
        assert!(r["alerts"].is_null(), "{r}");
        assert!(r["state"].is_string(), "{r}");
    }
    let bad = get(port, "/api/v1/rules?type=alerts", None).unwrap();
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains(r#"invalid parameter \"type\": not supported value \"alerts\""#),
        "{}",
        bad.body
    );
}

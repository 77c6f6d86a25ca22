//! The query API of the real binary, over what its own collectors stored,
//! and `warden query` asking it as it would ask Prometheus.

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::{WAIT, Warden, free_port, get, write_config};

const CONFIG: &str = "
collectors:
  host:
    interval: 1s
storage:
  path: DATA
  wal_fsync: never
";

fn json(port: u16, path: &str) -> (u16, serde_json::Value) {
    let r = get(port, path, None).expect("HTTP GET");
    let body = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body));
    (r.status, body)
}

/// Polls until the host collector's first cycle is queryable.
fn wait_for_series(port: u16, expr: &str) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = json(port, &format!("/api/v1/query?query={expr}"));
        assert_eq!(status, 200, "{body}");
        if body["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            return body;
        }
        assert!(Instant::now() < deadline, "{expr} never appeared: {body}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

fn warden_query(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("query")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run warden query");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_api_answers_over_collected_series() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = write_config(dir.path(), &CONFIG.replace("DATA", data.to_str().unwrap()));
    let port = free_port();
    let mut w = Warden::start(dir.path(), &cfg, port);
    w.wait_ready();

    let body = wait_for_series(port, "node_load1");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    assert_eq!(
        body["data"]["result"][0]["metric"]["__name__"],
        "node_load1"
    );
    let value = body["data"]["result"][0]["value"][1].as_str().unwrap();
    assert!(value.parse::<f64>().unwrap() >= 0.0);

    // An aggregation over a family with many series.
    let body = wait_for_series(port, "count%28node_cpu_seconds_total%29%20%3E%200");
    assert_eq!(body["data"]["result"].as_array().unwrap().len(), 1);

    // A range query over the last few seconds of collection.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, body) = json(
        port,
        &format!(
            "/api/v1/query_range?query=node_time_seconds&start={}&end={now}&step=1",
            now - 3
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["resultType"], "matrix");

    // Metadata endpoints see what the collectors wrote.
    let (_, body) = json(port, "/api/v1/label/__name__/values");
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.contains(&"node_load1"), "{names:?}");
    let (_, body) = json(port, "/api/v1/metadata?metric=node_load1");
    assert_eq!(body["data"]["node_load1"][0]["type"], "gauge", "{body}");
    let (_, body) = json(port, "/api/v1/status/buildinfo");
    assert!(body["data"].get("features").is_none());

    // Bad input is a client error, and the agent keeps answering.
    let (status, body) = json(port, "/api/v1/query?query=sum(");
    assert_eq!(
        (status, body["errorType"].as_str()),
        (400, Some("bad_data")),
        "{body}"
    );
    let (status, body) = json(port, "/api/v1/query?query=node_load1%7Bx%3D~%22(%22%7D");
    assert_eq!(status, 400, "{body}");
    assert_eq!(get(port, "/-/healthy", None).unwrap().status, 200);

    // `warden query` against it: a table for people, the API's JSON for scripts.
    let url = format!("http://127.0.0.1:{port}");
    let (ok, out, err) = warden_query(&["--url", &url, "node_load1"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("SERIES"), "{out}");
    assert!(out.contains("node_load1"), "{out}");
    let (ok, out, err) = warden_query(&["--url", &url, "--output", "json", "count(node_load1)"]);
    assert!(ok, "{err}");
    let data: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(data["result"][0]["value"][1], "1");
    let (ok, _, err) = warden_query(&["--url", &url, "sum("]);
    assert!(!ok);
    assert!(err.contains("bad_data"), "{err}");

    assert_eq!(w.terminate().code(), Some(0), "{}", w.stderr());
}

//! The API's contract: shapes, status codes and error texts as Prometheus's.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use warden_rules::promql::Engine;
use warden_tsdb::{
    Labels, Matcher, MetricMetadata, MetricType, Querier, QueryError, Sample, Series,
};

use super::{ApiState, router};

/// A fixed set of series, enough to drive the metadata endpoints.
struct Fixture {
    series: Vec<Series>,
}

impl Fixture {
    fn new() -> Fixture {
        let mk = |pairs: &[(&str, &str)], t: i64| {
            Series::new(
                Labels::from_pairs(pairs.iter().copied()).unwrap(),
                vec![Sample { t, v: 1.0 }],
            )
        };
        Fixture {
            series: vec![
                mk(
                    &[("__name__", "up"), ("job", "node"), ("instance", "a:9100")],
                    1_000,
                ),
                mk(
                    &[
                        ("__name__", "up"),
                        ("job", "warden"),
                        ("instance", "b:9100"),
                    ],
                    1_000,
                ),
                mk(&[("__name__", "node_load1"), ("job", "node")], 5_000),
            ],
        }
    }

    fn matching(&self, m: &[Matcher], min_t: i64, max_t: i64) -> Vec<Series> {
        self.series
            .iter()
            .filter(|s| {
                m.iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .filter(|s| s.samples.iter().any(|p| p.t >= min_t && p.t <= max_t))
            .cloned()
            .collect()
    }
}

impl Querier for Fixture {
    fn select(&self, m: &[Matcher], min_t: i64, max_t: i64) -> Result<Vec<Series>, QueryError> {
        Ok(self.matching(m, min_t, max_t))
    }

    fn label_names(
        &self,
        m: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut names: Vec<String> = self
            .matching(m, min_t, max_t)
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        m: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, QueryError> {
        let mut values: Vec<String> = self
            .matching(m, min_t, max_t)
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }

    fn metadata(&self) -> Vec<(String, MetricMetadata)> {
        vec![(
            "up".into(),
            MetricMetadata {
                kind: MetricType::Gauge,
                help: "Whether the target is up.".into(),
                unit: String::new(),
            },
        )]
    }
}

async fn call(req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let state = Arc::new(ApiState::new(Engine::default(), 4));
    state.ready(Arc::new(Fixture::new()));
    let resp = router(state).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn get(uri: &str) -> (StatusCode, serde_json::Value) {
    call(Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn not_ready_is_503() {
    let state = Arc::new(ApiState::new(Engine::default(), 4));
    let resp = router(state)
        .oneshot(Request::get("/api/v1/labels").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn series_requires_match() {
    let (status, body) = get("/api/v1/series").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert_eq!(body["error"], "no match[] parameter provided");
}

#[tokio::test]
async fn series_by_selector() {
    let (status, body) = get("/api/v1/series?match[]=up%7Bjob%3D%22node%22%7D").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"],
        serde_json::json!([{"__name__": "up", "instance": "a:9100", "job": "node"}])
    );
}

#[tokio::test]
async fn series_by_form_post() {
    let req = Request::post("/api/v1/series")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("match[]=up&match[]=node_load1"))
        .unwrap();
    let (status, body) = call(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn labels_and_values() {
    let (_, body) = get("/api/v1/labels").await;
    assert_eq!(
        body["data"],
        serde_json::json!(["__name__", "instance", "job"])
    );
    let (_, body) = get("/api/v1/label/__name__/values").await;
    assert_eq!(body["data"], serde_json::json!(["node_load1", "up"]));
    let (_, body) = get("/api/v1/label/job/values?match[]=node_load1").await;
    assert_eq!(body["data"], serde_json::json!(["node"]));
    let (_, body) = get("/api/v1/label/job/values?limit=1").await;
    assert_eq!(body["data"], serde_json::json!(["node"]));
    assert_eq!(
        body["warnings"],
        serde_json::json!(["results truncated due to limit"])
    );
}

#[tokio::test]
async fn time_bounds_filter_series() {
    let (_, body) = get("/api/v1/label/__name__/values?start=2&end=10").await;
    assert_eq!(body["data"], serde_json::json!(["node_load1"]));
}

#[tokio::test]
async fn bad_label_name_and_bad_time() {
    let (status, body) = get("/api/v1/label/0bad/values").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid label name: \"0bad\"");
    let (status, body) = get("/api/v1/labels?start=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "invalid parameter \"start\": cannot parse \"yesterday\" to a valid timestamp"
    );
}

#[tokio::test]
async fn bad_regex_is_a_400_not_a_panic() {
    let (status, body) = get("/api/v1/series?match[]=%7Bjob%3D~%22(%22%7D").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorType"], "bad_data");
}

#[tokio::test]
async fn metadata_shape() {
    let (_, body) = get("/api/v1/metadata").await;
    assert_eq!(
        body["data"],
        serde_json::json!({"up": [{"type": "gauge", "help": "Whether the target is up.", "unit": ""}]})
    );
}

#[tokio::test]
async fn buildinfo_has_no_features() {
    let (_, body) = get("/api/v1/status/buildinfo").await;
    assert!(body["data"]["version"].is_string());
    assert!(body["data"]["goVersion"].is_string());
    assert!(body["data"].get("features").is_none());
}

#[tokio::test]
async fn range_parameter_errors() {
    let (status, body) = get("/api/v1/query_range?query=up&start=10&end=5&step=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "end timestamp must not be before start time");
    let (_, body) = get("/api/v1/query_range?query=up&start=0&end=5&step=0").await;
    assert_eq!(
        body["error"],
        "zero or negative query resolution step widths are not accepted. Try a positive integer"
    );
    let (_, body) = get("/api/v1/query_range?query=up&start=0&end=100000&step=1").await;
    assert_eq!(
        body["error"],
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    );
}

#[tokio::test]
async fn format_query_prettifies() {
    let (status, body) = get("/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], "sum by (job) (rate(x[5m]))");
}

#[tokio::test]
async fn exemplars_are_empty() {
    let (status, body) = get("/api/v1/query_exemplars?query=up").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn a_query_that_does_not_parse_is_a_bad_query_parameter_with_its_place() {
    // Prometheus 2.42 answers these exact strings for the same queries.
    for (query, error) in [
        (
            "rate(x%5B5m%5D)%20%2B",
            "invalid parameter \"query\": 1:14: parse error: unexpected end of input",
        ),
        (
            "foo%20bar",
            "invalid parameter \"query\": 1:5: parse error: unexpected identifier \"bar\"",
        ),
        (
            "rate(x)",
            "invalid parameter \"query\": 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ),
    ] {
        let (status, body) = get(&format!("/api/v1/query?query={query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errorType"], "bad_data");
        assert_eq!(body["error"], error);
    }
}

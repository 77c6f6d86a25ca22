//! `warden query`: asks a running warden, or any Prometheus-compatible API,
//! and prints the answer as a table or as the API's JSON.
//!
//! It speaks only the public HTTP API, so the same command works against
//! Prometheus, VictoriaMetrics or Mimir, which makes it handy for comparing
//! answers side by side.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;

/// How `warden query` prints results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns for people.
    #[default]
    Table,
    /// The API's `data` object, for scripts.
    Json,
}

/// What to ask and where.
#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// The PromQL expression.
    pub expr: String,
    /// Evaluation time of an instant query (Unix seconds or RFC 3339); now by default.
    #[arg(long)]
    pub time: Option<String>,
    /// Start of a range query (Unix seconds or RFC 3339); five minutes before the end by default.
    #[arg(long)]
    pub start: Option<String>,
    /// End of a range query; now by default.
    #[arg(long)]
    pub end: Option<String>,
    /// Step of a range query (seconds or a duration such as `30s`); about
    /// 250 points across the range by default, as promtool chooses.
    #[arg(long)]
    pub step: Option<String>,
    /// Base URL of the API.
    #[arg(long, default_value = crate::DEFAULT_QUERY_URL)]
    pub url: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// How long to wait for the answer.
    #[arg(long, default_value = "2m", value_parser = parse_timeout)]
    pub timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    crate::api::parse_duration(s).map(|ms| Duration::from_millis(ms.max(0) as u64))
}

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryCliError {
    /// The API could not be reached or answered with something that is not JSON.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The API answered with an error.
    #[error("{kind}: {message}")]
    Api {
        /// Prometheus's `errorType`.
        kind: String,
        /// Prometheus's `error`.
        message: String,
    },
    /// A time argument was not understood.
    #[error("{0}")]
    BadArgument(String),
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn seconds_of(arg: &str, name: &str) -> Result<f64, QueryCliError> {
    crate::api::parse_time(arg)
        .map(|ms| ms as f64 / 1000.0)
        .map_err(|e| QueryCliError::BadArgument(format!("--{name}: {e}")))
}

/// Runs the query and returns the text to print (warnings included).
pub async fn run(args: &QueryArgs) -> Result<String, QueryCliError> {
    let body = fetch(args).await?;
    render(&body, args.output)
}

/// Runs the query and returns the API's whole JSON answer.
pub async fn fetch(args: &QueryArgs) -> Result<Json, QueryCliError> {
    let is_range = args.start.is_some() || args.end.is_some() || args.step.is_some();
    let mut form: Vec<(&str, String)> = vec![("query", args.expr.clone())];
    let path = if is_range {
        let end = match &args.end {
            Some(e) => seconds_of(e, "end")?,
            None => now_seconds(),
        };
        let start = match &args.start {
            Some(s) => seconds_of(s, "start")?,
            None => end - 300.0,
        };
        let step = match &args.step {
            Some(s) => s.clone(),
            None => format!("{}", ((end - start) / 250.0).floor().max(1.0)),
        };
        form.extend([
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step),
        ]);
        "/api/v1/query_range"
    } else {
        if let Some(t) = &args.time {
            form.push(("time", seconds_of(t, "time")?.to_string()));
        }
        "/api/v1/query"
    };
    let url = format!("{}{path}", args.url.trim_end_matches('/'));
    post_form(&url, &form, args.timeout).await
}

async fn post_form(
    url: &str,
    form: &[(&str, String)],
    timeout: Duration,
) -> Result<Json, QueryCliError> {
    let transport = |reason: String| QueryCliError::Transport {
        url: url.to_string(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| transport(e.to_string()))?;
    let resp = client
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| transport(e.to_string()))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| transport(e.to_string()))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| transport(format!("HTTP {status}, body is not the API's JSON")))
}

/// Turns an API answer into the text to print.
pub fn render(body: &Json, output: Output) -> Result<String, QueryCliError> {
    if body["status"] != "success" {
        return Err(QueryCliError::Api {
            kind: body["errorType"].as_str().unwrap_or("error").to_string(),
            message: body["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_string(),
        });
    }
    let mut out = String::new();
    for key in ["warnings", "infos"] {
        for w in body[key].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "# {}: {}",
                &key[..key.len() - 1],
                w.as_str().unwrap_or_default()
            );
        }
    }
    let data = &body["data"];
    if output == Output::Json {
        out.push_str(&serde_json::to_string_pretty(data).unwrap_or_default());
        out.push('\n');
        return Ok(out);
    }
    match data["resultType"].as_str() {
        Some("scalar") | Some("string") => {
            let _ = writeln!(out, "{}", data["result"][1].as_str().unwrap_or_default());
        }
        Some("vector") => {
            let rows: Vec<(String, String)> = data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let value = match s.get("histogram") {
                        Some(h) => histogram_value(&h[1]),
                        None => point_value(&s["value"]),
                    };
                    (series_name(&s["metric"]), value)
                })
                .collect();
            table(&mut out, &rows);
        }
        Some("matrix") => {
            for s in data["result"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "{}", series_name(&s["metric"]));
                for p in s["values"].as_array().into_iter().flatten() {
                    let _ = writeln!(out, "  {}  {}", p[0], point_value(p));
                }
                for p in s["histograms"].as_array().into_iter().flatten() {
                    let _ = writeln!(out, "  {}  {}", p[0], histogram_value(&p[1]));
                }
            }
        }
        _ => out.push_str(&data.to_string()),
    }
    Ok(out)
}

/// A native histogram of the API's JSON in one table cell: count, sum and
/// the buckets as `(lower,upper]:count` (brackets as the boundary rule says).
fn histogram_value(h: &Json) -> String {
    let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
    let mut cell = format!("count:{} sum:{}", text(&h["count"]), text(&h["sum"]));
    for b in h["buckets"].as_array().into_iter().flatten() {
        let (open, close) = match b[0].as_i64() {
            Some(0) => ('(', ']'),
            Some(1) => ('[', ')'),
            Some(3) => ('[', ']'),
            _ => ('(', ')'),
        };
        let _ = write!(
            cell,
            " {open}{},{}{close}:{}",
            text(&b[1]),
            text(&b[2]),
            text(&b[3])
        );
    }
    cell
}

fn point_value(p: &Json) -> String {
    p[1].as_str().unwrap_or_default().to_string()
}

fn series_name(metric: &Json) -> String {
    let Some(map) = metric.as_object() else {
        return "{}".into();
    };
    let name = map.get("__name__").and_then(Json::as_str).unwrap_or("");
    let labels: Vec<String> = map
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={}", v))
        .collect();
    if labels.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", labels.join(", "))
    }
}

fn table(out: &mut String, rows: &[(String, String)]) {
    let width = rows
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(0)
        .max("SERIES".len());
    let _ = writeln!(out, "{:<width$}  VALUE", "SERIES");
    for (name, value) in rows {
        let _ = writeln!(out, "{name:<width$}  {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_as_table() {
        let body: Json = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"up","job":"node"},"value":[1,"1"]},
              {"metric":{},"value":[1,"0.5"]}]}}"#,
        )
        .unwrap();
        let text = render(&body, Output::Table).unwrap();
        assert_eq!(
            text,
            "SERIES          VALUE\nup{job=\"node\"}  1\n{}              0.5\n"
        );
    }

    #[test]
    fn histograms_in_a_cell() {
        let body: Json = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"h"},"histogram":[1,{"count":"3","sum":"2.5",
               "buckets":[[3,"-0.001","0.001","1"],[0,"1","2","2"]]}]}]}}"#,
        )
        .unwrap();
        let text = render(&body, Output::Table).unwrap();
        assert_eq!(
            text,
            "SERIES  VALUE\nh       count:3 sum:2.5 [-0.001,0.001]:1 (1,2]:2\n"
        );
    }

    #[test]
    fn api_errors_surface() {
        let body: Json = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: x"}"#,
        )
        .unwrap();
        let err = render(&body, Output::Table).unwrap_err();
        assert_eq!(err.to_string(), "bad_data: 1:5: parse error: x");
    }

    #[test]
    fn warnings_are_printed() {
        let body: Json = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]},"warnings":["w1"]}"#,
        )
        .unwrap();
        assert_eq!(render(&body, Output::Table).unwrap(), "# warning: w1\n2\n");
    }
}

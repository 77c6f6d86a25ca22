//! What the benchmarks that compare with Prometheus share: a real
//! Prometheus over a backfilled data directory (started on loopback,
//! stopped by its PID), its query API with `stats=all`, a comparison of
//! answers, and figures from `/proc`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_rules::promql::Value;

/// Errors of a benchmark run: it stops with a message.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Backfills an OpenMetrics file into a Prometheus data directory with
/// `promtool tsdb create-blocks-from openmetrics`.
pub fn backfill(om_path: &Path, data: &Path) -> Res<()> {
    let out = Command::new("/usr/bin/promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(om_path)
        .arg(data)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "promtool backfill failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// A running Prometheus over a backfilled data directory, killed by its PID
/// on drop.
pub struct Prometheus {
    child: Child,
    addr: String,
}

impl Prometheus {
    /// Starts Prometheus over `data` and waits until it is ready.
    pub fn start(dir: &Path, data: &Path) -> Res<Prometheus> {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global: {}\n")?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let p = Prometheus { child, addr };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http_get(&p.addr, "/-/ready") {
                return Ok(p);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("prometheus on {} not ready within 120 s", p.addr).into())
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs one query; returns (HTTP wall ms, evalTotalTime ms, answer).
    pub fn query(&self, path_and_query: &str) -> Res<(f64, f64, Answer)> {
        let started = Instant::now();
        let (status, body) = http_get(&self.addr, path_and_query)?;
        let wall = started.elapsed().as_secs_f64() * 1e3;
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        if status != 200 || json["status"] != "success" {
            return Err(format!("prometheus answered {status}: {json}").into());
        }
        let eval = json["data"]["stats"]["timings"]["evalTotalTime"]
            .as_f64()
            .ok_or("no data.stats.timings.evalTotalTime in the answer")?;
        let mut answer = Answer::default();
        for series in json["data"]["result"].as_array().ok_or("no data.result")? {
            answer.series += 1;
            let points: Vec<&serde_json::Value> = match series.get("values") {
                Some(values) => values.as_array().ok_or("bad values")?.iter().collect(),
                None => vec![&series["value"]],
            };
            for p in points {
                let v: f64 = p[1].as_str().ok_or("bad point")?.parse()?;
                answer.add(v);
            }
        }
        Ok((wall, eval * 1e3, answer))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 GET over loopback; the body is everything after the
/// headers because the server closes the connection.
pub fn http_get(addr: &str, path_and_query: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "GET {path_and_query} HTTP/1.0\r\nHost: {addr}\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let status = String::from_utf8_lossy(&raw[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// Percent-encodes a query parameter.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What is compared between the two answers.
#[derive(Debug, Default, Clone, Copy)]
pub struct Answer {
    /// Series in the answer.
    pub series: usize,
    /// Points in the answer.
    pub points: usize,
    /// Sum of the finite values.
    pub sum: f64,
}

impl Answer {
    /// Counts one value.
    pub fn add(&mut self, v: f64) {
        self.points += 1;
        if v.is_finite() {
            self.sum += v;
        }
    }

    /// The summary of warden's answer.
    pub fn of(value: &Value) -> Answer {
        let mut a = Answer::default();
        match value {
            Value::Vector(v) => {
                a.series = v.len();
                v.iter().for_each(|s| a.add(s.v));
            }
            Value::Matrix(m) => {
                a.series = m.len();
                m.iter()
                    .flat_map(|s| s.samples.iter())
                    .for_each(|p| a.add(p.v));
            }
            Value::Scalar { v, .. } => {
                a.series = 1;
                a.add(*v);
            }
            Value::String { .. } => a.series = 1,
        }
        a
    }

    /// Same series and points, sums within 1e-6 relative.
    pub fn agrees(&self, other: &Answer) -> bool {
        let scale = self.sum.abs().max(other.sum.abs()).max(1e-9);
        self.series == other.series
            && self.points == other.points
            && (self.sum - other.sum).abs() / scale < 1e-6
    }
}

/// Reads one `Key:   123 kB` field of a `/proc/<pid>/status` file, in MiB.
pub fn status_mib(pid: &str, key: &str) -> Res<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = text
        .lines()
        .find(|l| l.starts_with(key))
        .ok_or(format!("no {key} in /proc/{pid}/status"))?;
    let kb: f64 = line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// Median and p90 (nearest rank) of a sample.
pub fn stats(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let rank =
        |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, rank(0.9))
}

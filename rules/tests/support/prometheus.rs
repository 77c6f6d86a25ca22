//! Runs Debian's real Prometheus 2.42 on loopback for side-by-side tests:
//! backfills data with `promtool tsdb create-blocks-from openmetrics`,
//! starts the server on its own port and data directory, and kills it by
//! the PID it started when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Prometheus, stopped on drop.
pub struct Prometheus {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

fn require(binary: &str) -> PathBuf {
    let path = PathBuf::from("/usr/bin").join(binary);
    assert!(
        path.exists(),
        "{binary} is not installed: install Debian's `prometheus` package (scripts/test does)"
    );
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl Prometheus {
    /// Backfills `openmetrics` (an OpenMetrics text body ending in `# EOF`)
    /// into a fresh data directory and starts Prometheus over it.
    pub fn start_with_backfill(openmetrics: &str) -> Prometheus {
        let promtool = require("promtool");
        let prometheus = require("prometheus");
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("input.om");
        std::fs::write(&input, openmetrics).expect("write OpenMetrics input");
        let data = dir.path().join("data");
        let out = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
            .arg(&input)
            .arg(&data)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool backfill failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global: {}\n").expect("write config");
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        p.wait_ready("");
        p
    }

    /// Waits for `/-/ready` under `route_prefix` (the path of
    /// `--web.external-url`, or `""`).
    fn wait_ready(&self, route_prefix: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let ready = format!("{route_prefix}/-/ready");
        while Instant::now() < deadline {
            if let Ok((200, _)) = http_get(&self.addr, &ready) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "prometheus on {} did not become ready within 60 s",
            self.addr
        );
    }

    /// GETs `path_and_query` and parses the JSON body.
    pub fn get_json(&self, path_and_query: &str) -> serde_json::Value {
        let (status, body) = http_get(&self.addr, path_and_query).expect("query prometheus");
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("status {status}, bad JSON ({e})"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 GET over loopback: the server closes the connection,
/// so the body is everything after the headers.
pub fn http_get(addr: &str, path_and_query: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
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
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// Percent-encodes a query parameter value.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Prometheus {
    /// Starts Prometheus with `config` (a `prometheus.yml` body) and the
    /// given extra files written next to it (rule files named in the
    /// config), plus extra command-line flags. `route_prefix` is where the
    /// web routes live (the path of `--web.external-url`, or `""`).
    pub fn start_with_config(
        config: &str,
        files: &[(&str, &str)],
        flags: &[String],
        route_prefix: &str,
    ) -> Prometheus {
        let prometheus = require("prometheus");
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).expect("write file");
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write config");
        let data = dir.path().join("data");
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(&prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        p.wait_ready(route_prefix);
        p
    }
}

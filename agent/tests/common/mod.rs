//! Scaffolding for the end-to-end tests: start the real `warden` binary on a
//! free port with its own data directory, talk HTTP to it, and always stop it
//! (by PID) when the test ends, even on a failed assertion.

#![allow(dead_code)]

pub mod rules;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Generous bound for anything the tests wait for (CI machines are slow and
/// shared); a test that reaches it fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(60);

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// A running `warden run`; killed with SIGKILL on drop if still running.
pub struct Warden {
    pub child: Option<Child>,
    pub port: u16,
    pub stderr_path: PathBuf,
}

impl Warden {
    /// Starts `warden run --config.file <config> --web.listen-address 127.0.0.1:<port>`.
    pub fn start(dir: &Path, config: &Path, port: u16) -> Warden {
        Warden::start_with(dir, config, port, &[])
    }

    /// [`Warden::start`] with extra flags.
    pub fn start_with(dir: &Path, config: &Path, port: u16, extra: &[&str]) -> Warden {
        let stderr_path = dir.join(format!("warden-{port}-{}.log", unique()));
        let stderr = std::fs::File::create(&stderr_path).expect("create log file");
        let child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("run")
            .arg("--config.file")
            .arg(config)
            .arg("--web.listen-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--log.level=debug")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start warden");
        Warden {
            child: Some(child),
            port,
            stderr_path,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// What warden logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Waits until `/-/ready` answers 200; panics with the log if warden exits
    /// or never gets ready.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("warden exited early with {status}:\n{}", self.stderr());
            }
            if get(self.port, "/-/ready", None).is_ok_and(|r| r.status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "warden not ready:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.pid();
        signal(pid, rustix::process::Signal::TERM);
        self.wait_exit()
    }

    /// Sends SIGHUP (reload).
    pub fn hangup(&self) {
        signal(self.pid(), rustix::process::Signal::HUP);
    }

    /// Sends SIGKILL (a crash) and waits for the process to be gone.
    pub fn kill9(&mut self) {
        let pid = self.pid();
        signal(pid, rustix::process::Signal::KILL);
        self.wait_exit();
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("warden did not exit:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("non-zero pid");
    rustix::process::kill_process(pid, sig).expect("send signal");
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// `GET path` on 127.0.0.1:port with an optional `Accept` header.
pub fn get(port: u16, path: &str, accept: Option<&str>) -> std::io::Result<Response> {
    request(port, "GET", path, accept)
}

/// `method path` (no body) on 127.0.0.1:port.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    accept: Option<&str>,
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(WAIT))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: 0\r\n"
    );
    if let Some(a) = accept {
        req.push_str(&format!("Accept: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut headers = HashMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// Writes `warden.yml` into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("warden.yml");
    std::fs::write(&p, text).expect("write config");
    p
}

/// Runs `warden` with `args` to completion (for commands that should exit).
pub fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run warden");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// One sample line of an exposition: name, labels (sorted), value, timestamp
/// in milliseconds when present. A deliberately small, independent parser so
/// the tests do not check warden's encoder with warden's own parser.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    pub t_ms: Option<i64>,
}

/// A parsed exposition: `# TYPE` per family name, `# HELP` names, samples.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: HashMap<String, String>,
    pub helps: HashMap<String, String>,
    pub samples: Vec<Line>,
    pub eof: bool,
}

impl Exposition {
    /// Parses text format 0.0.4 (`openmetrics = false`, timestamps in ms) or
    /// OpenMetrics 1.0 (timestamps in seconds).
    pub fn parse(text: &str, openmetrics: bool) -> Exposition {
        let mut e = Exposition::default();
        for raw in text.lines() {
            let l = raw.trim_end();
            if l.is_empty() {
                continue;
            }
            if l == "# EOF" {
                e.eof = true;
                continue;
            }
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                let (n, t) = rest.split_once(' ').expect("TYPE line");
                e.types.insert(n.to_string(), t.to_string());
                continue;
            }
            if let Some(rest) = l.strip_prefix("# HELP ") {
                let (n, h) = rest.split_once(' ').unwrap_or((rest, ""));
                e.helps.insert(n.to_string(), h.to_string());
                continue;
            }
            if l.starts_with('#') {
                continue;
            }
            e.samples
                .push(parse_line(l, openmetrics).unwrap_or_else(|| panic!("bad line {l:?}")));
        }
        e
    }

    /// Distinct sample names.
    pub fn names(&self) -> std::collections::BTreeSet<String> {
        self.samples.iter().map(|s| s.name.clone()).collect()
    }

    /// Samples of one name.
    pub fn of(&self, name: &str) -> Vec<&Line> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_line(l: &str, openmetrics: bool) -> Option<Line> {
    let name_end = l.find(['{', ' '])?;
    let name = l[..name_end].to_string();
    let mut rest = &l[name_end..];
    let mut labels = Vec::new();
    if rest.starts_with('{') {
        rest = &rest[1..];
        loop {
            rest = rest.trim_start_matches(',').trim_start();
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=')?;
            let lname = rest[..eq].trim().to_string();
            rest = rest[eq + 1..].strip_prefix('"')?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end;
            loop {
                let (i, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => {
                        end = i;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &rest[end + 1..];
            labels.push((lname, value));
        }
    }
    labels.sort();
    let mut parts = rest.split_whitespace();
    let value = parse_float(parts.next()?)?;
    let t_ms = match parts.next() {
        None => None,
        Some(t) if openmetrics => Some((t.parse::<f64>().ok()? * 1000.0).round() as i64),
        Some(t) => Some(t.parse::<i64>().ok()?),
    };
    Some(Line {
        name,
        labels,
        value,
        t_ms,
    })
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// The `Accept` header Prometheus 2.x sends when scraping.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Scrapes `/metrics` in OpenMetrics (`true`) or the default text format.
pub fn scrape(port: u16, openmetrics: bool) -> (Response, Exposition) {
    let accept = openmetrics.then_some(PROMETHEUS_ACCEPT);
    let r = get(port, "/metrics", accept).expect("scrape /metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    let e = Exposition::parse(&r.body, openmetrics);
    (r, e)
}

/// Starts Debian's node_exporter on a free port (the real peer the host
/// metrics are compared with); stopped by PID on drop.
pub struct NodeExporter {
    child: Child,
    pub port: u16,
}

impl NodeExporter {
    pub fn start() -> NodeExporter {
        let bin = [
            "/usr/bin/prometheus-node-exporter",
            "/usr/bin/node_exporter",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("prometheus-node-exporter is not installed; scripts/test installs it");
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node_exporter");
        let ne = NodeExporter { child, port };
        let deadline = Instant::now() + WAIT;
        while get(port, "/metrics", None).map(|r| r.status).ok() != Some(200) {
            assert!(Instant::now() < deadline, "node_exporter did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        ne
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

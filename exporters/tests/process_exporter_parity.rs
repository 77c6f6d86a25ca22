//! Parity with the real process-exporter (Debian's
//! `prometheus-process-exporter`, ncabatoff/process-exporter 0.7).
//!
//! Starts a `sleep` child with an argument no other process has, starts
//! process-exporter on 127.0.0.1 with a free port and a config selecting
//! that child, scrapes it, runs warden's process collector with the same
//! selection, and checks: every `namedprocess_*` family process-exporter
//! writes (except the ones warden documents as not produced) exists in
//! warden with the same type, label names and label values, and the
//! figures of an idle process agree.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;
use warden_exporters::Collector;
use warden_exporters::exposition::{Format, parse};
use warden_exporters::process::{ProcessCollector, ProcessConfig, ProcessGroupConfig};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata};

const PROCESS_EXPORTER: &str = "/usr/bin/prometheus-process-exporter";

/// Families process-exporter writes that warden does not (documented).
const NOT_PRODUCED: [&str; 1] = ["namedprocess_namegroup_threads_wchan"];

/// Kills a process this test started, by its PID, however the test ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Default)]
struct MemAppender {
    samples: Vec<(Labels, f64)>,
    metadata: BTreeMap<String, MetricMetadata>,
}

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, _t: i64, v: f64) -> Result<(), AppendError> {
        self.samples.push((labels.clone(), v));
        Ok(())
    }
    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.metadata.insert(metric.to_string(), metadata);
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

fn get(port: u16) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    if !resp.starts_with(b"HTTP/1.0 200") && !resp.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some(resp[split + 4..].to_vec())
}

#[test]
fn process_collector_matches_process_exporter() {
    assert!(
        std::path::Path::new(PROCESS_EXPORTER).exists(),
        "{PROCESS_EXPORTER} is missing: install the Debian package `prometheus-process-exporter` \
         (apt-get install -y prometheus-process-exporter)"
    );
    let arg = format!("{}.{}", 4000 + std::process::id() % 1000, 75);
    let child = Guard(
        Command::new("sleep")
            .arg(&arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Both exporters count from when they first see the process; wait until
    // the child is asleep and its counters are still, so that neither sees
    // it move.
    let pid = child.0.id();
    let counters = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.to_string()))
    };
    let settle = Instant::now() + Duration::from_secs(10);
    loop {
        let a = counters();
        std::thread::sleep(Duration::from_millis(100));
        let b = counters();
        if a.is_some()
            && a == b
            && b.as_deref()
                .is_some_and(|r| r.trim_start().starts_with('S'))
        {
            break;
        }
        assert!(Instant::now() < settle, "the child never settled");
    }
    let cmdline = format!("^sleep {}$", regex::escape(&arg));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("process-exporter.yml");
    std::fs::write(
        &config,
        format!(
            "process_names:\n  - name: sleepers\n    comm:\n    - sleep\n    cmdline:\n    - '{cmdline}'\n"
        ),
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _exporter = Guard(
        Command::new(PROCESS_EXPORTER)
            .arg(format!("-web.listen-address=127.0.0.1:{port}"))
            .arg(format!("-config.path={}", config.display()))
            .arg("-threads=false")
            .arg("-gather-smaps=false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start process-exporter"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        if let Some(b) = get(port) {
            break b;
        }
        assert!(Instant::now() < deadline, "process-exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    };

    let mut collector = ProcessCollector::new(ProcessConfig {
        groups: vec![ProcessGroupConfig {
            name: "sleepers".into(),
            comm: vec!["sleep".into()],
            cmdline: Some(Regex::new(&cmdline).unwrap()),
            pidfile: None,
            cgroup: None,
        }],
        ..ProcessConfig::default()
    })
    .unwrap();
    let mut app = MemAppender::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let errors = collector.collect(now_ms, &mut app);
    assert!(errors.is_empty(), "{errors:?}");

    let theirs = parse(Format::Text, &body).expect("parse process-exporter");
    let theirs: Vec<_> = theirs
        .into_iter()
        .filter(|s| {
            s.labels
                .metric_name()
                .is_some_and(|n| n.starts_with("namedprocess_"))
        })
        .collect();
    assert!(theirs.len() > 10, "too few samples from process-exporter");

    let mut problems = Vec::new();
    let families: BTreeSet<String> = theirs.iter().map(|s| s.family.name.clone()).collect();
    for family in &families {
        if NOT_PRODUCED.contains(&family.as_str()) {
            continue;
        }
        let their_kind = theirs
            .iter()
            .find(|s| &s.family.name == family)
            .map(|s| s.family.metadata.kind);
        let our_kind = app.metadata.get(family).map(|m| m.kind);
        if their_kind != our_kind {
            problems.push(format!(
                "{family}: type {our_kind:?}, process-exporter {their_kind:?}"
            ));
        }
        let series = |ss: &mut dyn Iterator<Item = &Labels>| -> BTreeSet<String> {
            ss.filter(|l| l.metric_name() == Some(family))
                .map(|l| l.to_string())
                .collect()
        };
        let t = series(&mut theirs.iter().map(|s| &s.labels));
        let o = series(&mut app.samples.iter().map(|s| &s.0));
        if t != o {
            problems.push(format!("{family}: series {o:?}, process-exporter {t:?}"));
        }
    }

    // The figures of an idle process, which both read at nearly the same
    // moment: equal. The scrape error counters are each exporter's own.
    for s in &theirs {
        let name = s.labels.metric_name().unwrap_or("");
        if name.starts_with("namedprocess_scrape_") || NOT_PRODUCED.contains(&name) {
            continue;
        }
        let ours = app
            .samples
            .iter()
            .find(|(l, _)| *l == s.labels)
            .map(|o| o.1);
        if ours != Some(s.value) {
            problems.push(format!(
                "{}: warden {ours:?}, process-exporter {}",
                s.labels, s.value
            ));
        }
    }
    eprintln!(
        "compared {} families, {} samples",
        families.len(),
        theirs.len()
    );
    assert!(families.len() >= 15, "only {} families", families.len());
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

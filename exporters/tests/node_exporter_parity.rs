//! Parity with the real node_exporter 1.5 (Debian's `prometheus-node-exporter`).
//!
//! Starts node_exporter on 127.0.0.1 with a free port, scrapes it, runs
//! warden's host collector at the same moment, and checks, for every family
//! of the compatibility list that node_exporter exposes on this machine:
//! warden exposes it with the same type and the same label names; the
//! `cpu`, `device`, `mountpoint` and `fstype` value sets are equal; and the
//! stable values agree (`node_memory_MemTotal_bytes` and filesystem sizes
//! exactly, boot time within 1 s). It also checks that warden invents no
//! `node_*` family node_exporter does not have here.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_exporters::Collector;
use warden_exporters::exposition::{Family, Format, ParsedSample, encode, parse};
use warden_exporters::host::{HostCollector, HostConfig};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata, MetricType};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

/// Families of the compatibility list, by exact name or `prefix*`.
const LIST: &[&str] = &[
    "node_cpu_seconds_total",
    "node_load1",
    "node_load5",
    "node_load15",
    "node_memory_*",
    "node_filesystem_size_bytes",
    "node_filesystem_free_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_files",
    "node_filesystem_files_free",
    "node_filesystem_readonly",
    "node_filesystem_device_error",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_disk_io_time_seconds_total",
    "node_disk_io_time_weighted_seconds_total",
    "node_network_receive_bytes_total",
    "node_network_receive_packets_total",
    "node_network_receive_errs_total",
    "node_network_receive_drop_total",
    "node_network_transmit_bytes_total",
    "node_network_transmit_packets_total",
    "node_network_transmit_errs_total",
    "node_network_transmit_drop_total",
    "node_network_up",
    "node_boot_time_seconds",
    "node_time_seconds",
    "node_uname_info",
    "node_os_info",
    "node_context_switches_total",
    "node_forks_total",
    "node_intr_total",
    "node_procs_running",
    "node_procs_blocked",
    "node_filefd_allocated",
    "node_filefd_maximum",
    "node_vmstat_*",
    "node_pressure_*",
    "node_entropy_available_bits",
    // Beyond the list: what warden also writes from the same sources.
    "node_cpu_guest_seconds_total",
    "node_disk_*",
    "node_network_*",
    "node_entropy_pool_size_bits",
    "node_os_version",
    "node_time_clocksource_*",
    "node_timex_*",
    "node_nf_conntrack_*",
    "node_netstat_*",
    "node_sockstat_*",
    "node_softnet_*",
    "node_arp_entries",
    "node_udp_queues",
    "node_textfile_*",
    "parity_*",
];

/// Families of the list above that warden documents as not produced.
const NOT_PRODUCED: [&str; 1] = ["node_network_receive_nohandler_total"];

/// Labels whose value sets must be equal between the two.
const SET_LABELS: [&str; 4] = ["cpu", "device", "mountpoint", "fstype"];

/// Kills the node_exporter this test started, by its PID, however the test ends.
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET on loopback; the body of a 200 response.
fn get(port: u16, path: &str) -> Option<Vec<u8>> {
    get_as(port, path, "text/plain;version=0.0.4")
}

/// A GET with the given `Accept` header.
fn get_as(port: u16, path: &str, accept: &str) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n\r\n"
    )
    .ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    if !resp.starts_with(b"HTTP/1.0 200") && !resp.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    Some(resp[split + 4..].to_vec())
}

fn in_list(name: &str) -> bool {
    !NOT_PRODUCED.contains(&name)
        && LIST.iter().any(|l| match l.split_once('*') {
            Some((prefix, suffix)) => name.starts_with(prefix) && name.ends_with(suffix),
            None => name == *l,
        })
}

/// Per family: its label names, and per set-label its values.
type Shape = BTreeMap<String, (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>)>;

fn shape<'a>(samples: impl Iterator<Item = &'a Labels>) -> Shape {
    let mut out = Shape::new();
    for l in samples {
        let name = l.metric_name().unwrap_or("").to_string();
        let entry = out.entry(name).or_default();
        for label in l.iter().filter(|l| l.name != "__name__") {
            entry.0.insert(label.name.clone());
            if SET_LABELS.contains(&label.name.as_str()) {
                entry
                    .1
                    .entry(label.name.clone())
                    .or_default()
                    .insert(label.value.clone());
            }
        }
    }
    out
}

fn value_of(samples: &[(Labels, f64)], series: &str) -> Option<f64> {
    samples
        .iter()
        .find(|(l, _)| l.to_string() == series)
        .map(|s| s.1)
}

#[test]
fn host_collector_matches_node_exporter() {
    let (_guard, port, textfiles) = start_node_exporter();
    std::fs::write(
        textfiles.path().join("parity.prom"),
        "# HELP parity_test_info From a textfile.\n# TYPE parity_test_info gauge\n\
         parity_test_info{device=\"x\"} 1\nparity_untyped 2\n",
    )
    .unwrap();

    let mut collector = HostCollector::new(HostConfig {
        textfile_directory: Some(textfiles.path().to_path_buf()),
        ..HostConfig::default()
    })
    .unwrap();
    let mut app = MemAppender::default();
    let body = get(port, "/metrics").expect("scrape node_exporter");
    let errors = collector.collect(0, &mut app);
    assert!(
        errors.is_empty(),
        "warden's collection had errors: {errors:?}"
    );

    let theirs: Vec<ParsedSample> = parse(Format::Text, &body).expect("parse node_exporter");
    let their_types: BTreeMap<String, MetricType> = theirs
        .iter()
        .map(|s| (s.family.name.clone(), s.family.metadata.kind))
        .collect();
    let their_shape = shape(theirs.iter().map(|s| &s.labels));
    let our_shape = shape(app.samples.iter().map(|s| &s.0));

    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, (their_names, their_sets)) in &their_shape {
        if !in_list(name) {
            continue;
        }
        checked += 1;
        let Some((our_names, our_sets)) = our_shape.get(name) else {
            problems.push(format!("{name}: missing in warden"));
            continue;
        };
        if our_names != their_names {
            problems.push(format!(
                "{name}: label names {our_names:?}, node_exporter {their_names:?}"
            ));
        }
        if our_sets != their_sets {
            problems.push(format!(
                "{name}: label values {our_sets:?}, node_exporter {their_sets:?}"
            ));
        }
        let ours = app.metadata.get(name).map(|m| m.kind);
        if ours != their_types.get(name).copied() {
            problems.push(format!(
                "{name}: type {ours:?}, node_exporter {:?}",
                their_types.get(name)
            ));
        }
    }
    // Nothing invented: every node_* family warden writes is node_exporter's.
    for name in our_shape.keys() {
        if !their_shape.contains_key(name) {
            problems.push(format!("{name}: written by warden, not by node_exporter"));
        }
    }

    let their_samples: Vec<(Labels, f64)> =
        theirs.iter().map(|s| (s.labels.clone(), s.value)).collect();
    let exact = |series: &str, problems: &mut Vec<String>| {
        let (a, b) = (
            value_of(&app.samples, series),
            value_of(&their_samples, series),
        );
        if a != b || a.is_none() {
            problems.push(format!("{series}: warden {a:?}, node_exporter {b:?}"));
        }
    };
    exact("node_memory_MemTotal_bytes", &mut problems);
    for s in theirs.iter().filter(|s| {
        matches!(
            s.labels.metric_name(),
            Some("node_filesystem_size_bytes" | "node_filesystem_files")
        )
    }) {
        exact(&s.labels.to_string(), &mut problems);
    }
    match (
        value_of(&app.samples, "node_boot_time_seconds"),
        value_of(&their_samples, "node_boot_time_seconds"),
    ) {
        (Some(a), Some(b)) if (a - b).abs() <= 1.0 => {}
        other => problems.push(format!("node_boot_time_seconds: {other:?}")),
    }

    eprintln!(
        "compared {checked} listed families; warden wrote {} families",
        our_shape.len()
    );
    assert!(
        checked >= 40,
        "only {checked} listed families in node_exporter's output"
    );
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Starts node_exporter on a free port with a private textfile directory.
fn start_node_exporter() -> (Guard, u16, tempfile::TempDir) {
    assert!(
        std::path::Path::new(NODE_EXPORTER).exists(),
        "{NODE_EXPORTER} is missing: install the Debian package `prometheus-node-exporter` \
         (apt-get install -y prometheus-node-exporter); the project's test script does"
    );
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(NODE_EXPORTER)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--collector.textfile.directory={}",
            dir.path().display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node_exporter");
    let guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(port, "/").is_none() {
        assert!(Instant::now() < deadline, "node_exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    (guard, port, dir)
}

/// The exposition code against real output: node_exporter's text body
/// (node_exporter 1.5 does not offer OpenMetrics) parses, re-encodes as
/// OpenMetrics and as text, and parses back to the same series and values;
/// and warden writes every value exactly as Go did.
#[test]
fn exposition_matches_node_exporter_output() {
    let (_guard, port, _dir) = start_node_exporter();
    let text = get(port, "/metrics").expect("text scrape");
    let t = parse(Format::Text, &text).expect("parse text");

    // Families in order, as parsed.
    let mut families: Vec<Family> = Vec::new();
    for s in &t {
        match families.last_mut() {
            Some(f) if f.name == s.family.name => f.samples.push((s.labels.clone(), s.value, None)),
            _ => families.push(Family {
                name: s.family.name.clone(),
                metadata: s.family.metadata.clone(),
                samples: vec![(s.labels.clone(), s.value, None)],
            }),
        }
    }
    for format in [Format::OpenMetrics, Format::Text] {
        let mut body = Vec::new();
        encode(format, &families, &mut body);
        let back = parse(format, &body).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(back.len(), t.len(), "{format:?}");
        for (a, b) in t.iter().zip(&back) {
            assert_eq!(a.labels, b.labels, "{format:?}");
            assert!(
                a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan())
            );
            // OpenMetrics declares a counter without its _total.
            let family = match (format, a.family.metadata.kind) {
                (Format::OpenMetrics, MetricType::Counter) => a
                    .family
                    .name
                    .strip_suffix("_total")
                    .unwrap_or(&a.family.name),
                _ => a.family.name.as_str(),
            };
            assert_eq!(family, b.family.name, "{format:?} {}", a.labels);
            assert_eq!(
                a.family.metadata.kind, b.family.metadata.kind,
                "{format:?} {}",
                a.labels
            );
            assert_eq!(
                a.family.metadata.help, b.family.metadata.help,
                "{format:?} {}",
                a.labels
            );
        }
    }
    // In text, the body warden writes is node_exporter's line for line,
    // except where node_exporter writes empty label values (which label
    // sets do not keep).
    let mut ours = Vec::new();
    encode(Format::Text, &families, &mut ours);
    let ours = String::from_utf8(ours).unwrap();
    let theirs = String::from_utf8(text.clone()).unwrap();
    let theirs: Vec<&str> = theirs.lines().collect();
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), theirs.len());
    let differing: Vec<_> = ours
        .iter()
        .zip(&theirs)
        .filter(|(o, t)| o != t && !t.contains("=\"\""))
        .take(5)
        .collect();
    assert!(
        differing.is_empty(),
        "lines differ (warden, node_exporter): {differing:#?}"
    );

    // Every value token in the text body, re-encoded by warden.
    let mut checked = 0;
    for line in text.split(|&b| b == b'\n') {
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let line = std::str::from_utf8(line).unwrap();
        let theirs = line.rsplit(' ').next().unwrap();
        let v: f64 = theirs.parse().unwrap();
        let fam = Family {
            name: "x".into(),
            metadata: MetricMetadata::default(),
            samples: vec![(Labels::empty(), v, None)],
        };
        let mut out = Vec::new();
        encode(Format::Text, &[fam], &mut out);
        let out = String::from_utf8(out).unwrap();
        let ours = out.trim_end().rsplit(' ').next().unwrap();
        assert_eq!(ours, theirs, "value of {line}");
        checked += 1;
    }
    assert!(checked > 300, "only {checked} values");
}

/// warden's `process_*` figures computed as Prometheus's Go client computes
/// them: pointed at node_exporter's own process (a fake procfs root whose
/// `self` is node_exporter's PID), they agree with what node_exporter says
/// about itself.
#[test]
fn self_process_metrics_match_the_go_client() {
    use warden_exporters::process::SelfProcessCollector;

    let (guard, port, _dir) = start_node_exporter();
    let pid = guard.0.id();
    let root = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(format!("/proc/{pid}"), root.path().join("self")).unwrap();
    std::os::unix::fs::symlink("/proc/stat", root.path().join("stat")).unwrap();

    let body = get(port, "/metrics").expect("scrape node_exporter");
    let mut c = SelfProcessCollector::new(root.path());
    let mut app = MemAppender::default();
    let errors = c.collect(0, &mut app);
    assert!(errors.is_empty(), "{errors:?}");
    let theirs: Vec<(Labels, f64)> = parse(Format::Text, &body)
        .unwrap()
        .into_iter()
        .map(|s| (s.labels, s.value))
        .collect();
    let both = |name: &str| {
        (
            value_of(&app.samples, name).unwrap_or_else(|| panic!("warden has no {name}")),
            value_of(&theirs, name).unwrap_or_else(|| panic!("node_exporter has no {name}")),
        )
    };
    for name in [
        "process_start_time_seconds",
        "process_max_fds",
        "process_virtual_memory_max_bytes",
    ] {
        let (ours, go) = both(name);
        assert_eq!(ours, go, "{name}");
    }
    // These move while node_exporter serves the scrape: close, not equal.
    let (ours, go) = both("process_resident_memory_bytes");
    assert!(
        (ours - go).abs() < 4.0 * 1024.0 * 1024.0,
        "rss {ours} vs {go}"
    );
    let (ours, go) = both("process_virtual_memory_bytes");
    assert!(
        (ours - go).abs() < 64.0 * 1024.0 * 1024.0,
        "vsize {ours} vs {go}"
    );
    let (ours, go) = both("process_open_fds");
    assert!((ours - go).abs() <= 3.0, "fds {ours} vs {go}");
    let (ours, go) = both("process_cpu_seconds_total");
    assert!(ours >= go && ours - go < 1.0, "cpu {ours} vs {go}");
    for name in ["process_cpu_seconds_total", "process_open_fds"] {
        assert_eq!(
            app.metadata[name].kind,
            parse(Format::Text, &body)
                .unwrap()
                .iter()
                .find(|s| s.family.name == name)
                .unwrap()
                .family
                .metadata
                .kind
        );
    }
}

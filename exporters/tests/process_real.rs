//! The process collectors on real processes: a child this test starts is
//! found by command name, by command line, by pid file and by cgroup, and
//! warden's own `process_*` figures agree with what `/proc/self` says.

use std::collections::BTreeMap;
use std::process::{Child, Command};

use regex::Regex;
use warden_exporters::Collector;
use warden_exporters::process::{
    ProcessCollector, ProcessConfig, ProcessGroupConfig, SelfProcessCollector,
};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata, MetricType};

/// Kills the child this test started, by its PID, however the test ends.
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

impl MemAppender {
    fn value(&self, series: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|(l, _)| l.to_string() == series)
            .map(|s| s.1)
    }
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

fn group(name: &str) -> ProcessGroupConfig {
    ProcessGroupConfig {
        name: name.into(),
        comm: Vec::new(),
        cmdline: None,
        pidfile: None,
        cgroup: None,
    }
}

fn mem_total() -> f64 {
    let m = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: f64 = m
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    kb * 1024.0
}

#[test]
fn finds_a_child_by_each_selector() {
    // An argument no other process on the machine has.
    let arg = format!("{}.{}", 3000 + std::process::id() % 1000, 25);
    let child = Guard(Command::new("sleep").arg(&arg).spawn().unwrap());
    let pid = child.0.id();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    std::fs::write(&pidfile, format!("{pid}\n")).unwrap();
    let cgroup_file = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let cgroup_path = cgroup_file
        .lines()
        .find(|l| l.starts_with("0::") || l.contains(":memory:"))
        .and_then(|l| l.splitn(3, ':').nth(2))
        .unwrap()
        .to_string();

    let mut by_cmdline = group("by_cmdline");
    by_cmdline.comm = vec!["sleep".into()];
    by_cmdline.cmdline = Some(Regex::new(&format!("^sleep {}$", regex::escape(&arg))).unwrap());
    let mut by_pidfile = group("by_pidfile");
    by_pidfile.pidfile = Some(pidfile);
    let mut by_cgroup = group("by_cgroup");
    by_cgroup.cgroup = Some(cgroup_path);
    by_cgroup.comm = vec!["sleep".into()];
    by_cgroup.cmdline = by_cmdline.cmdline.clone();

    // Groups are exclusive (first match wins), so one collector per selector.
    for g in [by_cmdline, by_pidfile, by_cgroup] {
        let name = g.name.clone();
        let mut c = ProcessCollector::new(ProcessConfig {
            groups: vec![g],
            ..ProcessConfig::default()
        })
        .unwrap();
        let mut app = MemAppender::default();
        let errors = c.collect(0, &mut app);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let v = |metric: &str, extra: &str| {
            app.value(&format!("{metric}{{{extra}groupname=\"{name}\"}}"))
        };
        assert_eq!(
            v("namedprocess_namegroup_num_procs", ""),
            Some(1.0),
            "{name}"
        );
        assert_eq!(
            v("namedprocess_namegroup_num_threads", ""),
            Some(1.0),
            "{name}"
        );
        let rss = app
            .value(&format!(
                "namedprocess_namegroup_memory_bytes{{groupname=\"{name}\", memtype=\"resident\"}}"
            ))
            .unwrap();
        assert!(rss > 0.0, "{name}: rss {rss}");
        assert!(v("namedprocess_namegroup_open_filedesc", "").unwrap() >= 1.0);
        let ratio = v("namedprocess_namegroup_worst_fd_ratio", "").unwrap();
        assert!(ratio > 0.0 && ratio < 1.0, "{name}: {ratio}");
        let limit = v("warden_process_memory_limit_bytes", "").unwrap();
        assert!(limit > 0.0 && limit <= mem_total(), "{name}: {limit}");
        let start = v("namedprocess_namegroup_oldest_start_time_seconds", "").unwrap();
        assert!(start > 1.6e9, "{name}: {start}");
        assert_eq!(
            app.metadata["namedprocess_namegroup_cpu_seconds_total"].kind,
            MetricType::Counter
        );
    }
}

#[test]
fn own_process_metrics_match_proc_self() {
    let mut c = SelfProcessCollector::default();
    let mut app = MemAppender::default();
    let errors = c.collect(0, &mut app);
    assert!(errors.is_empty(), "{errors:?}");
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let soft = |name: &str| -> f64 {
        let raw = limits
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .trim_start_matches(name)
            .split_whitespace()
            .next()
            .unwrap();
        if raw == "unlimited" {
            u64::MAX as f64
        } else {
            raw.parse().unwrap()
        }
    };
    assert_eq!(app.value("process_max_fds"), Some(soft("Max open files")));
    assert_eq!(
        app.value("process_virtual_memory_max_bytes"),
        Some(soft("Max address space"))
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let vm_rss: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let rss = app.value("process_resident_memory_bytes").unwrap();
    // Same figure from two files read moments apart: close, not equal.
    assert!(
        (rss - vm_rss * 1024.0).abs() < 8.0 * 1024.0 * 1024.0,
        "{rss} vs {vm_rss} kB"
    );
}

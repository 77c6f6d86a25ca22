//! The host collector on the machine running the tests: a clean collection,
//! and every family of the compatibility list that this machine's kernel
//! and mounts support is produced.

use std::collections::BTreeSet;
use std::path::Path;

use warden_exporters::Collector;
use warden_exporters::host::{HostCollector, HostConfig};
use warden_tsdb::{AppendError, Appender, Labels};

#[derive(Default)]
struct Names(BTreeSet<String>, usize);

impl Appender for Names {
    fn append(&mut self, labels: &Labels, _t: i64, _v: f64) -> Result<(), AppendError> {
        self.0
            .insert(labels.metric_name().unwrap_or("").to_string());
        self.1 += 1;
        Ok(())
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

/// Whether `file` has a line a family would be made of.
fn has_line(file: &str, keep: impl Fn(&str) -> bool) -> bool {
    std::fs::read_to_string(file)
        .map(|s| s.lines().any(keep))
        .unwrap_or(false)
}

#[test]
fn every_supported_family_on_this_host() {
    let config = HostConfig::default();
    let disk_exclude = config.diskstats_device_exclude.clone();
    let mount_exclude = config.mount_points_exclude.clone();
    let fs_exclude = config.fs_types_exclude.clone();
    let mut c = HostCollector::new(config).unwrap();
    let mut app = Names::default();
    let errors = c.collect(0, &mut app);
    assert!(errors.is_empty(), "{errors:?}");

    let mut expected = vec![
        "node_cpu_seconds_total",
        "node_load1",
        "node_load5",
        "node_load15",
        "node_memory_MemTotal_bytes",
        "node_memory_MemFree_bytes",
        "node_boot_time_seconds",
        "node_time_seconds",
        "node_uname_info",
        "node_context_switches_total",
        "node_forks_total",
        "node_intr_total",
        "node_procs_running",
        "node_procs_blocked",
        "node_filefd_allocated",
        "node_filefd_maximum",
        "node_entropy_available_bits",
        "node_vmstat_pgfault",
        "node_network_up",
    ];
    if Path::new("/etc/os-release").exists() || Path::new("/usr/lib/os-release").exists() {
        expected.push("node_os_info");
    }
    if Path::new("/proc/pressure/cpu").exists() {
        expected.push("node_pressure_cpu_waiting_seconds_total");
        expected.push("node_pressure_io_stalled_seconds_total");
        expected.push("node_pressure_memory_waiting_seconds_total");
    }
    if has_line("/proc/net/dev", |l| {
        l.split_once(':')
            .is_some_and(|(d, _)| d.trim() != "lo" && !d.contains('|'))
    }) {
        expected.extend([
            "node_network_receive_bytes_total",
            "node_network_transmit_packets_total",
            "node_network_receive_errs_total",
            "node_network_transmit_drop_total",
        ]);
    }
    if has_line("/proc/diskstats", |l| {
        l.split_whitespace()
            .nth(2)
            .is_some_and(|d| !disk_exclude.is_match(d))
    }) {
        expected.extend([
            "node_disk_reads_completed_total",
            "node_disk_written_bytes_total",
            "node_disk_io_time_seconds_total",
            "node_disk_io_time_weighted_seconds_total",
        ]);
    }
    if has_line("/proc/1/mounts", |l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 4 && !mount_exclude.is_match(f[1]) && !fs_exclude.is_match(f[2])
    }) {
        expected.extend([
            "node_filesystem_size_bytes",
            "node_filesystem_avail_bytes",
            "node_filesystem_files_free",
            "node_filesystem_device_error",
        ]);
    }
    let missing: Vec<_> = expected.iter().filter(|n| !app.0.contains(**n)).collect();
    assert!(missing.is_empty(), "missing families: {missing:?}");
    assert!(app.1 > 50, "only {} samples", app.1);
}

//! The host collector over a fake `/proc`, `/sys` and rootfs written into a
//! temporary directory: every family group is produced from its file, and a
//! file that is missing or unreadable costs only its own families and comes
//! back as an error naming it.

use std::collections::BTreeMap;
use std::path::Path;

use warden_exporters::Collector;
use warden_exporters::host::{HostCollector, HostConfig};
use warden_tsdb::{AppendError, Appender, Labels, MetricMetadata};

#[derive(Default)]
struct MemAppender {
    samples: Vec<(Labels, i64, f64)>,
    metadata: BTreeMap<String, MetricMetadata>,
}

impl MemAppender {
    fn value(&self, series: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|(l, _, _)| l.to_string() == series)
            .map(|s| s.2)
    }
    fn has_family(&self, prefix: &str) -> bool {
        self.samples
            .iter()
            .any(|(l, _, _)| l.metric_name().is_some_and(|n| n.starts_with(prefix)))
    }
}

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        self.samples.push((labels.clone(), t, v));
        Ok(())
    }
    fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.metadata.insert(metric.to_string(), metadata);
    }
    fn commit(&mut self) -> Result<(), AppendError> {
        Ok(())
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// A complete fake host; returns the config pointing at it.
fn fake_host(root: &Path) -> HostConfig {
    let proc_ = root.join("proc");
    let sys = root.join("sys");
    let rootfs = root.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    write(
        &proc_,
        "stat",
        "cpu  2 0 2 20 0 0 0 0 0 0\ncpu0 100 1 50 1000 5 0 2 3 0 0\ncpu1 200 0 60 900 6 0 1 0 0 0\n\
         intr 5000 1 2\nctxt 7000\nbtime 1700000000\nprocesses 321\nprocs_running 3\nprocs_blocked 1\n",
    );
    write(&proc_, "loadavg", "1.50 0.75 0.25 2/100 999\n");
    write(
        &proc_,
        "meminfo",
        "MemTotal:       1000 kB\nMemFree:         500 kB\nActive(anon):    10 kB\nHugePages_Total:       2\n",
    );
    write(&proc_, "sys/fs/file-nr", "1024\t0\t65536\n");
    write(
        &proc_,
        "1/mounts",
        "/dev/vda / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n",
    );
    write(
        &proc_,
        "diskstats",
        " 254 0 vda 10 1 80 4 20 2 160 8 0 12 14 0 0 0 0 0 0\n 254 1 vda1 1 1 1 1 1 1 1 1 0 1 1\n",
    );
    write(
        &proc_,
        "net/dev",
        "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n\
             lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  eth0: 100 10 1 2 0 0 0 0 200 20 3 4 0 0 0 0\n",
    );
    write(&proc_, "net/softnet_stat", "0000000a 00000001 00000002\n");
    write(
        &proc_,
        "net/arp",
        "IP address HW type Flags HW address Mask Device\n192.0.2.1 0x1 0x2 02:fc:00:00:00:05 * eth0\n",
    );
    write(
        &proc_,
        "net/netstat",
        "TcpExt: ListenDrops TCPTimeouts\nTcpExt: 3 4\n",
    );
    write(&proc_, "net/snmp", "Tcp: CurrEstab RtoMin\nTcp: 7 200\n");
    write(
        &proc_,
        "net/sockstat",
        "sockets: used 9\nTCP: inuse 2 orphan 0 tw 1 alloc 3 mem 5\n",
    );
    write(
        &proc_,
        "vmstat",
        "pgfault 42\npgmajfault 1\nnr_free_pages 9\noom_kill 0\n",
    );
    write(
        &proc_,
        "pressure/cpu",
        "some avg10=0 avg60=0 avg300=0 total=2000000\n",
    );
    write(
        &proc_,
        "pressure/io",
        "some avg10=0 avg60=0 avg300=0 total=1000000\nfull avg10=0 avg60=0 avg300=0 total=500000\n",
    );
    write(
        &proc_,
        "pressure/memory",
        "some avg10=0 avg60=0 avg300=0 total=0\nfull avg10=0 avg60=0 avg300=0 total=0\n",
    );
    write(&proc_, "sys/kernel/random/entropy_avail", "256\n");
    write(&proc_, "sys/kernel/random/poolsize", "256\n");
    write(&sys, "class/net/eth0/operstate", "up\n");
    write(&sys, "class/net/lo/operstate", "unknown\n");
    write(
        &sys,
        "devices/system/clocksource/clocksource0/available_clocksource",
        "tsc hpet\n",
    );
    write(
        &sys,
        "devices/system/clocksource/clocksource0/current_clocksource",
        "tsc\n",
    );
    write(
        &rootfs,
        "etc/os-release",
        "ID=debian\nVERSION_ID=\"12\"\nNAME=\"Debian GNU/Linux\"\n",
    );
    HostConfig {
        proc_path: proc_,
        sys_path: sys,
        rootfs_path: rootfs,
        udev_data_path: root.join("udev"),
        ..HostConfig::default()
    }
}

#[test]
fn every_family_from_a_fake_host() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_host(dir.path());
    let rootfs = config.rootfs_path.clone();
    let mut c = HostCollector::new(config).unwrap();
    let mut app = MemAppender::default();
    let errors = c.collect(1_700_000_000_000, &mut app);
    assert!(errors.is_empty(), "{errors:?}");

    assert!(app.samples.iter().all(|s| s.1 == 1_700_000_000_000));
    assert_eq!(
        app.value(r#"node_cpu_seconds_total{cpu="1", mode="user"}"#),
        Some(2.0)
    );
    assert_eq!(app.value("node_load5"), Some(0.75));
    assert_eq!(app.value("node_memory_MemTotal_bytes"), Some(1024000.0));
    assert_eq!(app.value("node_memory_Active_anon_bytes"), Some(10240.0));
    assert_eq!(app.value("node_memory_HugePages_Total"), Some(2.0));
    assert_eq!(app.value("node_filefd_maximum"), Some(65536.0));
    let st = rustix::fs::statfs(rootfs.as_path()).unwrap();
    assert_eq!(
        app.value(
            r#"node_filesystem_size_bytes{device="/dev/vda", fstype="ext4", mountpoint="/"}"#
        ),
        Some(st.f_blocks as f64 * st.f_bsize as f64)
    );
    assert_eq!(
        app.value(r#"node_disk_read_bytes_total{device="vda"}"#),
        Some(80.0 * 512.0)
    );
    assert_eq!(
        app.value(r#"node_disk_reads_completed_total{device="vda1"}"#),
        None
    );
    assert_eq!(
        app.value(r#"node_network_transmit_drop_total{device="eth0"}"#),
        Some(4.0)
    );
    assert_eq!(app.value(r#"node_network_up{device="eth0"}"#), Some(1.0));
    assert_eq!(app.value(r#"node_network_up{device="lo"}"#), Some(0.0));
    assert_eq!(app.value("node_boot_time_seconds"), Some(1_700_000_000.0));
    assert_eq!(app.value("node_forks_total"), Some(321.0));
    assert_eq!(app.value("node_vmstat_pgfault"), Some(42.0));
    assert_eq!(app.value("node_netstat_Tcp_CurrEstab"), Some(7.0));
    assert_eq!(app.value("node_netstat_TcpExt_ListenDrops"), Some(3.0));
    assert_eq!(app.value("node_sockstat_sockets_used"), Some(9.0));
    assert_eq!(
        app.value(r#"node_softnet_processed_total{cpu="0"}"#),
        Some(10.0)
    );
    assert_eq!(app.value(r#"node_arp_entries{device="eth0"}"#), Some(1.0));
    assert_eq!(app.value("node_vmstat_nr_free_pages"), None);
    assert_eq!(
        app.value("node_pressure_cpu_waiting_seconds_total"),
        Some(2.0)
    );
    assert_eq!(
        app.value("node_pressure_io_stalled_seconds_total"),
        Some(0.5)
    );
    assert_eq!(app.value("node_entropy_available_bits"), Some(256.0));
    assert_eq!(
        app.value(r#"node_os_version{id="debian", name="Debian GNU/Linux"}"#),
        Some(12.0)
    );
    assert!(app.has_family("node_uname_info"));
    assert!(app.has_family("node_time_seconds"));
    assert!(app.metadata.contains_key("node_cpu_seconds_total"));
}

#[test]
fn a_missing_or_unreadable_file_costs_only_its_family() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_host(dir.path());
    let proc_ = config.proc_path.clone();
    let mut c = HostCollector::new(config).unwrap();

    std::fs::remove_file(proc_.join("meminfo")).unwrap();
    // A directory where a file should be: opening works, reading fails.
    std::fs::remove_file(proc_.join("diskstats")).unwrap();
    std::fs::create_dir(proc_.join("diskstats")).unwrap();
    std::fs::write(proc_.join("loadavg"), "garbage\n").unwrap();

    let mut app = MemAppender::default();
    let errors = c.collect(1, &mut app);
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 3, "{shown:?}");
    assert!(shown.iter().any(|e| e.contains("meminfo")), "{shown:?}");
    assert!(shown.iter().any(|e| e.contains("diskstats")), "{shown:?}");
    assert!(shown.iter().any(|e| e.contains("loadavg")), "{shown:?}");
    assert!(!app.has_family("node_memory_"));
    assert!(!app.has_family("node_disk_"));
    assert!(!app.has_family("node_load"));
    // Everything else is still there.
    for family in [
        "node_cpu_seconds_total",
        "node_filesystem_size_bytes",
        "node_network_receive_bytes_total",
        "node_network_up",
        "node_boot_time_seconds",
        "node_filefd_allocated",
        "node_vmstat_pgfault",
        "node_pressure_cpu_waiting_seconds_total",
        "node_entropy_available_bits",
        "node_os_info",
        "node_uname_info",
        "node_time_seconds",
    ] {
        assert!(app.has_family(family), "{family} missing");
    }

    // The file comes back: so does its family.
    std::fs::write(proc_.join("meminfo"), "MemTotal: 1 kB\n").unwrap();
    let mut app = MemAppender::default();
    let errors = c.collect(2, &mut app);
    assert_eq!(errors.len(), 2);
    assert_eq!(app.value("node_memory_MemTotal_bytes"), Some(1024.0));
}

//! The Linux host collector: node_exporter 1.5's default families under the
//! same names, labels and units, so that users' dashboards and alert rules
//! work unchanged on warden.
//!
//! Everything is read directly from `/proc` and `/sys` (and `statfs(2)`,
//! `uname(2)`, `adjtimex(2)`) rather than through the procfs or sysinfo
//! crates: each family parses one small file in a buffer reused across
//! collections, and label sets are built once per series, so a collection
//! costs about a millisecond of CPU, a tenth of node_exporter's (see
//! docs/collectors.md). Each family group lives in its own module; a source that
//! cannot be read costs only its own families and comes back as a
//! [`CollectError`].
//!
//! The roots are configurable for a DaemonSet that mounts the host's
//! `/proc`, `/sys` and `/` under `/host`: labels stay as the host sees them.

mod arp;
mod bonding;
mod conntrack;
mod cpu;
mod cpu_throttle;
mod cpufreq;
mod diskstats;
mod dmi;
mod edac;
mod entropy;
mod filefd;
mod filesystem;
mod hwmon;
mod loadavg;
mod mdadm;
mod meminfo;
mod netclass;
mod netdev;
mod netstat;
mod os;
mod pressure;
mod schedstat;
mod sockstat;
mod softnet;
mod stat;
mod statfs;
mod textfile;
mod thermal_zone;
mod time;
mod timex;
mod udp_queues;
mod uname;
pub(crate) mod util;
mod vmstat;

use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::Appender;

use crate::collector::{CollectError, Collector};
use util::{LabelCache, Sink, read_into};

/// node_exporter 1.5's `--collector.filesystem.mount-points-exclude` default.
pub const DEFAULT_MOUNT_POINTS_EXCLUDE: &str =
    "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
/// node_exporter 1.5's `--collector.filesystem.fs-types-exclude` default.
pub const DEFAULT_FS_TYPES_EXCLUDE: &str = "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$";
/// node_exporter 1.5's `--collector.diskstats.device-exclude` default
/// (partitions, RAM, loop and floppy devices).
pub const DEFAULT_DISKSTATS_DEVICE_EXCLUDE: &str =
    r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$";
/// node_exporter 1.5's `--collector.netdev.device-exclude` default.
pub const DEFAULT_NETDEV_DEVICE_EXCLUDE: &str = "^lo$";
/// node_exporter 1.5's `--collector.netstat.fields` default.
pub const DEFAULT_NETSTAT_FIELDS: &str = "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";
/// node_exporter 1.5's `--collector.vmstat.fields` default.
pub const DEFAULT_VMSTAT_FIELDS: &str = "^(oom_kill|pgpg|pswp|pg.*fault).*";

/// Where the host collector reads and what it leaves out.
///
/// The defaults are node_exporter 1.5's; the regexes are compiled once, here,
/// never per collection.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// procfs mount point (`--path.procfs`).
    pub proc_path: PathBuf,
    /// sysfs mount point (`--path.sysfs`).
    pub sys_path: PathBuf,
    /// The host's root filesystem (`--path.rootfs`): statfs and os-release
    /// are read under it, and it is stripped from mount-point labels.
    pub rootfs_path: PathBuf,
    /// udev's database (`--path.udev.data`), for `node_disk_info` labels.
    pub udev_data_path: PathBuf,
    /// Mount points left out of the filesystem families.
    pub mount_points_exclude: Regex,
    /// Filesystem types left out of the filesystem families.
    pub fs_types_exclude: Regex,
    /// Block devices left out of the disk families.
    pub diskstats_device_exclude: Regex,
    /// Network devices left out of the `/proc/net/dev` families.
    pub netdev_device_exclude: Regex,
    /// `/proc/vmstat` fields exposed as `node_vmstat_*`.
    pub vmstat_fields: Regex,
    /// `/proc/net/{netstat,snmp,snmp6}` fields (`Proto_Field`) exposed as
    /// `node_netstat_*`.
    pub netstat_fields: Regex,
    /// How long a mount's `statfs` may take before it counts as stuck
    /// (`--collector.filesystem.mount-timeout`).
    pub mount_timeout: std::time::Duration,
    /// The textfile collector's directory of `*.prom` files
    /// (`--collector.textfile.directory`); none by default, as upstream
    /// node_exporter (Debian's package sets `/var/lib/prometheus/node-exporter`).
    pub textfile_directory: Option<PathBuf>,
    /// node_exporter collector names (see [`COLLECTORS`]) to leave out, as
    /// `--no-collector.<name>` does; an unknown name is refused.
    pub disabled: Vec<String>,
}

/// The family groups, by node_exporter's collector names.
pub const COLLECTORS: [&str; 31] = [
    "arp",
    "bonding",
    "conntrack",
    "cpu",
    "cpufreq",
    "diskstats",
    "dmi",
    "edac",
    "entropy",
    "filefd",
    "filesystem",
    "hwmon",
    "loadavg",
    "mdadm",
    "meminfo",
    "netclass",
    "netdev",
    "netstat",
    "os",
    "pressure",
    "schedstat",
    "sockstat",
    "softnet",
    "stat",
    "textfile",
    "thermal_zone",
    "time",
    "timex",
    "udp_queues",
    "uname",
    "vmstat",
];

/// The bit of a collector name in a disabled mask (0 when unknown).
fn bit(name: &str) -> u32 {
    COLLECTORS
        .iter()
        .position(|c| *c == name)
        .map_or(0, |i| 1 << i)
}

impl Default for HostConfig {
    fn default() -> Self {
        // The patterns are constants checked by a unit test.
        let re = |p: &str| Regex::new(p).expect("constant pattern compiles");
        HostConfig {
            proc_path: PathBuf::from("/proc"),
            sys_path: PathBuf::from("/sys"),
            rootfs_path: PathBuf::from("/"),
            udev_data_path: PathBuf::from("/run/udev/data"),
            mount_points_exclude: re(DEFAULT_MOUNT_POINTS_EXCLUDE),
            fs_types_exclude: re(DEFAULT_FS_TYPES_EXCLUDE),
            diskstats_device_exclude: re(DEFAULT_DISKSTATS_DEVICE_EXCLUDE),
            netdev_device_exclude: re(DEFAULT_NETDEV_DEVICE_EXCLUDE),
            vmstat_fields: re(DEFAULT_VMSTAT_FIELDS),
            netstat_fields: re(DEFAULT_NETSTAT_FIELDS),
            mount_timeout: std::time::Duration::from_secs(5),
            textfile_directory: None,
            disabled: Vec::new(),
        }
    }
}

/// Why a host collector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A configured root is not a readable directory.
    #[error("{what} {path}: not a readable directory")]
    NotADirectory {
        /// Which root (`proc_path`, `sys_path`, `rootfs_path`).
        what: &'static str,
        /// The configured path.
        path: String,
    },
    /// A disabled collector name that is not one of [`COLLECTORS`].
    #[error("unknown host collector {0:?} (known: {known})", known = COLLECTORS.join(", "))]
    UnknownCollector(String),
}

/// Collects node_exporter's default Linux families.
pub struct HostCollector {
    /// Bits of [`COLLECTORS`] left out.
    disabled: u32,
    buf: Vec<u8>,
    cache: LabelCache,
    stat_path: PathBuf,
    loadavg_path: PathBuf,
    meminfo_path: PathBuf,
    file_nr_path: PathBuf,
    cpu: cpu::Cpu,
    meminfo: meminfo::Meminfo,
    filesystem: filesystem::Filesystem,
    diskstats: diskstats::Diskstats,
    netdev: netdev::Netdev,
    netclass: netclass::Netclass,
    netstat: netstat::Netstat,
    sockstat: sockstat::Sockstat,
    softnet: softnet::Softnet,
    arp: arp::Arp,
    hwmon: hwmon::Hwmon,
    thermal_zone: thermal_zone::ThermalZone,
    bonding: bonding::Bonding,
    edac: edac::Edac,
    schedstat: schedstat::Schedstat,
    mdadm: mdadm::Mdadm,
    cpufreq: cpufreq::Cpufreq,
    dmi: dmi::Dmi,
    cpu_throttle: cpu_throttle::CpuThrottle,
    udp_queues: udp_queues::UdpQueues,
    vmstat: vmstat::Vmstat,
    pressure: pressure::Pressure,
    entropy: entropy::Entropy,
    conntrack: conntrack::Conntrack,
    time: time::Time,
    os: os::Os,
    textfile: textfile::Textfile,
}

impl HostCollector {
    /// Builds a collector over the configured roots; they must be directories.
    pub fn new(config: HostConfig) -> Result<HostCollector, HostError> {
        for (what, path) in [
            ("proc_path", &config.proc_path),
            ("sys_path", &config.sys_path),
            ("rootfs_path", &config.rootfs_path),
        ] {
            if !path.is_dir() {
                return Err(HostError::NotADirectory {
                    what,
                    path: path.display().to_string(),
                });
            }
        }
        let mut disabled = 0;
        for name in &config.disabled {
            match bit(name) {
                0 => return Err(HostError::UnknownCollector(name.clone())),
                b => disabled |= b,
            }
        }
        let proc_ = config.proc_path.as_path();
        let ticks = rustix::param::clock_ticks_per_second();
        Ok(HostCollector {
            disabled,
            buf: Vec::with_capacity(16 * 1024),
            cache: LabelCache::default(),
            stat_path: proc_.join("stat"),
            loadavg_path: proc_.join("loadavg"),
            meminfo_path: proc_.join("meminfo"),
            file_nr_path: proc_.join("sys/fs/file-nr"),
            cpu: cpu::Cpu::new(ticks),
            meminfo: meminfo::Meminfo::default(),
            filesystem: filesystem::Filesystem::new(
                proc_,
                &config.rootfs_path,
                config.mount_points_exclude,
                config.fs_types_exclude,
                config.mount_timeout,
            ),
            diskstats: diskstats::Diskstats::new(
                proc_,
                &config.udev_data_path,
                config.diskstats_device_exclude,
            ),
            netdev: netdev::Netdev::new(proc_, config.netdev_device_exclude),
            netclass: netclass::Netclass::new(&config.sys_path),
            netstat: netstat::Netstat::new(proc_, config.netstat_fields),
            sockstat: sockstat::Sockstat::new(proc_, rustix::param::page_size()),
            softnet: softnet::Softnet::new(proc_),
            arp: arp::Arp::new(proc_),
            hwmon: hwmon::Hwmon::new(&config.sys_path),
            thermal_zone: thermal_zone::ThermalZone::new(&config.sys_path),
            bonding: bonding::Bonding::new(&config.sys_path),
            edac: edac::Edac::new(&config.sys_path),
            schedstat: schedstat::Schedstat::new(proc_),
            mdadm: mdadm::Mdadm::new(proc_),
            cpufreq: cpufreq::Cpufreq::new(&config.sys_path),
            dmi: dmi::Dmi::new(&config.sys_path),
            cpu_throttle: cpu_throttle::CpuThrottle::new(&config.sys_path),
            udp_queues: udp_queues::UdpQueues::new(proc_),
            vmstat: vmstat::Vmstat::new(proc_, config.vmstat_fields),
            pressure: pressure::Pressure::new(proc_),
            entropy: entropy::Entropy::new(proc_),
            conntrack: conntrack::Conntrack::new(proc_),
            time: time::Time::new(&config.sys_path),
            os: os::Os::new(&config.rootfs_path),
            textfile: textfile::Textfile::new(config.textfile_directory),
        })
    }
}

/// Reads `path` into `buf` and hands the content to `f`.
fn with_file(
    path: &Path,
    buf: &mut Vec<u8>,
    f: impl FnOnce(&[u8]) -> Result<(), CollectError>,
) -> Result<(), CollectError> {
    read_into(path, buf)?;
    f(buf)
}

impl Collector for HostCollector {
    fn name(&self) -> &str {
        "host"
    }

    fn collect(&mut self, now_ms: i64, app: &mut dyn Appender) -> Vec<CollectError> {
        let HostCollector {
            disabled,
            buf,
            cache,
            stat_path,
            loadavg_path,
            meminfo_path,
            file_nr_path,
            cpu,
            meminfo,
            filesystem,
            diskstats,
            netdev,
            netclass,
            netstat,
            sockstat,
            softnet,
            arp,
            hwmon,
            thermal_zone,
            bonding,
            edac,
            schedstat,
            mdadm,
            cpufreq,
            dmi,
            cpu_throttle,
            udp_queues,
            vmstat,
            pressure,
            entropy,
            conntrack,
            time,
            os,
            textfile,
        } = self;
        let mut errors = Vec::new();
        {
            let mut sink = Sink::new(app, now_ms, cache);
            let s = &mut sink;
            let disabled = *disabled;
            let on = |name: &str| disabled & bit(name) == 0;
            let (cpu_on, stat_on) = (on("cpu"), on("stat"));
            let results = [
                if cpu_on || stat_on {
                    with_file(stat_path, buf, |c| {
                        // Both groups parse the same read; a failure of one
                        // must not hide the other.
                        let a = if cpu_on {
                            cpu.collect(c, stat_path, s)
                        } else {
                            Ok(())
                        };
                        let b = if stat_on {
                            stat::collect(c, stat_path, s)
                        } else {
                            Ok(())
                        };
                        a.and(b)
                    })
                } else {
                    Ok(())
                },
                if on("loadavg") {
                    with_file(loadavg_path, buf, |c| loadavg::collect(c, loadavg_path, s))
                } else {
                    Ok(())
                },
                if on("meminfo") {
                    with_file(meminfo_path, buf, |c| meminfo.collect(c, meminfo_path, s))
                } else {
                    Ok(())
                },
                if on("filefd") {
                    with_file(file_nr_path, buf, |c| filefd::collect(c, file_nr_path, s))
                } else {
                    Ok(())
                },
                if on("filesystem") {
                    filesystem.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("diskstats") {
                    diskstats.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("netdev") {
                    netdev.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("netclass") {
                    netclass.collect(s)
                } else {
                    Ok(())
                },
                if on("netstat") {
                    netstat.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("sockstat") {
                    sockstat.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("softnet") {
                    softnet.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("arp") {
                    arp.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("hwmon") {
                    hwmon.collect(s)
                } else {
                    Ok(())
                },
                if on("thermal_zone") {
                    thermal_zone.collect(s)
                } else {
                    Ok(())
                },
                if on("bonding") {
                    bonding.collect(s)
                } else {
                    Ok(())
                },
                if on("edac") { edac.collect(s) } else { Ok(()) },
                if on("schedstat") {
                    schedstat.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("mdadm") {
                    mdadm.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("cpufreq") {
                    cpufreq.collect(s)
                } else {
                    Ok(())
                },
                if on("dmi") { dmi.collect(s) } else { Ok(()) },
                if cpu_on {
                    cpu_throttle.collect(s)
                } else {
                    Ok(())
                },
                if on("udp_queues") {
                    udp_queues.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("vmstat") {
                    vmstat.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("pressure") {
                    pressure.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("entropy") {
                    entropy.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("conntrack") {
                    conntrack.collect(buf, s)
                } else {
                    Ok(())
                },
                if on("time") {
                    time.collect(now_ms, buf, s)
                } else {
                    Ok(())
                },
                if on("timex") {
                    timex::collect(s)
                } else {
                    Ok(())
                },
                if on("textfile") {
                    textfile.collect(s)
                } else {
                    Ok(())
                },
                if on("os") { os.collect(buf, s) } else { Ok(()) },
                if on("uname") {
                    uname::collect(s);
                    Ok(())
                } else {
                    Ok(())
                },
            ];
            errors.extend(results.into_iter().filter_map(Result::err));
        }
        cache.sweep();
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_compile_and_match_like_node_exporter() {
        let c = HostConfig::default();
        assert!(c.mount_points_exclude.is_match("/run/user/0"));
        assert!(
            c.mount_points_exclude
                .is_match("/var/lib/docker/overlay2/x")
        );
        assert!(!c.mount_points_exclude.is_match("/var/lib/docker"));
        assert!(!c.mount_points_exclude.is_match("/home"));
        assert!(c.fs_types_exclude.is_match("cgroup2"));
        assert!(!c.fs_types_exclude.is_match("ext4"));
        assert!(c.diskstats_device_exclude.is_match("nvme0n1p1"));
        assert!(c.diskstats_device_exclude.is_match("sda1"));
        assert!(!c.diskstats_device_exclude.is_match("nvme0n1"));
        assert!(!c.diskstats_device_exclude.is_match("dm-0"));
        assert!(c.vmstat_fields.is_match("pgmajfault"));
        assert!(!c.vmstat_fields.is_match("nr_free_pages"));
    }

    #[test]
    fn disabled_collectors() {
        let config = HostConfig {
            disabled: vec!["netclass".into(), "nope".into()],
            ..HostConfig::default()
        };
        let err = HostCollector::new(config).err().unwrap();
        assert!(err.to_string().contains("\"nope\""), "{err}");
        let config = HostConfig {
            disabled: vec!["netclass".into(), "stat".into(), "uname".into()],
            ..HostConfig::default()
        };
        let mut c = HostCollector::new(config).unwrap();
        let mut app = util::testing::MemAppender::default();
        assert!(c.collect(0, &mut app).is_empty());
        assert!(!app.series_of("node_cpu_seconds_total").is_empty());
        assert!(app.series_of("node_boot_time_seconds").is_empty());
        assert!(app.series_of("node_network_up").is_empty());
        assert!(app.series_of("node_uname_info").is_empty());
        assert!(!app.series_of("node_load1").is_empty());
    }

    #[test]
    fn missing_root_is_refused() {
        let config = HostConfig {
            proc_path: PathBuf::from("/nonexistent/proc"),
            ..HostConfig::default()
        };
        let err = HostCollector::new(config).err().unwrap();
        assert!(err.to_string().contains("proc_path"), "{err}");
    }
}

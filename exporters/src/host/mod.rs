//! The Linux host collector: node_exporter 1.5's default families under the
//! same names, labels and units, so that users' dashboards and alert rules
//! work unchanged on warden.
//!
//! Everything is read directly from `/proc` and `/sys` (and `statfs(2)`,
//! `uname(2)`) rather than through the procfs or sysinfo crates: each family
//! parses one small file in a buffer reused across collections, and label
//! sets are built once per series, so a collection costs a few hundred
//! microseconds. Each family group lives in its own module; a source that
//! cannot be read costs only its own families and comes back as a
//! [`CollectError`].
//!
//! The roots are configurable for a DaemonSet that mounts the host's
//! `/proc`, `/sys` and `/` under `/host`: labels stay as the host sees them.

mod conntrack;
mod cpu;
mod diskstats;
mod entropy;
mod filefd;
mod filesystem;
mod loadavg;
mod meminfo;
mod netclass;
mod netdev;
mod os;
mod pressure;
mod stat;
mod statfs;
mod time;
mod timex;
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
    /// How long a mount's `statfs` may take before it counts as stuck
    /// (`--collector.filesystem.mount-timeout`).
    pub mount_timeout: std::time::Duration,
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
            mount_timeout: std::time::Duration::from_secs(5),
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
}

/// Collects node_exporter's default Linux families.
pub struct HostCollector {
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
    vmstat: vmstat::Vmstat,
    pressure: pressure::Pressure,
    entropy: entropy::Entropy,
    conntrack: conntrack::Conntrack,
    time: time::Time,
    os: os::Os,
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
        let proc_ = config.proc_path.as_path();
        let ticks = rustix::param::clock_ticks_per_second();
        Ok(HostCollector {
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
            vmstat: vmstat::Vmstat::new(proc_, config.vmstat_fields),
            pressure: pressure::Pressure::new(proc_),
            entropy: entropy::Entropy::new(proc_),
            conntrack: conntrack::Conntrack::new(proc_),
            time: time::Time::new(&config.sys_path),
            os: os::Os::new(&config.rootfs_path),
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
            vmstat,
            pressure,
            entropy,
            conntrack,
            time,
            os,
        } = self;
        let mut errors = Vec::new();
        {
            let mut sink = Sink::new(app, now_ms, cache);
            let s = &mut sink;
            let results = [
                with_file(stat_path, buf, |c| {
                    // Both groups parse the same read; a failure of one
                    // must not hide the other.
                    let a = cpu.collect(c, stat_path, s);
                    let b = stat::collect(c, stat_path, s);
                    a.and(b)
                }),
                with_file(loadavg_path, buf, |c| loadavg::collect(c, loadavg_path, s)),
                with_file(meminfo_path, buf, |c| meminfo.collect(c, meminfo_path, s)),
                with_file(file_nr_path, buf, |c| filefd::collect(c, file_nr_path, s)),
                filesystem.collect(buf, s),
                diskstats.collect(buf, s),
                netdev.collect(buf, s),
                netclass.collect(buf, s),
                vmstat.collect(buf, s),
                pressure.collect(buf, s),
                entropy.collect(buf, s),
                conntrack.collect(buf, s),
                time.collect(now_ms, buf, s),
                timex::collect(s),
                os.collect(buf, s),
                {
                    uname::collect(s);
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
    fn missing_root_is_refused() {
        let config = HostConfig {
            proc_path: PathBuf::from("/nonexistent/proc"),
            ..HostConfig::default()
        };
        let err = HostCollector::new(config).err().unwrap();
        assert!(err.to_string().contains("proc_path"), "{err}");
    }
}

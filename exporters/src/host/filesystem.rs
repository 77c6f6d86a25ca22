//! `node_filesystem_{size,free,avail}_bytes`, `node_filesystem_files`,
//! `node_filesystem_files_free`, `node_filesystem_readonly` and
//! `node_filesystem_device_error`, labelled `device`, `fstype`, `mountpoint`.
//!
//! As in node_exporter 1.5: the mount table is `<proc>/1/mounts` (the host's
//! view when `/proc` is the host's), falling back to `<proc>/mounts`; `\040`
//! and `\011` in mount points are unescaped; the rootfs prefix is stripped
//! from mount points so labels are what the host sees; excluded mount points
//! and fs types are skipped; sizes come from `statfs(2)` on
//! `<rootfs>/<mountpoint>` (blocks times `f_bsize`); `readonly` comes from
//! the `ro` mount option; a failing `statfs` yields only `device_error 1`.
//!
//! A mount whose `statfs` does not return within the mount timeout is a
//! device error and is skipped until the call returns (see `statfs.rs`).
//!
//! Deviation: series with the same three labels are written once (the
//! first mount wins; node_exporter fails the whole scrape with "collected
//! before" when two such mounts differ in options).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use warden_tsdb::MetricType;

use super::statfs::{self, Statfs, Stats};
use super::util::{Sink, fields, lines, parse_error, read_into};
use crate::collector::CollectError;

const SIZE: &str = "node_filesystem_size_bytes";
const FREE: &str = "node_filesystem_free_bytes";
const AVAIL: &str = "node_filesystem_avail_bytes";
const FILES: &str = "node_filesystem_files";
const FILES_FREE: &str = "node_filesystem_files_free";
const READONLY: &str = "node_filesystem_readonly";
const DEVICE_ERROR: &str = "node_filesystem_device_error";

/// The filesystem family group.
pub(crate) struct Filesystem {
    init_mounts: PathBuf,
    own_mounts: PathBuf,
    /// The rootfs path without a trailing slash; empty for `/`.
    rootfs: String,
    mount_points_exclude: Regex,
    fs_types_exclude: Regex,
    mountpoint: String,
    statfs: Statfs,
    /// Byte ranges of the selected lines of the mount table.
    selected: Vec<(usize, usize)>,
    stat_paths: Vec<String>,
    results: Vec<Option<Stats>>,
}

impl Filesystem {
    pub(crate) fn new(
        proc_path: &Path,
        rootfs: &Path,
        mount_points_exclude: Regex,
        fs_types_exclude: Regex,
        mount_timeout: Duration,
    ) -> Filesystem {
        let rootfs = rootfs.to_string_lossy().trim_end_matches('/').to_string();
        Filesystem {
            init_mounts: proc_path.join("1/mounts"),
            own_mounts: proc_path.join("mounts"),
            rootfs,
            mount_points_exclude,
            fs_types_exclude,
            mountpoint: String::new(),
            statfs: Statfs::new(statfs::statfs, mount_timeout),
            selected: Vec::new(),
            stat_paths: Vec::new(),
            results: Vec::new(),
        }
    }

    /// Reads the mount table into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let path = match read_into(&self.init_mounts, buf) {
            Ok(()) => &self.init_mounts,
            Err(CollectError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                read_into(&self.own_mounts, buf)?;
                &self.own_mounts
            }
            Err(e) => return Err(e),
        };
        // Check the table before writing anything, as node_exporter does.
        for line in lines(buf) {
            let n = fields(line).count();
            if n != 0 && n < 4 {
                return Err(parse_error(
                    path,
                    format!(
                        "malformed mount point information: {:?}",
                        String::from_utf8_lossy(line)
                    ),
                ));
            }
        }
        self.declare(sink);
        // First pass: the mounts to report, and where to statfs them.
        let mut seen: HashSet<(&[u8], &[u8], &[u8])> = HashSet::new();
        self.selected.clear();
        let mut offset = 0;
        for line in lines(buf) {
            let start = offset;
            offset += line.len() + 1;
            let mut f = fields(line);
            let (Some(device), Some(raw_mp), Some(fstype), Some(_)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            self.set_mountpoint(raw_mp);
            if self.mount_points_exclude.is_match(&self.mountpoint)
                || self
                    .fs_types_exclude
                    .is_match(&String::from_utf8_lossy(fstype))
            {
                continue;
            }
            if !seen.insert((device, raw_mp, fstype)) {
                continue;
            }
            let k = self.selected.len();
            self.selected.push((start, start + line.len()));
            if self.stat_paths.len() <= k {
                self.stat_paths.push(String::new());
            }
            let p = &mut self.stat_paths[k];
            p.clear();
            p.push_str(&self.rootfs);
            if self.rootfs.is_empty() || self.mountpoint != "/" {
                p.push_str(&self.mountpoint);
            }
        }
        let n = self.selected.len();
        self.statfs.run(&self.stat_paths[..n], &mut self.results);
        // Second pass: write them.
        for k in 0..n {
            let (a, b) = self.selected[k];
            let line = buf.get(a..b).unwrap_or(&[]);
            let mut f = fields(line);
            let (Some(device), Some(raw_mp), Some(fstype), Some(options)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            self.set_mountpoint(raw_mp);
            let device_s = String::from_utf8_lossy(device);
            let fstype_s = String::from_utf8_lossy(fstype);
            let labels = [
                ("device", device_s.as_ref()),
                ("fstype", fstype_s.as_ref()),
                ("mountpoint", self.mountpoint.as_str()),
            ];
            match self.results.get(k).copied().flatten() {
                Some(s) => {
                    sink.sample(DEVICE_ERROR, &labels, 0.0);
                    sink.sample(SIZE, &labels, s.size);
                    sink.sample(FREE, &labels, s.free);
                    sink.sample(AVAIL, &labels, s.avail);
                    sink.sample(FILES, &labels, s.files);
                    sink.sample(FILES_FREE, &labels, s.files_free);
                    let ro = options.split(|&b| b == b',').any(|o| o == b"ro");
                    sink.sample(READONLY, &labels, if ro { 1.0 } else { 0.0 });
                }
                None => sink.sample(DEVICE_ERROR, &labels, 1.0),
            }
        }
        Ok(())
    }

    fn declare(&self, sink: &mut Sink<'_>) {
        use MetricType::Gauge;
        sink.family(SIZE, Gauge, "Filesystem size in bytes.");
        sink.family(FREE, Gauge, "Filesystem free space in bytes.");
        sink.family(
            AVAIL,
            Gauge,
            "Filesystem space available to non-root users in bytes.",
        );
        sink.family(FILES, Gauge, "Filesystem total file nodes.");
        sink.family(FILES_FREE, Gauge, "Filesystem total free file nodes.");
        sink.family(READONLY, Gauge, "Filesystem read-only status.");
        sink.family(
            DEVICE_ERROR,
            Gauge,
            "Whether an error occurred while getting statistics for the given device.",
        );
    }

    /// Sets `self.mountpoint` to the unescaped, rootfs-relative mount point.
    fn set_mountpoint(&mut self, raw: &[u8]) {
        let lossy = String::from_utf8_lossy(raw);
        let unescaped: std::borrow::Cow<'_, str> = if lossy.contains('\\') {
            lossy.replace("\\040", " ").replace("\\011", "\t").into()
        } else {
            lossy
        };
        self.mountpoint.clear();
        if self.rootfs.is_empty() {
            self.mountpoint.push_str(&unescaped);
        } else {
            match unescaped.strip_prefix(&self.rootfs) {
                Some("") => self.mountpoint.push('/'),
                Some(rest) => self.mountpoint.push_str(rest),
                None => self.mountpoint.push_str(&unescaped),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    fn regexes() -> (Regex, Regex) {
        (
            Regex::new(crate::host::DEFAULT_MOUNT_POINTS_EXCLUDE).unwrap(),
            Regex::new(crate::host::DEFAULT_FS_TYPES_EXCLUDE).unwrap(),
        )
    }

    #[test]
    fn mounts_under_a_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        let proc_ = dir.path().join("proc");
        let root = dir.path().join("root");
        std::fs::create_dir_all(proc_.join("1")).unwrap();
        std::fs::create_dir_all(root.join("data dir")).unwrap();
        std::fs::write(
            proc_.join("1/mounts"),
            "/dev/vda / ext4 rw,relatime 0 0\n\
             /dev/vdb /data\\040dir xfs ro,noatime 0 0\n\
             /dev/vdb /data\\040dir xfs ro,noatime 0 0\n\
             proc /proc proc rw 0 0\n\
             tmpfs /run tmpfs rw 0 0\n\
             cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n\
             overlay /var/lib/x overlay rw 0 0\n\
             /dev/vdc /gone ext4 rw 0 0\n",
        )
        .unwrap();
        let (m, t) = regexes();
        let mut fs = Filesystem::new(&proc_, &root, m, t, Duration::from_secs(5));
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let mut buf = Vec::new();
        fs.collect(&mut buf, &mut sink).unwrap();

        let expect = rustix::fs::statfs(root.as_path()).unwrap();
        let size = expect.f_blocks as f64 * expect.f_bsize as f64;
        assert_eq!(
            app.value(
                r#"node_filesystem_size_bytes{device="/dev/vda", fstype="ext4", mountpoint="/"}"#
            ),
            Some(size)
        );
        assert_eq!(
            app.value(r#"node_filesystem_readonly{device="/dev/vdb", fstype="xfs", mountpoint="/data dir"}"#),
            Some(1.0)
        );
        assert_eq!(
            app.value(
                r#"node_filesystem_readonly{device="/dev/vda", fstype="ext4", mountpoint="/"}"#
            ),
            Some(0.0)
        );
        // The missing mount point is a device error and nothing else.
        assert_eq!(
            app.series_of(DEVICE_ERROR),
            vec![
                r#"node_filesystem_device_error{device="/dev/vda", fstype="ext4", mountpoint="/"}"#,
                r#"node_filesystem_device_error{device="/dev/vdb", fstype="xfs", mountpoint="/data dir"}"#,
                r#"node_filesystem_device_error{device="/dev/vdc", fstype="ext4", mountpoint="/gone"}"#,
            ]
        );
        assert_eq!(
            app.value(r#"node_filesystem_device_error{device="/dev/vdc", fstype="ext4", mountpoint="/gone"}"#),
            Some(1.0)
        );
        assert_eq!(app.series_of(SIZE).len(), 2);
        assert_eq!(app.series_of(READONLY).len(), 2);
    }

    #[test]
    fn falls_back_to_own_mounts_and_reports_malformed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mounts"), "/dev/vda /\n").unwrap();
        let (m, t) = regexes();
        let mut fs = Filesystem::new(dir.path(), Path::new("/"), m, t, Duration::from_secs(5));
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = fs.collect(&mut Vec::new(), &mut sink).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
        assert!(app.samples.is_empty());
    }
}

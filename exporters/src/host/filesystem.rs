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
//! Deviations: series with the same three labels are written once (the
//! first mount wins; node_exporter fails the whole scrape with "collected
//! before" when two such mounts differ in options), and `statfs` runs on
//! the collecting thread with no timeout (node_exporter gives up after 5 s
//! and marks the mount stuck).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::MetricType;

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
    stat_path: String,
}

/// One mount's statfs figures, as node_exporter computes them.
struct Stats {
    size: f64,
    free: f64,
    avail: f64,
    files: f64,
    files_free: f64,
}

impl Filesystem {
    pub(crate) fn new(
        proc_path: &Path,
        rootfs: &Path,
        mount_points_exclude: Regex,
        fs_types_exclude: Regex,
    ) -> Filesystem {
        let rootfs = rootfs.to_string_lossy().trim_end_matches('/').to_string();
        Filesystem {
            init_mounts: proc_path.join("1/mounts"),
            own_mounts: proc_path.join("mounts"),
            rootfs,
            mount_points_exclude,
            fs_types_exclude,
            mountpoint: String::new(),
            stat_path: String::new(),
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
        let mut seen: HashSet<(&[u8], &[u8], &[u8])> = HashSet::new();
        for line in lines(buf) {
            let mut f = fields(line);
            let (Some(device), Some(raw_mp), Some(fstype), Some(options)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            self.set_mountpoint(raw_mp);
            let fstype_s = String::from_utf8_lossy(fstype);
            if self.mount_points_exclude.is_match(&self.mountpoint)
                || self.fs_types_exclude.is_match(&fstype_s)
            {
                continue;
            }
            if !seen.insert((device, raw_mp, fstype)) {
                continue;
            }
            let stats = self.statfs();
            let device_s = String::from_utf8_lossy(device);
            let labels = [
                ("device", device_s.as_ref()),
                ("fstype", fstype_s.as_ref()),
                ("mountpoint", self.mountpoint.as_str()),
            ];
            match stats {
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

    /// `statfs` of the mount point under the rootfs; `None` when it fails.
    fn statfs(&mut self) -> Option<Stats> {
        self.stat_path.clear();
        self.stat_path.push_str(&self.rootfs);
        if self.rootfs.is_empty() || self.mountpoint != "/" {
            self.stat_path.push_str(&self.mountpoint);
        }
        let st = rustix::fs::statfs(self.stat_path.as_str()).ok()?;
        let bsize = st.f_bsize as f64;
        Some(Stats {
            size: st.f_blocks as f64 * bsize,
            free: st.f_bfree as f64 * bsize,
            avail: st.f_bavail as f64 * bsize,
            files: st.f_files as f64,
            files_free: st.f_ffree as f64,
        })
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
        let mut fs = Filesystem::new(&proc_, &root, m, t);
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
        let mut fs = Filesystem::new(dir.path(), Path::new("/"), m, t);
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = fs.collect(&mut Vec::new(), &mut sink).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");
        assert!(app.samples.is_empty());
    }
}

//! `node_disk_*{device}` from `/proc/diskstats` (read directly), with
//! node_exporter 1.5's names, units (sectors are 512 bytes, times are
//! milliseconds turned into seconds) and device exclusion; a kernel that
//! writes fewer columns gets fewer families, as there. `node_disk_info`
//! carries `major`/`minor` and, where udev has a record of the device, its
//! `path`, `wwn`, `model`, `serial` and `revision`.

use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_u64, read_into};
use crate::collector::CollectError;

const SECTOR_BYTES: f64 = 512.0;
const SECONDS_PER_TICK: f64 = 1.0 / 1000.0;

/// (metric, type, help, multiplier) per diskstats column after the name.
const COLUMNS: [(&str, MetricType, &str, f64); 17] = {
    use MetricType::{Counter as C, Gauge as G};
    [
        (
            "node_disk_reads_completed_total",
            C,
            "The total number of reads completed successfully.",
            1.0,
        ),
        (
            "node_disk_reads_merged_total",
            C,
            "The total number of reads merged.",
            1.0,
        ),
        (
            "node_disk_read_bytes_total",
            C,
            "The total number of bytes read successfully.",
            SECTOR_BYTES,
        ),
        (
            "node_disk_read_time_seconds_total",
            C,
            "The total number of seconds spent by all reads.",
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_writes_completed_total",
            C,
            "The total number of writes completed successfully.",
            1.0,
        ),
        (
            "node_disk_writes_merged_total",
            C,
            "The number of writes merged.",
            1.0,
        ),
        (
            "node_disk_written_bytes_total",
            C,
            "The total number of bytes written successfully.",
            SECTOR_BYTES,
        ),
        (
            "node_disk_write_time_seconds_total",
            C,
            "This is the total number of seconds spent by all writes.",
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_io_now",
            G,
            "The number of I/Os currently in progress.",
            1.0,
        ),
        (
            "node_disk_io_time_seconds_total",
            C,
            "Total seconds spent doing I/Os.",
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_io_time_weighted_seconds_total",
            C,
            "The weighted # of seconds spent doing I/Os.",
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_discards_completed_total",
            C,
            "The total number of discards completed successfully.",
            1.0,
        ),
        (
            "node_disk_discards_merged_total",
            C,
            "The total number of discards merged.",
            1.0,
        ),
        (
            "node_disk_discarded_sectors_total",
            C,
            "The total number of sectors discarded successfully.",
            1.0,
        ),
        (
            "node_disk_discard_time_seconds_total",
            C,
            "This is the total number of seconds spent by all discards.",
            SECONDS_PER_TICK,
        ),
        (
            "node_disk_flush_requests_total",
            C,
            "The total number of flush requests completed successfully",
            1.0,
        ),
        (
            "node_disk_flush_requests_time_seconds_total",
            C,
            "This is the total number of seconds spent by all flush requests.",
            SECONDS_PER_TICK,
        ),
    ]
};

const INFO: &str = "node_disk_info";

/// udev properties that become `node_disk_info` labels.
const UDEV_LABELS: [(&str, &str); 5] = [
    ("ID_PATH=", "path"),
    ("ID_WWN=", "wwn"),
    ("ID_MODEL=", "model"),
    ("ID_SERIAL_SHORT=", "serial"),
    ("ID_REVISION=", "revision"),
];

/// The diskstats family group.
pub(crate) struct Diskstats {
    path: PathBuf,
    udev_data: PathBuf,
    device_exclude: Regex,
    udev_buf: Vec<u8>,
    udev_path: PathBuf,
}

impl Diskstats {
    pub(crate) fn new(proc_path: &Path, udev_data: &Path, device_exclude: Regex) -> Diskstats {
        Diskstats {
            path: proc_path.join("diskstats"),
            udev_data: udev_data.to_path_buf(),
            device_exclude,
            udev_buf: Vec::new(),
            udev_path: PathBuf::new(),
        }
    }

    /// Reads `/proc/diskstats` into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        read_into(&self.path, buf)?;
        for line in lines(buf) {
            let n = fields(line).count();
            if n != 0 && n < 14 {
                return Err(parse_error(
                    &self.path,
                    format!("short diskstats line: {:?}", String::from_utf8_lossy(line)),
                ));
            }
        }
        sink.family(
            INFO,
            MetricType::Gauge,
            "Info of /sys/block/<block_device>.",
        );
        for (name, kind, help, _) in COLUMNS.iter() {
            sink.family(name, *kind, help);
        }
        for line in lines(buf) {
            let mut f = fields(line);
            let (Some(major), Some(minor), Some(dev)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let dev = String::from_utf8_lossy(dev);
            if self.device_exclude.is_match(&dev) {
                continue;
            }
            let major = String::from_utf8_lossy(major);
            let minor = String::from_utf8_lossy(minor);
            self.write_info(sink, &dev, &major, &minor);
            let labels = [("device", dev.as_ref())];
            for ((name, _, _, mult), raw) in COLUMNS.iter().zip(f) {
                let v = parse_u64(raw)
                    .ok_or_else(|| parse_error(&self.path, format!("bad value for {dev}")))?;
                sink.sample(name, &labels, v as f64 * mult);
            }
        }
        Ok(())
    }

    fn write_info(&mut self, sink: &mut Sink<'_>, dev: &str, major: &str, minor: &str) {
        self.udev_path.clear();
        self.udev_path.push(&self.udev_data);
        self.udev_path.push(format!("b{major}:{minor}"));
        let found = read_into(&self.udev_path, &mut self.udev_buf).is_ok();
        let mut values = [""; 5];
        let text = if found {
            std::str::from_utf8(&self.udev_buf).unwrap_or("")
        } else {
            ""
        };
        for line in text.lines() {
            let Some(prop) = line.strip_prefix("E:") else {
                continue;
            };
            for (i, (key, _)) in UDEV_LABELS.iter().enumerate() {
                if let Some(v) = prop.strip_prefix(key) {
                    values[i] = v;
                }
            }
        }
        let pairs = [
            ("device", dev),
            ("major", major),
            ("minor", minor),
            (UDEV_LABELS[0].1, values[0]),
            (UDEV_LABELS[1].1, values[1]),
            (UDEV_LABELS[2].1, values[2]),
            (UDEV_LABELS[3].1, values[3]),
            (UDEV_LABELS[4].1, values[4]),
        ];
        sink.sample(INFO, &pairs, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn devices_units_and_exclusion() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("diskstats"),
            "   7       0 loop0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
             254       0 vda 63574 8447 3795458 52016 29938 30144 3879528 29204 2 15436 82679 10295 79 1015288 1082 5858 376\n\
             254       1 vda1 1 1 1 1 1 1 1 1 1 1 1\n\
             8       0 sda 10 0 8 1500 0 0 0 0 0 7 9\n",
        )
        .unwrap();
        let udev = dir.path().join("udev");
        std::fs::create_dir(&udev).unwrap();
        std::fs::write(
            udev.join("b254:0"),
            "S:disk/by-path/x\nE:ID_PATH=pci-0000:00:05.0\nE:ID_SERIAL_SHORT=abc\n",
        )
        .unwrap();
        let exclude = Regex::new(crate::host::DEFAULT_DISKSTATS_DEVICE_EXCLUDE).unwrap();
        let mut d = Diskstats::new(dir.path(), &udev, exclude);
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        d.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_disk_reads_completed_total{device="vda"}"#),
            Some(63574.0)
        );
        assert_eq!(
            app.value(r#"node_disk_read_bytes_total{device="vda"}"#),
            Some(3795458.0 * 512.0)
        );
        assert_eq!(
            app.value(r#"node_disk_io_time_weighted_seconds_total{device="vda"}"#),
            Some(82679.0 * 0.001)
        );
        assert_eq!(app.value(r#"node_disk_io_now{device="vda"}"#), Some(2.0));
        assert_eq!(
            app.value(r#"node_disk_flush_requests_total{device="vda"}"#),
            Some(5858.0)
        );
        assert_eq!(
            app.value(r#"node_disk_discarded_sectors_total{device="vda"}"#),
            Some(1015288.0)
        );
        // An old-kernel line has no discard or flush columns.
        assert_eq!(
            app.value(r#"node_disk_io_time_seconds_total{device="sda"}"#),
            Some(0.007)
        );
        assert_eq!(
            app.value(r#"node_disk_discards_completed_total{device="sda"}"#),
            None
        );
        // Partitions and loop devices are excluded by the default regex.
        assert_eq!(app.series_of("node_disk_reads_completed_total").len(), 2);
        assert_eq!(
            app.series_of(INFO),
            vec![
                r#"node_disk_info{device="sda", major="8", minor="0"}"#,
                r#"node_disk_info{device="vda", major="254", minor="0", path="pci-0000:00:05.0", serial="abc"}"#,
            ]
        );
    }
}

//! node_exporter's netclass families from `/sys/class/net/<device>/` (read
//! directly): `node_network_up` (1 when `operstate` is `up`),
//! `node_network_info{address,broadcast,device,duplex,ifalias,operstate}`,
//! and one `node_network_<property>{device}` per numeric attribute the
//! device has (`mtu_bytes`, `speed_bytes`, `carrier`, `flags`, ...). As
//! there, every device is listed, the loopback included, an attribute the
//! kernel refuses to read (speed of a virtual device, carrier of a down
//! one) is left out, and `speed_bytes` is the Mb/s figure times 125000,
//! -125000 for an unknown speed.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use std::os::fd::OwnedFd;

use rustix::fs::{Mode, OFlags, openat};

use super::util::Sink;
use crate::collector::CollectError;

const UP: &str = "node_network_up";
const INFO: &str = "node_network_info";

/// How an attribute file is read.
#[derive(Clone, Copy)]
enum Kind {
    Decimal,
    /// `0x...` (flags, dev_id).
    Hex,
    /// Mb/s, written as bytes per second.
    Speed,
}

/// (attribute file, metric, type, parse)
const NUMERIC: [(&str, &str, MetricType, Kind); 17] = {
    use Kind::{Decimal as D, Hex as H, Speed as S};
    use MetricType::{Counter as C, Gauge as G};
    [
        ("addr_assign_type", "node_network_address_assign_type", G, D),
        ("carrier", "node_network_carrier", G, D),
        (
            "carrier_changes",
            "node_network_carrier_changes_total",
            C,
            D,
        ),
        (
            "carrier_up_count",
            "node_network_carrier_up_changes_total",
            C,
            D,
        ),
        (
            "carrier_down_count",
            "node_network_carrier_down_changes_total",
            C,
            D,
        ),
        ("dev_id", "node_network_device_id", G, H),
        ("dormant", "node_network_dormant", G, D),
        ("flags", "node_network_flags", G, H),
        ("ifindex", "node_network_iface_id", G, D),
        ("iflink", "node_network_iface_link", G, D),
        ("link_mode", "node_network_iface_link_mode", G, D),
        ("mtu", "node_network_mtu_bytes", G, D),
        ("name_assign_type", "node_network_name_assign_type", G, D),
        ("netdev_group", "node_network_net_dev_group", G, D),
        ("speed", "node_network_speed_bytes", G, S),
        ("tx_queue_len", "node_network_transmit_queue_length", G, D),
        ("type", "node_network_protocol_type", G, D),
    ]
};

/// The text attributes of `node_network_info`, in label order.
const INFO_ATTRS: [(&str, &str); 5] = [
    ("address", "address"),
    ("broadcast", "broadcast"),
    ("duplex", "duplex"),
    ("ifalias", "ifalias"),
    ("operstate", "operstate"),
];

/// The netclass family group.
pub(crate) struct Netclass {
    dir: PathBuf,
    file: PathBuf,
    info: [String; 5],
    page: Box<[u8; 4096]>,
}

impl Netclass {
    pub(crate) fn new(sys_path: &Path) -> Netclass {
        Netclass {
            dir: sys_path.join("class/net"),
            file: PathBuf::new(),
            info: Default::default(),
            page: Box::new([0; 4096]),
        }
    }

    /// Reads attribute `attr` of the device directory `dir` into `page`
    /// and returns its content; `None` when it cannot be read. Opening
    /// relative to the device's directory spares the path walk through the
    /// `class/net` symlink for each of its twenty-odd attributes.
    fn read_attr<'p>(dir: &OwnedFd, attr: &str, page: &'p mut [u8; 4096]) -> Option<&'p [u8]> {
        let fd = openat(dir, attr, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
        // A sysfs attribute is at most a page and comes in one read.
        let n = rustix::io::read(&fd, &mut page[..]).ok()?;
        page.get(..n).map(<[u8]>::trim_ascii)
    }

    /// Lists the devices and writes their families; a device whose
    /// `operstate` cannot be read is left out and reported.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let dir_shown = self.dir.display().to_string();
        let io = |source| CollectError::Io {
            path: dir_shown.clone(),
            source,
        };
        let entries = std::fs::read_dir(&self.dir).map_err(io)?;
        sink.family(
            UP,
            MetricType::Gauge,
            "Value is 1 if operstate is 'up', 0 otherwise.",
        );
        sink.family(
            INFO,
            MetricType::Gauge,
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
        );
        for (_, name, kind, _) in NUMERIC.iter() {
            let prop = name.trim_start_matches("node_network_");
            sink.family(name, *kind, &format!("Network device property: {prop}"));
        }
        let mut first_error = None;
        for entry in entries {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(dev) = name.to_str() else { continue };
            self.file.clear();
            self.file.push(&self.dir);
            self.file.push(dev);
            let dir = rustix::fs::open(
                &self.file,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
            let Ok(dir) = dir else { continue };
            let Some(state) = Self::read_attr(&dir, "operstate", &mut self.page) else {
                self.file.push("operstate");
                first_error.get_or_insert(CollectError::Io {
                    path: self.file.display().to_string(),
                    source: std::io::Error::other("unreadable operstate"),
                });
                continue;
            };
            let up = state == b"up";
            sink.sample(UP, &[("device", dev)], if up { 1.0 } else { 0.0 });
            for (i, (attr, _)) in INFO_ATTRS.iter().enumerate() {
                let content = Self::read_attr(&dir, attr, &mut self.page);
                let v = &mut self.info[i];
                v.clear();
                if let Some(c) = content {
                    v.push_str(String::from_utf8_lossy(c).as_ref());
                }
            }
            sink.sample(
                INFO,
                &[
                    ("address", &self.info[0]),
                    ("broadcast", &self.info[1]),
                    ("device", dev),
                    ("duplex", &self.info[2]),
                    ("ifalias", &self.info[3]),
                    ("operstate", &self.info[4]),
                ],
                1.0,
            );
            for (attr, metric, _, kind) in NUMERIC.iter() {
                let Some(content) = Self::read_attr(&dir, attr, &mut self.page) else {
                    continue;
                };
                if let Some(v) = parse_attr(content, *kind) {
                    sink.sample(metric, &[("device", dev)], v);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// An attribute's value as node_exporter computes it.
fn parse_attr(raw: &[u8], kind: Kind) -> Option<f64> {
    let s = std::str::from_utf8(raw).ok()?;
    match kind {
        Kind::Decimal => s.parse::<i64>().ok().map(|v| v as f64),
        Kind::Hex => {
            let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
            i64::from_str_radix(digits, 16).ok().map(|v| v as f64)
        }
        // Integer arithmetic, as there: -1 (unknown) gives -125000.
        Kind::Speed => s
            .parse::<i64>()
            .ok()
            .and_then(|v| v.checked_mul(1_000_000))
            .map(|v| (v / 8) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn attributes_info_and_operstate() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("class/net");
        let w = |dev: &str, attr: &str, v: &str| {
            std::fs::create_dir_all(net.join(dev)).unwrap();
            std::fs::write(net.join(dev).join(attr), v).unwrap();
        };
        w("eth0", "operstate", "up\n");
        w("eth0", "address", "02:fc:00:00:00:01\n");
        w("eth0", "duplex", "full\n");
        w("eth0", "mtu", "1400\n");
        w("eth0", "speed", "-1\n");
        w("eth0", "flags", "0x1003\n");
        w("eth0", "carrier_changes", "2\n");
        w("lo", "operstate", "unknown\n");
        w("lo", "speed", "garbage\n");
        w("lo", "mtu", "65536\n");
        w("bond0", "operstate", "down\n");
        w("bond0", "speed", "1000\n");
        std::fs::create_dir_all(net.join("broken")).unwrap();
        let mut n = Netclass::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = n.collect(&mut sink).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        assert_eq!(app.value(r#"node_network_up{device="eth0"}"#), Some(1.0));
        assert_eq!(app.value(r#"node_network_up{device="lo"}"#), Some(0.0));
        assert_eq!(app.value(r#"node_network_up{device="bond0"}"#), Some(0.0));
        assert_eq!(
            app.value(r#"node_network_mtu_bytes{device="eth0"}"#),
            Some(1400.0)
        );
        assert_eq!(
            app.value(r#"node_network_speed_bytes{device="eth0"}"#),
            Some(-125000.0)
        );
        assert_eq!(
            app.value(r#"node_network_speed_bytes{device="bond0"}"#),
            Some(125000000.0)
        );
        assert_eq!(app.value(r#"node_network_speed_bytes{device="lo"}"#), None);
        assert_eq!(
            app.value(r#"node_network_flags{device="eth0"}"#),
            Some(4099.0)
        );
        assert_eq!(
            app.value(r#"node_network_carrier_changes_total{device="eth0"}"#),
            Some(2.0)
        );
        assert_eq!(app.value(r#"node_network_carrier{device="eth0"}"#), None);
        assert_eq!(
            app.series_of(INFO)[0],
            r#"node_network_info{address="02:fc:00:00:00:01", device="eth0", duplex="full", operstate="up"}"#
        );
        assert_eq!(
            app.metadata["node_network_carrier_changes_total"].kind,
            MetricType::Counter
        );
    }
}

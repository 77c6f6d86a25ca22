//! `node_dmi_info{bios_date,...,system_vendor}` from `/sys/class/dmi/id/`
//! (read directly), as node_exporter 1.5 writes it: one label per DMI file
//! that could be read (serial numbers need root), whitespace trimmed, read
//! once since they do not change until a reboot. No DMI (most VMs, ARM
//! boards) is no family and no error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::Sink;
use crate::collector::CollectError;

/// (file in /sys/class/dmi/id, label)
const FILES: [(&str, &str); 20] = [
    ("bios_date", "bios_date"),
    ("bios_release", "bios_release"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("product_family", "product_family"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_sku", "product_sku"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("sys_vendor", "system_vendor"),
];

/// The dmi family group.
pub(crate) struct Dmi {
    dir: PathBuf,
    /// The labels, once read; `Some(empty)` when there is no DMI.
    values: Option<Vec<(&'static str, String)>>,
}

impl Dmi {
    pub(crate) fn new(sys_path: &Path) -> Dmi {
        Dmi {
            dir: sys_path.join("class/dmi/id"),
            values: None,
        }
    }

    /// Writes `node_dmi_info`, reading the files on first use.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let dir = &self.dir;
        let values = self.values.get_or_insert_with(|| {
            if !dir.is_dir() {
                return Vec::new();
            }
            FILES
                .iter()
                .filter_map(|(file, label)| {
                    let raw = std::fs::read(dir.join(file)).ok()?;
                    let text = String::from_utf8_lossy(&raw);
                    Some((*label, text.trim().to_string()))
                })
                .collect()
        });
        if values.is_empty() {
            return Ok(());
        }
        let pairs: Vec<(&str, &str)> = values.iter().map(|(l, v)| (*l, v.as_str())).collect();
        sink.family(
            "node_dmi_info",
            MetricType::Gauge,
            "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, product_sku, product_uuid, product_version, system_vendor if provided by DMI.",
        );
        sink.sample("node_dmi_info", &pairs, 1.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn labels_from_readable_files() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("class/dmi/id");
        std::fs::create_dir_all(&id).unwrap();
        std::fs::write(id.join("sys_vendor"), "QEMU\n").unwrap();
        std::fs::write(id.join("product_name"), "Standard PC (Q35 + ICH9, 2009)\n").unwrap();
        let mut d = Dmi::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        d.collect(&mut sink).unwrap();
        assert_eq!(
            app.series_of("node_dmi_info"),
            vec![
                r#"node_dmi_info{product_name="Standard PC (Q35 + ICH9, 2009)", system_vendor="QEMU"}"#
            ]
        );
    }
}

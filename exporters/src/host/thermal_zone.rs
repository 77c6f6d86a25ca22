//! node_exporter 1.5's thermal_zone families from `/sys/class/thermal/`
//! (read directly): `node_thermal_zone_temp{type,zone}` (millidegrees to
//! degrees) for each `thermal_zone<N>`, and
//! `node_cooling_device_{cur,max}_state{name,type}` for each
//! `cooling_device<N>`. A machine without thermal zones (a VM) yields no
//! family and no error; a zone or device whose files cannot be read is
//! left out.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::Sink;
use crate::collector::CollectError;

/// The thermal_zone family group.
pub(crate) struct ThermalZone {
    dir: PathBuf,
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl ThermalZone {
    pub(crate) fn new(sys_path: &Path) -> ThermalZone {
        ThermalZone {
            dir: sys_path.join("class/thermal"),
        }
    }

    /// Reads the zones and cooling devices and writes their families.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(CollectError::Io {
                    path: self.dir.display().to_string(),
                    source,
                });
            }
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in &names {
            let dir = self.dir.join(name);
            if let Some(zone) = name.strip_prefix("thermal_zone") {
                let (Some(kind), Some(temp)) = (
                    read_trimmed(&dir.join("type")),
                    read_trimmed(&dir.join("temp")).and_then(|t| t.parse::<i64>().ok()),
                ) else {
                    continue;
                };
                // node_exporter's procfs also insists on a readable policy.
                if read_trimmed(&dir.join("policy")).is_none() {
                    continue;
                }
                sink.family(
                    "node_thermal_zone_temp",
                    MetricType::Gauge,
                    "Zone temperature in Celsius",
                );
                sink.sample(
                    "node_thermal_zone_temp",
                    &[("type", &kind), ("zone", zone)],
                    temp as f64 / 1000.0,
                );
            } else if let Some(device) = name.strip_prefix("cooling_device") {
                let (Some(kind), Some(max), Some(cur)) = (
                    read_trimmed(&dir.join("type")),
                    read_trimmed(&dir.join("max_state")).and_then(|t| t.parse::<i64>().ok()),
                    read_trimmed(&dir.join("cur_state")).and_then(|t| t.parse::<i64>().ok()),
                ) else {
                    continue;
                };
                let labels = [("name", device), ("type", kind.as_str())];
                sink.family(
                    "node_cooling_device_cur_state",
                    MetricType::Gauge,
                    "Current throttle state of the cooling device",
                );
                sink.sample("node_cooling_device_cur_state", &labels, cur as f64);
                sink.family(
                    "node_cooling_device_max_state",
                    MetricType::Gauge,
                    "Maximum throttle state of the cooling device",
                );
                sink.sample("node_cooling_device_max_state", &labels, max as f64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn zones_and_cooling_devices() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("class/thermal");
        let w = |rel: &str, v: &str| {
            std::fs::create_dir_all(t.join(rel).parent().unwrap()).unwrap();
            std::fs::write(t.join(rel), v).unwrap();
        };
        w("thermal_zone0/type", "x86_pkg_temp\n");
        w("thermal_zone0/temp", "47000\n");
        w("thermal_zone0/policy", "step_wise\n");
        w("thermal_zone1/type", "broken\n");
        w("cooling_device0/type", "Processor\n");
        w("cooling_device0/max_state", "3\n");
        w("cooling_device0/cur_state", "1\n");
        let mut z = ThermalZone::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        z.collect(&mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_thermal_zone_temp{type="x86_pkg_temp", zone="0"}"#),
            Some(47.0)
        );
        assert_eq!(app.series_of("node_thermal_zone_temp").len(), 1);
        assert_eq!(
            app.value(r#"node_cooling_device_max_state{name="0", type="Processor"}"#),
            Some(3.0)
        );
    }
}

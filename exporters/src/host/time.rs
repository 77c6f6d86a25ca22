//! `node_time_seconds` (the system clock when collected) and the clock
//! source families `node_time_clocksource_available_info{clocksource,device}`
//! and `node_time_clocksource_current_info{clocksource,device}` from
//! `/sys/devices/system/clocksource/clocksource<N>/` (read directly).
//!
//! Deviation: `node_time_zone_offset_seconds{time_zone}` is not produced.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, read_into};
use crate::collector::CollectError;

const AVAILABLE: &str = "node_time_clocksource_available_info";
const CURRENT: &str = "node_time_clocksource_current_info";

/// The time family group.
pub(crate) struct Time {
    clocksource_dir: PathBuf,
    file: PathBuf,
}

impl Time {
    pub(crate) fn new(sys_path: &Path) -> Time {
        Time {
            clocksource_dir: sys_path.join("devices/system/clocksource"),
            file: PathBuf::new(),
        }
    }

    /// Writes the clock and the clock sources; `now_ms` is used only if the
    /// system clock is before the epoch.
    pub(crate) fn collect(
        &mut self,
        now_ms: i64,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(now_ms as f64 / 1000.0);
        sink.single(
            "node_time_seconds",
            MetricType::Gauge,
            "System time in seconds since epoch (1970).",
            now,
        );

        let io = |source| CollectError::Io {
            path: self.clocksource_dir.display().to_string(),
            source,
        };
        let entries = match std::fs::read_dir(&self.clocksource_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        sink.family(
            AVAILABLE,
            MetricType::Gauge,
            "Available clocksources read from '/sys/devices/system/clocksource'.",
        );
        sink.family(
            CURRENT,
            MetricType::Gauge,
            "Current clocksource read from '/sys/devices/system/clocksource'.",
        );
        for entry in entries {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(device) = name.to_str().and_then(|n| n.strip_prefix("clocksource")) else {
                continue;
            };
            if device.is_empty() || !device.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            for (file, metric) in [
                ("available_clocksource", AVAILABLE),
                ("current_clocksource", CURRENT),
            ] {
                self.file.clear();
                self.file.push(entry.path());
                self.file.push(file);
                read_into(&self.file, buf)?;
                for source in fields(buf) {
                    let source = String::from_utf8_lossy(source);
                    sink.sample(metric, &[("clocksource", &source), ("device", device)], 1.0);
                }
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
    fn clock_and_sources() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("devices/system/clocksource/clocksource0");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("available_clocksource"), "kvm-clock tsc acpi_pm \n").unwrap();
        std::fs::write(d.join("current_clocksource"), "tsc\n").unwrap();
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        Time::new(dir.path())
            .collect(0, &mut Vec::new(), &mut sink)
            .unwrap();
        assert!(app.value("node_time_seconds").unwrap() > 1.7e9);
        assert_eq!(app.series_of(AVAILABLE).len(), 3);
        assert_eq!(
            app.series_of(CURRENT),
            vec![r#"node_time_clocksource_current_info{clocksource="tsc", device="0"}"#]
        );
    }
}

//! node_exporter 1.5's hwmon families from `/sys/class/hwmon/hwmon*/` (and
//! each one's `device/`), read directly: `node_hwmon_temp_celsius`,
//! `node_hwmon_temp_crit_alarm_celsius`, `node_hwmon_fan_rpm`,
//! `node_hwmon_in_volts`, `node_hwmon_power_*_watt`, ... labelled `chip` and
//! `sensor`, plus `node_hwmon_chip_names{chip,chip_name}` and
//! `node_hwmon_sensor_label{chip,sensor,label}`.
//!
//! The naming follows node_exporter exactly: a sensor file
//! `<type><n>_<property>` of a known type becomes
//! `node_hwmon_<type>[_<property>]<unit>`, with the unit and scaling of its
//! type (millidegrees to degrees, millivolts to volts, microwatts to watts,
//! ...), and `chip` is derived from the device's sysfs path
//! (`platform_coretemp_0`), else the `name` file, else `hwmonN`. A machine
//! without hwmon (a VM) yields no family and no error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::Sink;
use crate::collector::CollectError;

/// The sensor types node_exporter reads.
const SENSOR_TYPES: [&str; 13] = [
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
];

/// Sensor -> property -> raw value.
type SensorData = BTreeMap<String, BTreeMap<String, String>>;

/// The hwmon family group.
pub(crate) struct Hwmon {
    dir: PathBuf,
}

impl Hwmon {
    pub(crate) fn new(sys_path: &Path) -> Hwmon {
        Hwmon {
            dir: sys_path.join("class/hwmon"),
        }
    }

    /// Reads every hwmon device and writes its families.
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
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let mut first_error = None;
        for dir in dirs {
            if let Err(e) = update(&dir, sink) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Lower case, anything outside `[a-z0-9:_]` made `_`, `_` trimmed.
fn clean(name: &str) -> String {
    let replaced: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    replaced.trim_matches('_').to_string()
}

/// Splits `<type><n>_<property>`: the type is everything up to the first
/// digit, the number defaults to 0, the property may be empty.
fn explode(filename: &str) -> Option<(&str, u32, &str)> {
    let type_end = filename
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(filename.len());
    if type_end == 0 {
        return None;
    }
    let (kind, rest) = filename.split_at(type_end);
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, rest) = rest.split_at(digits_end);
    let property = match rest {
        "" => "",
        r => r.strip_prefix('_').filter(|p| !p.is_empty())?,
    };
    // A type may itself end in "_x" only when no number follows
    // (`beep_enable`, `update_interval`).
    let (kind, property) = if digits.is_empty() && !property.is_empty() {
        (filename, "")
    } else {
        (kind, property)
    };
    let num = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    Some((kind, num, property))
}

/// Reads the sensor files of `dir` into `data`.
fn sensor_files(dir: &Path, data: &mut SensorData) -> Result<(), CollectError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CollectError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((kind, num, property)) = explode(name) else {
            continue;
        };
        if !SENSOR_TYPES.contains(&kind) {
            continue;
        }
        // An attribute that cannot be read (a directory, a refused read)
        // is left out.
        let Ok(raw) = std::fs::read(entry.path()) else {
            continue;
        };
        let raw = &raw[..raw.len().min(128)];
        let value = String::from_utf8_lossy(raw).trim_matches('\n').to_string();
        data.entry(format!("{kind}{num}"))
            .or_default()
            .insert(property.to_string(), value);
    }
    Ok(())
}

/// The `chip` label of a hwmon directory.
fn chip_name(dir: &Path) -> Option<String> {
    if let Ok(device) = std::fs::canonicalize(dir.join("device")) {
        let dev_name = device
            .file_name()
            .map(|n| clean(&n.to_string_lossy()))
            .unwrap_or_default();
        let dev_type = device
            .parent()
            .and_then(Path::file_name)
            .map(|n| clean(&n.to_string_lossy()))
            .unwrap_or_default();
        if !dev_type.is_empty() && !dev_name.is_empty() {
            return Some(format!("{dev_type}_{dev_name}"));
        }
        if !dev_name.is_empty() {
            return Some(dev_name);
        }
    }
    if let Some(name) = human_name(dir) {
        return Some(name);
    }
    let real = std::fs::canonicalize(dir).ok()?;
    let name = clean(&real.file_name()?.to_string_lossy());
    (!name.is_empty()).then_some(name)
}

/// The cleaned content of the `name` file.
fn human_name(dir: &Path) -> Option<String> {
    let raw = std::fs::read_to_string(dir.join("name")).ok()?;
    let name = clean(&raw);
    (!name.is_empty()).then_some(name)
}

fn update(dir: &Path, sink: &mut Sink<'_>) -> Result<(), CollectError> {
    let chip = chip_name(dir).ok_or_else(|| {
        CollectError::Other(format!(
            "could not derive a monitoring name for {}",
            dir.display()
        ))
    })?;
    let mut data = SensorData::new();
    sensor_files(dir, &mut data)?;
    let device = dir.join("device");
    if device.exists() {
        sensor_files(&device, &mut data)?;
    }
    use MetricType::{Counter, Gauge};
    if let Some(human) = human_name(dir) {
        sink.family(
            "node_hwmon_chip_names",
            Gauge,
            "Annotation metric for human-readable chip names",
        );
        sink.sample(
            "node_hwmon_chip_names",
            &[("chip", &chip), ("chip_name", &human)],
            1.0,
        );
    }
    let mut name = String::new();
    for (sensor, props) in &data {
        let Some((kind, _, _)) = explode(sensor) else {
            continue;
        };
        let labels = [("chip", chip.as_str()), ("sensor", sensor.as_str())];
        if let Some(label) = props.get("label") {
            // The label text as the driver wrote it (newlines trimmed).
            sink.family(
                "node_hwmon_sensor_label",
                Gauge,
                "Label for given chip and sensor",
            );
            sink.sample(
                "node_hwmon_sensor_label",
                &[("chip", &chip), ("label", label), ("sensor", sensor)],
                1.0,
            );
        }
        let bare = props.get("").map(String::as_str);
        match kind {
            "beep_enable" => {
                let v = if bare == Some("1") { 1.0 } else { 0.0 };
                sink.family("node_hwmon_beep_enabled", Gauge, "Hardware beep enabled");
                sink.sample("node_hwmon_beep_enabled", &labels, v);
                continue;
            }
            "vrm" => {
                if let Some(v) = bare.and_then(|b| b.parse::<f64>().ok()) {
                    sink.family(
                        "node_hwmon_voltage_regulator_version",
                        Gauge,
                        "Hardware voltage regulator",
                    );
                    sink.sample("node_hwmon_voltage_regulator_version", &labels, v);
                }
                continue;
            }
            "update_interval" => {
                if let Some(v) = bare.and_then(|b| b.parse::<f64>().ok()) {
                    sink.family(
                        "node_hwmon_update_interval_seconds",
                        Gauge,
                        "Hardware monitor update interval",
                    );
                    sink.sample("node_hwmon_update_interval_seconds", &labels, v * 0.001);
                }
                continue;
            }
            _ => {}
        }
        for (element, value) in props {
            if element == "label" {
                continue;
            }
            name.clear();
            name.push_str("node_hwmon_");
            name.push_str(kind);
            if element == "input" {
                // The input is the value itself, unless a bare file holds it.
                if bare.is_some() {
                    name.push_str("_input");
                }
            } else if !element.is_empty() {
                name.push('_');
                name.push_str(&clean(element));
            }
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            let el = element.as_str();
            let (suffix, kind_of, help, scaled) = match (kind, el) {
                (_, "fault" | "alarm") => (
                    "",
                    Gauge,
                    format!("Hardware sensor {el} status ({kind})"),
                    v,
                ),
                (_, "beep") => (
                    "_enabled",
                    Gauge,
                    "Hardware monitor sensor has beeping enabled".to_string(),
                    v,
                ),
                ("in" | "cpu", _) => (
                    "_volts",
                    Gauge,
                    format!("Hardware monitor for voltage ({el})"),
                    v * 0.001,
                ),
                ("temp", e) if e != "type" => {
                    let shown = if e.is_empty() { "input" } else { e };
                    (
                        "_celsius",
                        Gauge,
                        format!("Hardware monitor for temperature ({shown})"),
                        v * 0.001,
                    )
                }
                ("curr", _) => (
                    "_amps",
                    Gauge,
                    format!("Hardware monitor for current ({el})"),
                    v * 0.001,
                ),
                ("energy", _) => (
                    "_joule_total",
                    Counter,
                    format!("Hardware monitor for joules used so far ({el})"),
                    v / 1_000_000.0,
                ),
                ("power", "accuracy") => (
                    "",
                    Gauge,
                    "Hardware monitor power meter accuracy, as a ratio".to_string(),
                    v / 1_000_000.0,
                ),
                ("power", "average_interval" | "average_interval_min" | "average_interval_max") => {
                    (
                        "_seconds",
                        Gauge,
                        format!("Hardware monitor power usage update interval ({el})"),
                        v * 0.001,
                    )
                }
                ("power", _) => (
                    "_watt",
                    Gauge,
                    format!("Hardware monitor for power usage in watts ({el})"),
                    v / 1_000_000.0,
                ),
                ("humidity", _) => (
                    "",
                    Gauge,
                    format!("Hardware monitor for humidity ({el})"),
                    v / 1_000_000.0,
                ),
                ("fan", "input" | "min" | "max" | "target") => (
                    "_rpm",
                    Gauge,
                    format!("Hardware monitor for fan revolutions per minute ({el})"),
                    v,
                ),
                _ => (
                    "",
                    Gauge,
                    format!("Hardware monitor {kind} element {el}"),
                    v,
                ),
            };
            name.push_str(suffix);
            sink.family(&name, kind_of, &help);
            sink.sample(&name, &labels, scaled);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(explode("temp1_input"), Some(("temp", 1, "input")));
        assert_eq!(explode("temp1_crit_alarm"), Some(("temp", 1, "crit_alarm")));
        assert_eq!(explode("pwm2"), Some(("pwm", 2, "")));
        assert_eq!(explode("update_interval"), Some(("update_interval", 0, "")));
        assert_eq!(explode("beep_enable"), Some(("beep_enable", 0, "")));
        assert_eq!(explode("in0_input"), Some(("in", 0, "input")));
        assert_eq!(explode("name"), Some(("name", 0, "")));
        assert_eq!(explode("1abc"), None);
        assert_eq!(clean("Core 0\n"), "core_0");
        assert_eq!(clean("coretemp.0"), "coretemp_0");
    }
}

//! `node_cpu_core_throttles_total{core,package}` and
//! `node_cpu_package_throttles_total{package}` from
//! `/sys/devices/system/cpu/cpu<N>/thermal_throttle/` and `topology/` (read
//! directly), part of node_exporter 1.5's cpu collector: each core's and
//! each package's count is read once, from the first CPU thread that
//! belongs to it. CPUs without topology or throttle files (VMs) add nothing.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, parse_u64};
use crate::collector::CollectError;

/// The cpu collector's throttle families.
pub(crate) struct CpuThrottle {
    dir: PathBuf,
}

fn read_u64(path: &Path) -> Option<u64> {
    let raw = std::fs::read_to_string(path).ok()?;
    parse_u64(raw.trim().as_bytes())
}

impl CpuThrottle {
    pub(crate) fn new(sys_path: &Path) -> CpuThrottle {
        CpuThrottle {
            dir: sys_path.join("devices/system/cpu"),
        }
    }

    /// Reads the throttle counters and writes the families.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        let mut cpus: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix("cpu"))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|e| e.path())
            .collect();
        cpus.sort();
        let mut packages: BTreeMap<u64, u64> = BTreeMap::new();
        let mut cores: BTreeMap<(u64, u64), Option<u64>> = BTreeMap::new();
        for cpu in &cpus {
            let (Some(package), Some(core)) = (
                read_u64(&cpu.join("topology/physical_package_id")),
                read_u64(&cpu.join("topology/core_id")),
            ) else {
                continue;
            };
            cores
                .entry((package, core))
                .or_insert_with(|| read_u64(&cpu.join("thermal_throttle/core_throttle_count")));
            if let Entry::Vacant(slot) = packages.entry(package)
                && let Some(n) = read_u64(&cpu.join("thermal_throttle/package_throttle_count"))
            {
                slot.insert(n);
            }
        }
        let cores: Vec<_> = cores
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if packages.is_empty() && cores.is_empty() {
            return Ok(());
        }
        sink.family(
            "node_cpu_package_throttles_total",
            MetricType::Counter,
            "Number of times this CPU package has been throttled.",
        );
        sink.family(
            "node_cpu_core_throttles_total",
            MetricType::Counter,
            "Number of times this CPU core has been throttled.",
        );
        for (package, n) in packages {
            let p = package.to_string();
            sink.sample(
                "node_cpu_package_throttles_total",
                &[("package", &p)],
                n as f64,
            );
        }
        for ((package, core), n) in cores {
            let (p, c) = (package.to_string(), core.to_string());
            sink.sample(
                "node_cpu_core_throttles_total",
                &[("core", &c), ("package", &p)],
                n as f64,
            );
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
    fn counted_once_per_core_and_package() {
        let dir = tempfile::tempdir().unwrap();
        let cpu = dir.path().join("devices/system/cpu");
        let w = |rel: &str, v: &str| {
            std::fs::create_dir_all(cpu.join(rel).parent().unwrap()).unwrap();
            std::fs::write(cpu.join(rel), v).unwrap();
        };
        // Two threads of core 0 and one of core 1, one package.
        for (n, core, count) in [(0, 0, "5"), (1, 0, "99"), (2, 1, "7")] {
            w(&format!("cpu{n}/topology/physical_package_id"), "0\n");
            w(&format!("cpu{n}/topology/core_id"), &format!("{core}\n"));
            w(
                &format!("cpu{n}/thermal_throttle/core_throttle_count"),
                &format!("{count}\n"),
            );
            w(
                &format!("cpu{n}/thermal_throttle/package_throttle_count"),
                "11\n",
            );
        }
        let mut t = CpuThrottle::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        t.collect(&mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_cpu_core_throttles_total{core="0", package="0"}"#),
            Some(5.0)
        );
        assert_eq!(
            app.value(r#"node_cpu_core_throttles_total{core="1", package="0"}"#),
            Some(7.0)
        );
        assert_eq!(
            app.value(r#"node_cpu_package_throttles_total{package="0"}"#),
            Some(11.0)
        );
    }
}

//! node_exporter 1.5's cpufreq families from
//! `/sys/devices/system/cpu/cpu<N>/cpufreq/` (read directly):
//! `node_cpu_frequency{,_min,_max}_hertz` (cpuinfo_*_freq),
//! `node_cpu_scaling_frequency{,_min,_max}_hertz` (scaling_*_freq), kHz
//! written as Hz. (`node_cpu_scaling_governor` came after node_exporter 1.5
//! and is not written.) A file that cannot be read leaves its series out; a
//! machine without cpufreq (a VM) yields no family and no error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::Sink;
use crate::collector::CollectError;

/// (file in cpufreq/, metric, help)
const FREQS: [(&str, &str, &str); 6] = [
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum cpu thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum cpu thread frequency in hertz.",
    ),
    (
        "scaling_cur_freq",
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

/// The cpufreq family group.
pub(crate) struct Cpufreq {
    dir: PathBuf,
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

impl Cpufreq {
    pub(crate) fn new(sys_path: &Path) -> Cpufreq {
        Cpufreq {
            dir: sys_path.join("devices/system/cpu"),
        }
    }

    /// Reads every CPU's cpufreq directory and writes the families.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        let mut cpus: Vec<(u32, String)> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let n = name.strip_prefix("cpu")?;
                let num: u32 = n
                    .parse()
                    .ok()
                    .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))?;
                Some((num, n.to_string()))
            })
            .collect();
        cpus.sort();
        let mut declared = false;
        for (_, cpu) in &cpus {
            let dir = self.dir.join(format!("cpu{cpu}")).join("cpufreq");
            if !dir.is_dir() {
                continue;
            }
            if !declared {
                declared = true;
                for (_, name, help) in FREQS {
                    sink.family(name, MetricType::Gauge, help);
                }
            }
            for (file, name, _) in FREQS {
                if let Some(khz) = read_trimmed(&dir.join(file)).and_then(|v| v.parse::<u64>().ok())
                {
                    sink.sample(name, &[("cpu", cpu)], khz as f64 * 1000.0);
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
    fn frequencies() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("devices/system/cpu/cpu0/cpufreq");
        std::fs::create_dir_all(&f).unwrap();
        std::fs::create_dir_all(dir.path().join("devices/system/cpu/cpu1")).unwrap();
        for (file, v) in [
            ("scaling_cur_freq", "1699981"),
            ("cpuinfo_max_freq", "3700000"),
        ] {
            std::fs::write(f.join(file), format!("{v}\n")).unwrap();
        }
        let mut c = Cpufreq::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        c.collect(&mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_cpu_scaling_frequency_hertz{cpu="0"}"#),
            Some(1699981000.0)
        );
        assert_eq!(
            app.value(r#"node_cpu_frequency_max_hertz{cpu="0"}"#),
            Some(3.7e9)
        );
        assert_eq!(app.value(r#"node_cpu_frequency_hertz{cpu="0"}"#), None);
    }
}

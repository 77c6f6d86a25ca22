//! `node_entropy_available_bits` and `node_entropy_pool_size_bits` from
//! `/proc/sys/kernel/random/{entropy_avail,poolsize}` (read directly).

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, parse_error, parse_f64, read_into};
use crate::collector::CollectError;

/// The entropy family group.
pub(crate) struct Entropy {
    avail: PathBuf,
    pool: PathBuf,
}

impl Entropy {
    pub(crate) fn new(proc_path: &Path) -> Entropy {
        let dir = proc_path.join("sys/kernel/random");
        Entropy {
            avail: dir.join("entropy_avail"),
            pool: dir.join("poolsize"),
        }
    }

    /// Reads both files and writes the families (each only if readable).
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let avail = read_number(&self.avail, buf)?;
        sink.single(
            "node_entropy_available_bits",
            MetricType::Gauge,
            "Bits of available entropy.",
            avail,
        );
        let pool = read_number(&self.pool, buf)?;
        sink.single(
            "node_entropy_pool_size_bits",
            MetricType::Gauge,
            "Bits of entropy pool.",
            pool,
        );
        Ok(())
    }
}

/// Reads a file holding one number.
pub(crate) fn read_number(path: &Path, buf: &mut Vec<u8>) -> Result<f64, CollectError> {
    read_into(path, buf)?;
    parse_f64(buf.trim_ascii()).ok_or_else(|| parse_error(path, "expected a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn both_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("sys/kernel/random");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("entropy_avail"), "256\n").unwrap();
        std::fs::write(d.join("poolsize"), "4096\n").unwrap();
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        Entropy::new(dir.path())
            .collect(&mut Vec::new(), &mut sink)
            .unwrap();
        assert_eq!(app.value("node_entropy_available_bits"), Some(256.0));
        assert_eq!(app.value("node_entropy_pool_size_bits"), Some(4096.0));
    }
}

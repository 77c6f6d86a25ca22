//! `node_network_up{device}` from `/sys/class/net/<device>/operstate` (read
//! directly): 1 when the operational state is `up`. As in node_exporter's
//! netclass collector, every device is listed, the loopback included.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, read_into};
use crate::collector::CollectError;

const UP: &str = "node_network_up";

/// The netclass family group.
pub(crate) struct Netclass {
    dir: PathBuf,
    file: PathBuf,
}

impl Netclass {
    pub(crate) fn new(sys_path: &Path) -> Netclass {
        Netclass {
            dir: sys_path.join("class/net"),
            file: PathBuf::new(),
        }
    }

    /// Lists the devices and writes `node_network_up` for each; a device
    /// whose state cannot be read is left out and reported.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let io = |source| CollectError::Io {
            path: self.dir.display().to_string(),
            source,
        };
        let entries = std::fs::read_dir(&self.dir).map_err(io)?;
        sink.family(
            UP,
            MetricType::Gauge,
            "Value is 1 if operstate is 'up', 0 otherwise.",
        );
        let mut first_error = None;
        for entry in entries {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(dev) = name.to_str() else { continue };
            self.file.clear();
            self.file.push(&self.dir);
            self.file.push(dev);
            self.file.push("operstate");
            match read_into(&self.file, buf) {
                Ok(()) => {
                    let up = buf.trim_ascii() == b"up";
                    sink.sample(UP, &[("device", dev)], if up { 1.0 } else { 0.0 });
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn operstate() {
        let dir = tempfile::tempdir().unwrap();
        for (dev, state) in [("eth0", "up\n"), ("lo", "unknown\n"), ("ifb0", "down\n")] {
            std::fs::create_dir_all(dir.path().join("class/net").join(dev)).unwrap();
            std::fs::write(
                dir.path().join("class/net").join(dev).join("operstate"),
                state,
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("class/net/broken")).unwrap();
        let mut n = Netclass::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        let err = n.collect(&mut Vec::new(), &mut sink).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        assert_eq!(app.value(r#"node_network_up{device="eth0"}"#), Some(1.0));
        assert_eq!(app.value(r#"node_network_up{device="lo"}"#), Some(0.0));
        assert_eq!(app.value(r#"node_network_up{device="ifb0"}"#), Some(0.0));
    }
}

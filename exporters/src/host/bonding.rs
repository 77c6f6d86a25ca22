//! `node_bonding_slaves{master}` and `node_bonding_active{master}` from
//! `/sys/class/net/bonding_masters` and each master's slaves' `mii_status`
//! (read directly), as node_exporter 1.5 counts them. No bonding (no
//! `bonding_masters`) is no family and no error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::Sink;
use crate::collector::CollectError;

/// The bonding family group.
pub(crate) struct Bonding {
    net: PathBuf,
}

impl Bonding {
    pub(crate) fn new(sys_path: &Path) -> Bonding {
        Bonding {
            net: sys_path.join("class/net"),
        }
    }

    /// Counts every master's configured and active slaves.
    pub(crate) fn collect(&mut self, sink: &mut Sink<'_>) -> Result<(), CollectError> {
        let io = |path: &Path, source| CollectError::Io {
            path: path.display().to_string(),
            source,
        };
        let masters_file = self.net.join("bonding_masters");
        let masters = match std::fs::read_to_string(&masters_file) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&masters_file, e)),
        };
        // Read everything first: an unreadable slave fails the family, as there.
        let mut counts = Vec::new();
        for master in masters.split_whitespace() {
            let slaves_file = self.net.join(master).join("bonding/slaves");
            let slaves = std::fs::read_to_string(&slaves_file).map_err(|e| io(&slaves_file, e))?;
            let (mut configured, mut active) = (0.0, 0.0);
            for slave in slaves.split_whitespace() {
                let lower = self
                    .net
                    .join(master)
                    .join(format!("lower_{slave}"))
                    .join("bonding_slave/mii_status");
                let state = match std::fs::read_to_string(&lower) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let old = self
                            .net
                            .join(master)
                            .join(format!("slave_{slave}"))
                            .join("bonding_slave/mii_status");
                        std::fs::read_to_string(&old).map_err(|e| io(&old, e))?
                    }
                    other => other.map_err(|e| io(&lower, e))?,
                };
                configured += 1.0;
                if state.trim() == "up" {
                    active += 1.0;
                }
            }
            counts.push((master, configured, active));
        }
        sink.family(
            "node_bonding_slaves",
            MetricType::Gauge,
            "Number of configured slaves per bonding interface.",
        );
        sink.family(
            "node_bonding_active",
            MetricType::Gauge,
            "Number of active slaves per bonding interface.",
        );
        for (master, configured, active) in counts {
            sink.sample("node_bonding_slaves", &[("master", master)], configured);
            sink.sample("node_bonding_active", &[("master", master)], active);
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
    fn slaves_and_active() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("class/net");
        let w = |rel: &str, v: &str| {
            std::fs::create_dir_all(net.join(rel).parent().unwrap()).unwrap();
            std::fs::write(net.join(rel), v).unwrap();
        };
        let mut b = Bonding::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        b.collect(&mut sink).unwrap();
        assert!(app.samples.is_empty(), "no bonding, no family");
        w("bonding_masters", "bond0\n");
        w("bond0/bonding/slaves", "eth1 eth2\n");
        w("bond0/lower_eth1/bonding_slave/mii_status", "up\n");
        w("bond0/slave_eth2/bonding_slave/mii_status", "down\n");
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        b.collect(&mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_bonding_slaves{master="bond0"}"#),
            Some(2.0)
        );
        assert_eq!(
            app.value(r#"node_bonding_active{master="bond0"}"#),
            Some(1.0)
        );
    }
}

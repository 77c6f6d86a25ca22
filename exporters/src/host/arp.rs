//! `node_arp_entries{device}` from `/proc/net/arp` (read directly): the
//! number of ARP entries per network device, as node_exporter 1.5 counts.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, read_into};
use crate::collector::CollectError;

/// The arp family group.
pub(crate) struct Arp {
    path: PathBuf,
    /// (device, count), reused between collections.
    counts: Vec<(String, f64)>,
}

impl Arp {
    pub(crate) fn new(proc_path: &Path) -> Arp {
        Arp {
            path: proc_path.join("net/arp"),
            counts: Vec::new(),
        }
    }

    /// Reads `/proc/net/arp` into `buf` and writes the family.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        read_into(&self.path, buf)?;
        for (_, n) in self.counts.iter_mut() {
            *n = 0.0;
        }
        for line in lines(buf).skip(1) {
            let f: [Option<&[u8]>; 6] = {
                let mut it = fields(line);
                std::array::from_fn(|_| it.next())
            };
            if f[0].is_none() {
                continue;
            }
            let device = f[5]
                .and_then(|d| std::str::from_utf8(d).ok())
                .ok_or_else(|| parse_error(&self.path, "an entry without a device"))?;
            match self.counts.iter_mut().find(|(d, _)| d == device) {
                Some((_, n)) => *n += 1.0,
                None => self.counts.push((device.to_string(), 1.0)),
            }
        }
        // Devices that had entries before and have none now are dropped.
        self.counts.retain(|(_, n)| *n > 0.0);
        sink.family(
            "node_arp_entries",
            MetricType::Gauge,
            "ARP entries by device",
        );
        for (device, n) in &self.counts {
            sink.sample("node_arp_entries", &[("device", device)], *n);
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
    fn entries_per_device() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(
            dir.path().join("net/arp"),
            "IP address       HW type     Flags       HW address            Mask     Device\n\
             192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0\n\
             192.0.2.2        0x1         0x2         02:fc:00:00:00:06     *        eth0\n\
             10.0.0.1         0x1         0x2         02:fc:00:00:00:07     *        eth1\n",
        )
        .unwrap();
        let mut a = Arp::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        a.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value(r#"node_arp_entries{device="eth0"}"#), Some(2.0));
        assert_eq!(app.value(r#"node_arp_entries{device="eth1"}"#), Some(1.0));
    }
}

//! `node_udp_queues{ip="v4"|"v6",queue="tx"|"rx"}` from `/proc/net/udp` and
//! `/proc/net/udp6` (read directly): the kernel memory held by UDP sockets'
//! send and receive queues, summed over sockets (the hexadecimal
//! `tx_queue:rx_queue` column), as node_exporter 1.5 computes it. A missing
//! file (no IPv6) is skipped without an error.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, read_into};
use crate::collector::CollectError;

const NAME: &str = "node_udp_queues";

/// The udp_queues family group.
pub(crate) struct UdpQueues {
    files: [(PathBuf, &'static str); 2],
}

impl UdpQueues {
    pub(crate) fn new(proc_path: &Path) -> UdpQueues {
        UdpQueues {
            files: [
                (proc_path.join("net/udp"), "v4"),
                (proc_path.join("net/udp6"), "v6"),
            ],
        }
    }

    /// Reads both files into `buf` in turn and writes the family.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        sink.family(
            NAME,
            MetricType::Gauge,
            "Number of allocated memory in the kernel for UDP datagrams in bytes.",
        );
        for (path, ip) in &self.files {
            match read_into(path, buf) {
                Ok(()) => {}
                Err(CollectError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
            let (mut tx, mut rx) = (0u64, 0u64);
            for line in lines(buf).skip(1) {
                let Some(queues) = fields(line).nth(4) else {
                    continue;
                };
                let hex = |h: &[u8]| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u64::from_str_radix(h, 16).ok())
                };
                let mut parts = queues.split(|&b| b == b':');
                let (Some(t), Some(r)) = (parts.next().and_then(hex), parts.next().and_then(hex))
                else {
                    return Err(parse_error(path, "bad tx_queue:rx_queue column"));
                };
                tx = tx.saturating_add(t);
                rx = rx.saturating_add(r);
            }
            sink.sample(NAME, &[("ip", ip), ("queue", "tx")], tx as f64);
            sink.sample(NAME, &[("ip", ip), ("queue", "rx")], rx as f64);
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
    fn sums_the_queues() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(
            dir.path().join("net/udp"),
            "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
             \x20  0: 00000000:0044 00000000:0000 07 00000010:00000100 00:00000000 00000000     0        0 1 2 0000000000000000 0\n\
             \x20  1: 00000000:0045 00000000:0000 07 00000001:00000001 00:00000000 00000000     0        0 1 2 0000000000000000 0\n",
        )
        .unwrap();
        let mut u = UdpQueues::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        u.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_udp_queues{ip="v4", queue="tx"}"#),
            Some(17.0)
        );
        assert_eq!(
            app.value(r#"node_udp_queues{ip="v4", queue="rx"}"#),
            Some(257.0)
        );
        assert_eq!(app.value(r#"node_udp_queues{ip="v6", queue="rx"}"#), None);
    }
}

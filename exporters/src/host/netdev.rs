//! `node_network_{receive,transmit}_*_total{device}` from `/proc/net/dev`
//! (read directly) with node_exporter's names and its `^lo$` exclusion.
//!
//! Deviation: node_exporter 1.5 reads these counters over rtnetlink, where
//! `receive_drop` is `rx_dropped` alone and `receive_frame` is
//! `rx_frame_errors` alone, and it adds `receive_nohandler_total`;
//! `/proc/net/dev` folds `rx_missed_errors` into drop and the length,
//! overrun and CRC errors into frame, and has no nohandler column. Bytes,
//! packets, errs and the transmit side are the same counters.

use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_u64, read_into};
use crate::collector::CollectError;

/// The sixteen columns of `/proc/net/dev`, in order.
const COLUMNS: [(&str, &str); 16] = [
    (
        "node_network_receive_bytes_total",
        "Network device statistic receive_bytes.",
    ),
    (
        "node_network_receive_packets_total",
        "Network device statistic receive_packets.",
    ),
    (
        "node_network_receive_errs_total",
        "Network device statistic receive_errs.",
    ),
    (
        "node_network_receive_drop_total",
        "Network device statistic receive_drop.",
    ),
    (
        "node_network_receive_fifo_total",
        "Network device statistic receive_fifo.",
    ),
    (
        "node_network_receive_frame_total",
        "Network device statistic receive_frame.",
    ),
    (
        "node_network_receive_compressed_total",
        "Network device statistic receive_compressed.",
    ),
    (
        "node_network_receive_multicast_total",
        "Network device statistic receive_multicast.",
    ),
    (
        "node_network_transmit_bytes_total",
        "Network device statistic transmit_bytes.",
    ),
    (
        "node_network_transmit_packets_total",
        "Network device statistic transmit_packets.",
    ),
    (
        "node_network_transmit_errs_total",
        "Network device statistic transmit_errs.",
    ),
    (
        "node_network_transmit_drop_total",
        "Network device statistic transmit_drop.",
    ),
    (
        "node_network_transmit_fifo_total",
        "Network device statistic transmit_fifo.",
    ),
    (
        "node_network_transmit_colls_total",
        "Network device statistic transmit_colls.",
    ),
    (
        "node_network_transmit_carrier_total",
        "Network device statistic transmit_carrier.",
    ),
    (
        "node_network_transmit_compressed_total",
        "Network device statistic transmit_compressed.",
    ),
];

/// The netdev family group.
pub(crate) struct Netdev {
    path: PathBuf,
    device_exclude: Regex,
}

impl Netdev {
    pub(crate) fn new(proc_path: &Path, device_exclude: Regex) -> Netdev {
        Netdev {
            path: proc_path.join("net/dev"),
            device_exclude,
        }
    }

    /// Reads `/proc/net/dev` into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        read_into(&self.path, buf)?;
        let mut values = [0u64; 16];
        // Parse every device first so a malformed file writes nothing.
        let mut devices = 0;
        for line in lines(buf).skip(2) {
            if parse_line(line, &mut values)
                .map_err(|why| parse_error(&self.path, why))?
                .is_some()
            {
                devices += 1;
            }
        }
        if devices == 0 {
            return Err(parse_error(&self.path, "no network devices"));
        }
        for (name, help) in COLUMNS.iter() {
            sink.family(name, MetricType::Counter, help);
        }
        for line in lines(buf).skip(2) {
            let Ok(Some(dev)) = parse_line(line, &mut values) else {
                continue;
            };
            if self.device_exclude.is_match(dev) {
                continue;
            }
            for ((name, _), v) in COLUMNS.iter().zip(values) {
                sink.sample(name, &[("device", dev)], v as f64);
            }
        }
        Ok(())
    }
}

/// Parses `  eth0: 1 2 ... 16`; `Ok(None)` for a blank line.
fn parse_line<'a>(line: &'a [u8], values: &mut [u64; 16]) -> Result<Option<&'a str>, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let shown = || format!("bad line {:?}", String::from_utf8_lossy(line));
    let colon = line.iter().position(|&b| b == b':').ok_or_else(shown)?;
    let dev = std::str::from_utf8(&line[..colon])
        .map_err(|_| shown())?
        .trim();
    if dev.is_empty() {
        return Err(shown());
    }
    let mut f = fields(&line[colon + 1..]);
    for v in values.iter_mut() {
        *v = f.next().and_then(parse_u64).ok_or_else(shown)?;
    }
    Ok(Some(dev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn devices_and_exclusion() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(
            dir.path().join("net/dev"),
            "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:  111537     708    0    0    0     0          0         0   111537     708    0    0    0     0       0          0\n  \
eth0:175365198 4964 1 2 3 4 5 6 242257 2484 7 8 9 10 11 12\n",
        )
        .unwrap();
        let mut n = Netdev::new(dir.path(), Regex::new("^lo$").unwrap());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        n.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_network_receive_bytes_total{device="eth0"}"#),
            Some(175365198.0)
        );
        assert_eq!(
            app.value(r#"node_network_receive_drop_total{device="eth0"}"#),
            Some(2.0)
        );
        assert_eq!(
            app.value(r#"node_network_transmit_compressed_total{device="eth0"}"#),
            Some(12.0)
        );
        assert_eq!(
            app.value(r#"node_network_receive_bytes_total{device="lo"}"#),
            None
        );
        assert_eq!(app.samples.len(), 16);
    }
}

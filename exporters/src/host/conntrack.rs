//! `node_nf_conntrack_entries`, `node_nf_conntrack_entries_limit` from
//! `/proc/sys/net/netfilter/nf_conntrack_{count,max}` and
//! `node_nf_conntrack_stat_*` from `/proc/net/stat/nf_conntrack` (summed over
//! CPUs, gauges as in node_exporter 1.5), all read directly. Without the
//! conntrack module there is no family and no error, as there.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::entropy::read_number;
use super::util::{Sink, fields, lines, parse_error, read_into};
use crate::collector::CollectError;

/// (column in /proc/net/stat/nf_conntrack, metric, help)
const STATS: [(&[u8], &str, &str); 8] = [
    (
        b"found",
        "node_nf_conntrack_stat_found",
        "Number of searched entries which were successful.",
    ),
    (
        b"invalid",
        "node_nf_conntrack_stat_invalid",
        "Number of packets seen which can not be tracked.",
    ),
    (
        b"ignore",
        "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.",
    ),
    (
        b"insert",
        "node_nf_conntrack_stat_insert",
        "Number of entries inserted into the list.",
    ),
    (
        b"insert_failed",
        "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.",
    ),
    (
        b"drop",
        "node_nf_conntrack_stat_drop",
        "Number of packets dropped due to conntrack failure.",
    ),
    (
        b"early_drop",
        "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
    (
        b"search_restart",
        "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
];

/// The conntrack family group.
pub(crate) struct Conntrack {
    count: PathBuf,
    max: PathBuf,
    stat: PathBuf,
}

impl Conntrack {
    pub(crate) fn new(proc_path: &Path) -> Conntrack {
        let nf = proc_path.join("sys/net/netfilter");
        Conntrack {
            count: nf.join("nf_conntrack_count"),
            max: nf.join("nf_conntrack_max"),
            stat: proc_path.join("net/stat/nf_conntrack"),
        }
    }

    /// Reads the three files and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let count = match read_number(&self.count, buf) {
            Ok(v) => v,
            Err(CollectError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let max = read_number(&self.max, buf)?;
        sink.single(
            "node_nf_conntrack_entries",
            MetricType::Gauge,
            "Number of currently allocated flow entries for connection tracking.",
            count,
        );
        sink.single(
            "node_nf_conntrack_entries_limit",
            MetricType::Gauge,
            "Maximum size of connection tracking table.",
            max,
        );
        read_into(&self.stat, buf)?;
        let mut ls = lines(buf);
        let header: Vec<&[u8]> = ls.next().map(|h| fields(h).collect()).unwrap_or_default();
        let columns: Vec<Option<usize>> = STATS
            .iter()
            .map(|(col, ..)| header.iter().position(|h| h == col))
            .collect();
        let mut sums = [0u64; 8];
        for line in ls {
            if fields(line).next().is_none() {
                continue;
            }
            for (sum, col) in sums.iter_mut().zip(&columns) {
                let Some(col) = col else { continue };
                let raw = fields(line)
                    .nth(*col)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or_else(|| parse_error(&self.stat, "bad hexadecimal counter"))?;
                *sum = sum.saturating_add(raw);
            }
        }
        for ((_, name, help), (sum, col)) in STATS.iter().zip(sums.iter().zip(&columns)) {
            if col.is_some() {
                sink.single(name, MetricType::Gauge, help, *sum as f64);
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
    fn counts_and_per_cpu_stats() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Conntrack::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        c.collect(&mut Vec::new(), &mut sink).unwrap();
        assert!(app.samples.is_empty(), "no module, no family");

        let nf = dir.path().join("sys/net/netfilter");
        std::fs::create_dir_all(&nf).unwrap();
        std::fs::write(nf.join("nf_conntrack_count"), "12\n").unwrap();
        std::fs::write(nf.join("nf_conntrack_max"), "262144\n").unwrap();
        std::fs::create_dir_all(dir.path().join("net/stat")).unwrap();
        std::fs::write(
            dir.path().join("net/stat/nf_conntrack"),
            "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n\
             0000000c  00000000 00000001 00000000 0000000a 00000000 00000000 00000000 00000000 00000000 00000002 00000000 00000000  00000000 00000000 00000000 00000001\n\
             0000000c  00000000 00000002 00000000 00000010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n",
        )
        .unwrap();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        c.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value("node_nf_conntrack_entries"), Some(12.0));
        assert_eq!(app.value("node_nf_conntrack_entries_limit"), Some(262144.0));
        assert_eq!(app.value("node_nf_conntrack_stat_found"), Some(3.0));
        assert_eq!(app.value("node_nf_conntrack_stat_invalid"), Some(26.0));
        assert_eq!(app.value("node_nf_conntrack_stat_drop"), Some(2.0));
        assert_eq!(
            app.value("node_nf_conntrack_stat_search_restart"),
            Some(1.0)
        );
        assert_eq!(app.samples.len(), 10);
    }
}

//! `node_sockstat_*` from `/proc/net/sockstat` and `/proc/net/sockstat6`
//! (read directly), named as node_exporter 1.5 names them:
//! `node_sockstat_sockets_used` and `node_sockstat_<PROTO>_<field>` for the
//! fields inuse, orphan, tw, alloc, mem and memory, plus `<PROTO>_mem_bytes`
//! (mem pages times the page size). All gauges; a missing file (no IPv6)
//! is skipped without an error, as there.

use std::path::{Path, PathBuf};

use warden_tsdb::MetricType;

use super::util::{Sink, fields, lines, parse_error, parse_f64, read_into};
use crate::collector::CollectError;

const FIELDS: [&[u8]; 6] = [b"inuse", b"orphan", b"tw", b"alloc", b"mem", b"memory"];

/// The sockstat family group.
pub(crate) struct Sockstat {
    files: [PathBuf; 2],
    page_size: f64,
    name: String,
}

impl Sockstat {
    pub(crate) fn new(proc_path: &Path, page_size: usize) -> Sockstat {
        Sockstat {
            files: [
                proc_path.join("net/sockstat"),
                proc_path.join("net/sockstat6"),
            ],
            page_size: page_size as f64,
            name: String::new(),
        }
    }

    /// Reads both files into `buf` in turn and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        for (i, path) in self.files.iter().enumerate() {
            match read_into(path, buf) {
                Ok(()) => {}
                Err(CollectError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
            let ipv6 = i == 1;
            for line in lines(buf) {
                let mut f = fields(line);
                let Some(head) = f.next() else { continue };
                let proto = head
                    .strip_suffix(b":")
                    .and_then(|p| std::str::from_utf8(p).ok())
                    .ok_or_else(|| parse_error(path, "expected `PROTO: key value ...`"))?;
                let rest: Vec<&[u8]> = f.collect();
                if !rest.len().is_multiple_of(2) {
                    return Err(parse_error(path, format!("odd key/value list for {proto}")));
                }
                if proto == "sockets" {
                    // The pairs are whole (checked above), so kv has two items.
                    if !ipv6
                        && let Some(v) = rest
                            .chunks(2)
                            .find(|kv| kv[0] == b"used")
                            .and_then(|kv| parse_f64(kv[1]))
                    {
                        sink.single(
                            "node_sockstat_sockets_used",
                            MetricType::Gauge,
                            "Number of IPv4 sockets in use.",
                            v,
                        );
                    }
                    continue;
                }
                let mut mem = None;
                for field in FIELDS {
                    let Some(kv) = rest.chunks(2).find(|kv| kv[0] == field) else {
                        continue;
                    };
                    let v = parse_f64(kv[1]).ok_or_else(|| {
                        parse_error(
                            path,
                            format!("bad value for {proto} {}", String::from_utf8_lossy(field)),
                        )
                    })?;
                    let field = std::str::from_utf8(field).unwrap_or("");
                    write(&mut self.name, sink, proto, field, v);
                    if field == "mem" {
                        mem = Some(v);
                    }
                }
                if let Some(pages) = mem {
                    write(
                        &mut self.name,
                        sink,
                        proto,
                        "mem_bytes",
                        pages * self.page_size,
                    );
                }
            }
        }
        Ok(())
    }
}

/// Writes `node_sockstat_<proto>_<field>`, building the name in `name`.
fn write(name: &mut String, sink: &mut Sink<'_>, proto: &str, field: &str, v: f64) {
    name.clear();
    name.push_str("node_sockstat_");
    name.push_str(proto);
    name.push('_');
    name.push_str(field);
    let help = format!("Number of {proto} sockets in state {field}.");
    sink.single(name, MetricType::Gauge, &help, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn v4_and_v6() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("net")).unwrap();
        std::fs::write(
            dir.path().join("net/sockstat"),
            "sockets: used 40\nTCP: inuse 13 orphan 0 tw 12 alloc 16 mem 49\nUDP: inuse 0 mem 0\nFRAG: inuse 0 memory 0\n",
        )
        .unwrap();
        let mut s = Sockstat::new(dir.path(), 4096);
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        s.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value("node_sockstat_sockets_used"), Some(40.0));
        assert_eq!(app.value("node_sockstat_TCP_tw"), Some(12.0));
        assert_eq!(
            app.value("node_sockstat_TCP_mem_bytes"),
            Some(49.0 * 4096.0)
        );
        assert_eq!(app.value("node_sockstat_FRAG_memory"), Some(0.0));
        assert_eq!(app.value("node_sockstat_FRAG_memory_bytes"), None);
        assert_eq!(app.samples.len(), 12);

        std::fs::write(
            dir.path().join("net/sockstat6"),
            "TCP6: inuse 2\nFRAG6: inuse 0 memory 0\n",
        )
        .unwrap();
        let mut app = MemAppender::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        s.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value("node_sockstat_TCP6_inuse"), Some(2.0));
        assert_eq!(
            app.metadata["node_sockstat_TCP6_inuse"].help,
            "Number of TCP6 sockets in state inuse."
        );
    }
}

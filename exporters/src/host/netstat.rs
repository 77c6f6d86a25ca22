//! `node_netstat_<Proto>_<Field>` from `/proc/net/netstat`, `/proc/net/snmp`
//! (header/value line pairs) and `/proc/net/snmp6` (name/value lines, the
//! protocol ending at the first `6`), all read directly, for the fields
//! matching the configured regex (node_exporter 1.5's default). Untyped,
//! as there; without IPv6 (no snmp6) the v6 fields are simply absent.

use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::MetricType;

use super::util::{FieldFilter, Sink, fields, lines, parse_error, parse_f64, read_into};
use crate::collector::CollectError;

/// The netstat family group.
pub(crate) struct Netstat {
    netstat: PathBuf,
    snmp: PathBuf,
    snmp6: PathBuf,
    fields: FieldFilter,
    key: String,
}

impl Netstat {
    pub(crate) fn new(proc_path: &Path, fields: Regex) -> Netstat {
        Netstat {
            netstat: proc_path.join("net/netstat"),
            snmp: proc_path.join("net/snmp"),
            snmp6: proc_path.join("net/snmp6"),
            fields: FieldFilter::new(fields),
            key: String::new(),
        }
    }

    /// Reads the three files into `buf` in turn and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        for path in [self.netstat.clone(), self.snmp.clone()] {
            read_into(&path, buf)?;
            self.pairs(&path, buf, sink)?;
        }
        match read_into(&self.snmp6, buf) {
            Ok(()) => {}
            Err(CollectError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        for line in lines(buf) {
            let mut f = fields(line);
            let (Some(name), Some(value)) = (f.next(), f.next()) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let Some(six) = name.find('6') else { continue };
            let (proto, field) = name.split_at(six + 1);
            let v = parse_f64(value)
                .ok_or_else(|| parse_error(&self.snmp6, format!("invalid value for {name}")))?;
            self.write(sink, proto, field, v);
        }
        Ok(())
    }

    /// `Proto: names...` followed by `Proto: values...`.
    fn pairs(
        &mut self,
        path: &Path,
        content: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        let mut it = lines(content).filter(|l| !l.is_empty());
        while let Some(names) = it.next() {
            let values = it
                .next()
                .ok_or_else(|| parse_error(path, "a header line without its values"))?;
            let mut n = fields(names);
            let mut v = fields(values);
            let (Some(proto), Some(proto_v)) = (n.next(), v.next()) else {
                continue;
            };
            if proto != proto_v {
                return Err(parse_error(
                    path,
                    "header and value lines of different protocols",
                ));
            }
            let proto =
                std::str::from_utf8(proto.strip_suffix(b":").unwrap_or(proto)).unwrap_or("");
            for (name, value) in n.zip(v) {
                let name = std::str::from_utf8(name).unwrap_or("");
                let value = parse_f64(value).ok_or_else(|| {
                    parse_error(path, format!("invalid value for {proto} {name}"))
                })?;
                self.write(sink, proto, name, value);
            }
        }
        Ok(())
    }

    fn write(&mut self, sink: &mut Sink<'_>, proto: &str, field: &str, v: f64) {
        self.key.clear();
        self.key.push_str(proto);
        self.key.push('_');
        self.key.push_str(field);
        let key = &self.key;
        let Some(name) = self.fields.name(key, || format!("node_netstat_{key}")) else {
            return;
        };
        let help = format!("Statistic {proto}{field}.");
        sink.single(name, MetricType::Unknown, &help, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn three_files_and_the_default_fields() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("net");
        std::fs::create_dir(&net).unwrap();
        std::fs::write(net.join("netstat"), "TcpExt: SyncookiesSent ListenDrops Other\nTcpExt: 1 2 3\nIpExt: InOctets OutOctets\nIpExt: 100 200\n").unwrap();
        std::fs::write(
            net.join("snmp"),
            "Ip: Forwarding DefaultTTL\nIp: 2 64\nTcp: CurrEstab InErrs InCsumErrors\nTcp: 5 6 7\n",
        )
        .unwrap();
        let mut n = Netstat::new(
            dir.path(),
            Regex::new(crate::host::DEFAULT_NETSTAT_FIELDS).unwrap(),
        );
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        n.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value("node_netstat_TcpExt_SyncookiesSent"), Some(1.0));
        assert_eq!(app.value("node_netstat_TcpExt_ListenDrops"), Some(2.0));
        assert_eq!(app.value("node_netstat_TcpExt_Other"), None);
        assert_eq!(app.value("node_netstat_IpExt_OutOctets"), Some(200.0));
        assert_eq!(app.value("node_netstat_Ip_Forwarding"), Some(2.0));
        assert_eq!(app.value("node_netstat_Ip_DefaultTTL"), None);
        assert_eq!(app.value("node_netstat_Tcp_InErrs"), Some(6.0));
        assert_eq!(app.value("node_netstat_Tcp_InCsumErrors"), None);
        assert_eq!(
            app.metadata["node_netstat_Tcp_CurrEstab"].help,
            "Statistic TcpCurrEstab."
        );
        assert_eq!(
            app.metadata["node_netstat_Tcp_CurrEstab"].kind,
            MetricType::Unknown
        );

        std::fs::write(
            net.join("snmp6"),
            "Ip6InOctets   \t10\nUdpLite6InErrors 3\nIp6InHdrErrors 1\n",
        )
        .unwrap();
        let mut app = MemAppender::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        n.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(app.value("node_netstat_Ip6_InOctets"), Some(10.0));
        assert_eq!(app.value("node_netstat_UdpLite6_InErrors"), Some(3.0));
        assert_eq!(app.value("node_netstat_Ip6_InHdrErrors"), None);

        std::fs::write(net.join("snmp"), "Ip: Forwarding\n").unwrap();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        assert!(n.collect(&mut Vec::new(), &mut sink).is_err());
    }
}

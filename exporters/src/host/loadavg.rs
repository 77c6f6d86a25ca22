//! `node_load1`, `node_load5`, `node_load15` from `/proc/loadavg` (read directly).

use std::path::Path;

use warden_tsdb::MetricType;

use super::util::{Sink, fields, parse_error, parse_f64};
use crate::collector::CollectError;

const NAMES: [(&str, &str); 3] = [
    ("node_load1", "1m load average."),
    ("node_load5", "5m load average."),
    ("node_load15", "15m load average."),
];

/// Writes the load averages from the content of `/proc/loadavg`.
pub(crate) fn collect(
    content: &[u8],
    path: &Path,
    sink: &mut Sink<'_>,
) -> Result<(), CollectError> {
    let mut f = fields(content);
    let mut values = [0.0; 3];
    for v in values.iter_mut() {
        *v = f
            .next()
            .and_then(parse_f64)
            .ok_or_else(|| parse_error(path, "expected three load averages"))?;
    }
    for ((name, help), v) in NAMES.iter().zip(values) {
        sink.single(name, MetricType::Gauge, help, v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn three_averages() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        collect(
            b"0.63 0.59 0.31 3/147 13378\n",
            Path::new("loadavg"),
            &mut sink,
        )
        .unwrap();
        assert_eq!(app.value("node_load1"), Some(0.63));
        assert_eq!(app.value("node_load5"), Some(0.59));
        assert_eq!(app.value("node_load15"), Some(0.31));
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        assert!(collect(b"0.63\n", Path::new("loadavg"), &mut sink).is_err());
    }
}

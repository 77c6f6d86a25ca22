//! `node_filefd_allocated` and `node_filefd_maximum` from
//! `/proc/sys/fs/file-nr` (read directly): its first and third fields.

use std::path::Path;

use warden_tsdb::MetricType;

use super::util::{Sink, fields, parse_error, parse_f64};
use crate::collector::CollectError;

/// Writes the filefd families from the content of `file-nr`.
pub(crate) fn collect(
    content: &[u8],
    path: &Path,
    sink: &mut Sink<'_>,
) -> Result<(), CollectError> {
    let f: Vec<f64> = fields(content).take(3).map_while(parse_f64).collect();
    let [allocated, _, maximum] = f[..] else {
        return Err(parse_error(path, "expected three numbers"));
    };
    sink.single(
        "node_filefd_allocated",
        MetricType::Gauge,
        "File descriptor statistics: allocated.",
        allocated,
    );
    sink.single(
        "node_filefd_maximum",
        MetricType::Gauge,
        "File descriptor statistics: maximum.",
        maximum,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn allocated_and_maximum() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        collect(b"817\t0\t2466177\n", Path::new("file-nr"), &mut sink).unwrap();
        assert_eq!(app.value("node_filefd_allocated"), Some(817.0));
        assert_eq!(app.value("node_filefd_maximum"), Some(2466177.0));
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        assert!(collect(b"817\n", Path::new("file-nr"), &mut sink).is_err());
    }
}

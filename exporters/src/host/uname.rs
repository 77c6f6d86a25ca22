//! `node_uname_info{sysname,release,version,machine,nodename,domainname}`
//! from the `uname(2)` system call (through rustix), as node_exporter does.

use warden_tsdb::MetricType;

use super::util::Sink;

/// Writes `node_uname_info`.
pub(crate) fn collect(sink: &mut Sink<'_>) {
    let u = rustix::system::uname();
    let sysname = u.sysname().to_string_lossy();
    let release = u.release().to_string_lossy();
    let version = u.version().to_string_lossy();
    let machine = u.machine().to_string_lossy();
    let nodename = u.nodename().to_string_lossy();
    let domainname = u.domainname().to_string_lossy();
    sink.family(
        "node_uname_info",
        MetricType::Gauge,
        "Labeled system information as provided by the uname system call.",
    );
    sink.sample(
        "node_uname_info",
        &[
            ("domainname", &domainname),
            ("machine", &machine),
            ("nodename", &nodename),
            ("release", &release),
            ("sysname", &sysname),
            ("version", &version),
        ],
        1.0,
    );
}

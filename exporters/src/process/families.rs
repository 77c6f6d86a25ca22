//! Writing the process groups' families under process-exporter's names,
//! labels and types (listed in the parent module's documentation).

use warden_tsdb::MetricType;

use super::ProcessGroupConfig;
use crate::host::util::Sink;

/// A group's figures for one collection.
#[derive(Default)]
pub(super) struct Gauges {
    pub(super) procs: u64,
    pub(super) resident: f64,
    pub(super) virtual_: f64,
    pub(super) swapped: f64,
    pub(super) fds: f64,
    pub(super) worst_fd_ratio: f64,
    pub(super) threads: f64,
    /// (starttime ticks, pid) of the oldest member.
    pub(super) oldest: Option<(u64, u32)>,
    pub(super) states: [f64; 5],
}

const STATES: [&str; 5] = ["Running", "Sleeping", "Waiting", "Zombie", "Other"];

/// The index in [`STATES`] of a `/proc/<pid>/stat` state letter, as
/// process-exporter maps them (R, S, D, Z, anything else).
pub(super) fn state_index(state: u8) -> usize {
    match state {
        b'R' => 0,
        b'S' => 1,
        b'D' => 2,
        b'Z' => 3,
        _ => 4,
    }
}

/// Unit conversions for writing.
#[derive(Clone, Copy)]
pub(super) struct Scale {
    pub(super) ticks_per_second: f64,
    pub(super) boot_time: Option<u64>,
}

/// Writes every group's families and the scrape error counters.
pub(super) fn write_families(
    sink: &mut Sink<'_>,
    groups: &[ProcessGroupConfig],
    gauges: &[Gauges],
    totals: &[[u64; 8]],
    limits: &[Option<u64>],
    scale: Scale,
    counts: ErrorCounts,
) {
    use MetricType::{Counter, Gauge};
    const NUM_PROCS: &str = "namedprocess_namegroup_num_procs";
    const CPU: &str = "namedprocess_namegroup_cpu_seconds_total";
    const READ: &str = "namedprocess_namegroup_read_bytes_total";
    const WRITE: &str = "namedprocess_namegroup_write_bytes_total";
    const MAJOR: &str = "namedprocess_namegroup_major_page_faults_total";
    const MINOR: &str = "namedprocess_namegroup_minor_page_faults_total";
    const CTX: &str = "namedprocess_namegroup_context_switches_total";
    const MEM: &str = "namedprocess_namegroup_memory_bytes";
    const FDS: &str = "namedprocess_namegroup_open_filedesc";
    const WORST: &str = "namedprocess_namegroup_worst_fd_ratio";
    const THREADS: &str = "namedprocess_namegroup_num_threads";
    const OLDEST: &str = "namedprocess_namegroup_oldest_start_time_seconds";
    const STATES_M: &str = "namedprocess_namegroup_states";
    const LIMIT: &str = "warden_process_memory_limit_bytes";

    sink.family(NUM_PROCS, Gauge, "number of processes in this group");
    sink.family(CPU, Counter, "Cpu user usage in seconds");
    sink.family(READ, Counter, "number of bytes read by this group");
    sink.family(WRITE, Counter, "number of bytes written by this group");
    sink.family(MAJOR, Counter, "Major page faults");
    sink.family(MINOR, Counter, "Minor page faults");
    sink.family(CTX, Counter, "Context switches");
    sink.family(MEM, Gauge, "number of bytes of memory in use");
    sink.family(FDS, Gauge, "number of open file descriptors for this group");
    sink.family(
        WORST,
        Gauge,
        "the worst (closest to 1) ratio between open fds and max fds among all procs in this group",
    );
    sink.family(THREADS, Gauge, "Number of threads");
    sink.family(
        OLDEST,
        Gauge,
        "start time in seconds since 1970/01/01 of oldest process in group",
    );
    sink.family(
        STATES_M,
        Gauge,
        "Number of processes in states Running, Sleeping, Waiting, Zombie, or Other",
    );
    sink.family(LIMIT, Gauge, "The memory limit that applies to the group: its cgroup's, else its rlimit, else the host's memory; never above the host's memory.");

    let hz = scale.ticks_per_second;
    for ((g, gauge), (t, limit)) in groups.iter().zip(gauges).zip(totals.iter().zip(limits)) {
        let name = g.name.as_str();
        let gl = [("groupname", name)];
        sink.sample(NUM_PROCS, &gl, gauge.procs as f64);
        sink.sample(
            CPU,
            &[("groupname", name), ("mode", "user")],
            t[0] as f64 / hz,
        );
        sink.sample(
            CPU,
            &[("groupname", name), ("mode", "system")],
            t[1] as f64 / hz,
        );
        sink.sample(MINOR, &gl, t[2] as f64);
        sink.sample(MAJOR, &gl, t[3] as f64);
        sink.sample(READ, &gl, t[4] as f64);
        sink.sample(WRITE, &gl, t[5] as f64);
        sink.sample(
            CTX,
            &[("ctxswitchtype", "voluntary"), ("groupname", name)],
            t[6] as f64,
        );
        sink.sample(
            CTX,
            &[("ctxswitchtype", "nonvoluntary"), ("groupname", name)],
            t[7] as f64,
        );
        sink.sample(
            MEM,
            &[("groupname", name), ("memtype", "resident")],
            gauge.resident,
        );
        sink.sample(
            MEM,
            &[("groupname", name), ("memtype", "virtual")],
            gauge.virtual_,
        );
        sink.sample(
            MEM,
            &[("groupname", name), ("memtype", "swapped")],
            gauge.swapped,
        );
        sink.sample(FDS, &gl, gauge.fds);
        sink.sample(WORST, &gl, gauge.worst_fd_ratio);
        sink.sample(THREADS, &gl, gauge.threads);
        if let (Some((start, _)), Some(boot)) = (gauge.oldest, scale.boot_time) {
            // Whole seconds, as process-exporter exposes them.
            sink.sample(OLDEST, &gl, (boot as f64 + start as f64 / hz).floor());
        }
        for (state, v) in STATES.iter().zip(gauge.states) {
            sink.sample(STATES_M, &[("groupname", name), ("state", state)], v);
        }
        if let Some(l) = limit {
            sink.sample(LIMIT, &gl, *l as f64);
        }
    }
    write_scrape_errors(sink, counts);
}

/// process-exporter's own error counters.
#[derive(Clone, Copy)]
pub(super) struct ErrorCounts {
    pub(super) scrape: u64,
    pub(super) partial: u64,
    pub(super) read: u64,
}

/// Writes process-exporter's scrape error counters.
pub(super) fn write_scrape_errors(sink: &mut Sink<'_>, c: ErrorCounts) {
    use MetricType::Counter;
    sink.single(
        "namedprocess_scrape_errors",
        Counter,
        "general scrape errors: no proc metrics collected during a cycle",
        c.scrape as f64,
    );
    sink.single(
        "namedprocess_scrape_partial_errors",
        Counter,
        "incremented each time a tracked proc's metrics collection fails partially, e.g. unreadable I/O stats",
        c.partial as f64,
    );
    sink.single(
        "namedprocess_scrape_procread_errors",
        Counter,
        "incremented each time a proc's metrics collection fails",
        c.read as f64,
    );
}

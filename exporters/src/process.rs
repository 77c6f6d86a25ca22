//! Process collectors.
//!
//! [`ProcessCollector`] watches configured groups of processes and exposes
//! them under process-exporter's (ncabatoff/process-exporter) names and
//! labels, so its community dashboards work on warden:
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `namedprocess_namegroup_num_procs` | gauge | `groupname` |
//! | `namedprocess_namegroup_cpu_seconds_total` | counter | `groupname`, `mode` = `user`/`system` |
//! | `namedprocess_namegroup_read_bytes_total`, `…_write_bytes_total` | counter | `groupname` |
//! | `namedprocess_namegroup_major_page_faults_total`, `…_minor_page_faults_total` | counter | `groupname` |
//! | `namedprocess_namegroup_context_switches_total` | counter | `groupname`, `ctxswitchtype` = `voluntary`/`nonvoluntary` |
//! | `namedprocess_namegroup_memory_bytes` | gauge | `groupname`, `memtype` = `resident`/`virtual`/`swapped` |
//! | `namedprocess_namegroup_open_filedesc` | gauge | `groupname` |
//! | `namedprocess_namegroup_worst_fd_ratio` | gauge | `groupname` |
//! | `namedprocess_namegroup_num_threads` | gauge | `groupname` |
//! | `namedprocess_namegroup_oldest_start_time_seconds` | gauge | `groupname` |
//! | `namedprocess_namegroup_states` | gauge | `groupname`, `state` = `Running`/`Sleeping`/`Waiting`/`Zombie`/`Other` |
//! | `namedprocess_scrape_errors`, `namedprocess_scrape_partial_errors`, `namedprocess_scrape_procread_errors` | counter | – |
//! | `warden_process_memory_limit_bytes` | gauge | `groupname` |
//!
//! As in process-exporter, the counters of a group only go up and count
//! from when warden first saw each member: they add each member's growth
//! since the last collection, so a process that exits does not take its
//! CPU seconds with it (a process born since the last collection adds its
//! whole count). A process belongs to the first group whose selectors
//! all match.
//!
//! [`SelfProcessCollector`] exposes warden's own `process_*` metrics as the
//! Prometheus client libraries do.

mod families;
mod limit;
mod pidstat;
mod selfproc;

use std::collections::HashMap;
use std::path::PathBuf;

use regex::Regex;
use warden_tsdb::Appender;

use crate::collector::{CollectError, Collector};
use crate::host::util::{LabelCache, Sink, parse_error, parse_u64, read_into};
use families::{ErrorCounts, Gauges, Scale, state_index, write_families, write_scrape_errors};
use limit::CgroupRoots;
use pidstat::{PidPaths, Stat, count_fds, parse_io, parse_stat, parse_status, read_ok};
pub use selfproc::SelfProcessCollector;

/// One named group of processes. Every selector that is set must match; a
/// group with none is refused.
#[derive(Debug, Clone)]
pub struct ProcessGroupConfig {
    /// The `groupname` label.
    pub name: String,
    /// Matches when the command name (`comm`, the second field of
    /// `/proc/<pid>/stat`, at most 15 bytes) is one of these.
    pub comm: Vec<String>,
    /// Matches when the regex finds a match in the command line (arguments
    /// joined by spaces).
    pub cmdline: Option<Regex>,
    /// Matches the process whose PID is in this file.
    pub pidfile: Option<PathBuf>,
    /// Matches processes in this cgroup (as in `/proc/<pid>/cgroup`) or
    /// below it.
    pub cgroup: Option<String>,
}

/// The process collector's configuration.
#[derive(Debug, Clone)]
pub struct ProcessConfig {
    /// The groups, in matching order.
    pub groups: Vec<ProcessGroupConfig>,
    /// procfs mount point.
    pub proc_path: PathBuf,
    /// sysfs mount point, for the cgroup memory limits.
    pub sys_path: PathBuf,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig {
            groups: Vec::new(),
            proc_path: PathBuf::from("/proc"),
            sys_path: PathBuf::from("/sys"),
        }
    }
}

/// Why a process collector could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// A group has an empty name.
    #[error("process group #{0} has an empty name")]
    EmptyName(usize),
    /// Two groups share a name.
    #[error("process group name {0:?} is used twice")]
    DuplicateName(String),
    /// A group has no selector, so it would match nothing (or everything).
    #[error("process group {0:?} has no selector (comm, cmdline, pidfile or cgroup)")]
    NoSelector(String),
}

/// Counters of one process, as last seen.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    utime: u64,
    stime: u64,
    minflt: u64,
    majflt: u64,
    read_bytes: u64,
    write_bytes: u64,
    voluntary: u64,
    nonvoluntary: u64,
}

impl Counters {
    fn fields(&self) -> [u64; 8] {
        [
            self.utime,
            self.stime,
            self.minflt,
            self.majflt,
            self.read_bytes,
            self.write_bytes,
            self.voluntary,
            self.nonvoluntary,
        ]
    }
}

/// What the collector remembers of a process between collections.
struct Seen {
    starttime: u64,
    group: usize,
    counters: Counters,
    generation: u64,
}

/// Collects the configured process groups.
pub struct ProcessCollector {
    groups: Vec<ProcessGroupConfig>,
    proc_path: PathBuf,
    meminfo: PathBuf,
    proc_stat: PathBuf,
    boot_time: Option<u64>,
    ticks_per_second: f64,
    page_size: f64,
    roots: CgroupRoots,
    seen: HashMap<u32, Seen>,
    /// Per group: accumulated counters (ticks, counts, bytes).
    totals: Vec<[u64; 8]>,
    generation: u64,
    /// When the previous collection ran (milliseconds since the epoch).
    last_collect_ms: Option<i64>,
    partial_errors: u64,
    read_errors: u64,
    scrape_errors: u64,
    buf: Vec<u8>,
    cmdline: String,
    cgroup: Vec<u8>,
    paths: PidPaths,
    cache: LabelCache,
}

impl ProcessCollector {
    /// Builds the collector; refuses groups without a name or selector and
    /// duplicate names.
    pub fn new(config: ProcessConfig) -> Result<ProcessCollector, ProcessError> {
        for (i, g) in config.groups.iter().enumerate() {
            if g.name.is_empty() {
                return Err(ProcessError::EmptyName(i));
            }
            if config.groups[..i].iter().any(|o| o.name == g.name) {
                return Err(ProcessError::DuplicateName(g.name.clone()));
            }
            if g.comm.is_empty() && g.cmdline.is_none() && g.pidfile.is_none() && g.cgroup.is_none()
            {
                return Err(ProcessError::NoSelector(g.name.clone()));
            }
        }
        let n = config.groups.len();
        Ok(ProcessCollector {
            meminfo: config.proc_path.join("meminfo"),
            proc_stat: config.proc_path.join("stat"),
            roots: CgroupRoots::new(&config.sys_path),
            groups: config.groups,
            proc_path: config.proc_path,
            boot_time: None,
            ticks_per_second: rustix::param::clock_ticks_per_second().max(1) as f64,
            page_size: rustix::param::page_size() as f64,
            seen: HashMap::new(),
            totals: vec![[0; 8]; n],
            generation: 0,
            last_collect_ms: None,
            partial_errors: 0,
            read_errors: 0,
            scrape_errors: 0,
            buf: Vec::with_capacity(4096),
            cmdline: String::new(),
            cgroup: Vec::new(),
            paths: PidPaths::default(),
            cache: LabelCache::default(),
        })
    }

    /// The PID written in each group's pidfile, if any (errors reported).
    fn pidfile_pids(&mut self, errors: &mut Vec<CollectError>) -> Vec<Option<u32>> {
        let mut out = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let Some(path) = &g.pidfile else {
                out.push(None);
                continue;
            };
            match read_into(path, &mut self.buf) {
                Ok(()) => {
                    match parse_u64(self.buf.trim_ascii()).and_then(|p| u32::try_from(p).ok()) {
                        Some(pid) => out.push(Some(pid)),
                        None => {
                            errors.push(parse_error(path, "expected a process id"));
                            out.push(None);
                        }
                    }
                }
                Err(e) => {
                    errors.push(e);
                    out.push(None);
                }
            }
        }
        out
    }

    /// The first group `pid` belongs to.
    fn group_of(
        &mut self,
        pid: u32,
        pid_s: &str,
        comm: &[u8],
        pidfiles: &[Option<u32>],
    ) -> Option<usize> {
        let mut cmdline_read = false;
        let mut cgroup_read = false;
        for (gi, g) in self.groups.iter().enumerate() {
            if !g.comm.is_empty() && !g.comm.iter().any(|c| c.as_bytes() == comm) {
                continue;
            }
            if g.pidfile.is_some() && pidfiles[gi] != Some(pid) {
                continue;
            }
            if let Some(re) = &g.cmdline {
                if !cmdline_read {
                    cmdline_read = true;
                    self.cmdline.clear();
                    if read_ok(
                        self.paths.of(&self.proc_path, pid_s, "cmdline"),
                        &mut self.buf,
                    ) {
                        for (i, arg) in self
                            .buf
                            .split(|&b| b == 0)
                            .filter(|a| !a.is_empty())
                            .enumerate()
                        {
                            if i > 0 {
                                self.cmdline.push(' ');
                            }
                            self.cmdline.push_str(&String::from_utf8_lossy(arg));
                        }
                    }
                }
                if !re.is_match(&self.cmdline) {
                    continue;
                }
            }
            if let Some(want) = &g.cgroup {
                if !cgroup_read {
                    cgroup_read = true;
                    if !read_ok(
                        self.paths.of(&self.proc_path, pid_s, "cgroup"),
                        &mut self.cgroup,
                    ) {
                        self.cgroup.clear();
                    }
                }
                if !in_cgroup(&self.cgroup, want) {
                    continue;
                }
            }
            return Some(gi);
        }
        None
    }
}

/// Whether any hierarchy of a `/proc/<pid>/cgroup` content puts the
/// process in `want` or below it.
fn in_cgroup(cgroup_file: &[u8], want: &str) -> bool {
    let want = want.trim_end_matches('/');
    cgroup_file.split(|&b| b == b'\n').any(|line| {
        let Some(path) = line.splitn(3, |&b| b == b':').nth(2) else {
            return false;
        };
        let Ok(path) = std::str::from_utf8(path) else {
            return false;
        };
        if want.is_empty() {
            return true;
        }
        path == want || path.strip_prefix(want).is_some_and(|r| r.starts_with('/'))
    })
}

impl Collector for ProcessCollector {
    fn name(&self) -> &str {
        "process"
    }

    fn collect(&mut self, now_ms: i64, app: &mut dyn Appender) -> Vec<CollectError> {
        let mut errors = Vec::new();
        if self.boot_time.is_none() {
            match read_into(&self.proc_stat, &mut self.buf) {
                Ok(()) => self.boot_time = selfproc::boot_time(&self.buf),
                Err(e) => errors.push(e),
            }
        }
        let mem_total = match read_into(&self.meminfo, &mut self.buf) {
            Ok(()) => limit::mem_total(&self.buf),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let pidfiles = self.pidfile_pids(&mut errors);
        let entries = match std::fs::read_dir(&self.proc_path) {
            Ok(e) => e,
            Err(source) => {
                self.scrape_errors += 1;
                errors.push(CollectError::Io {
                    path: self.proc_path.display().to_string(),
                    source,
                });
                let counts = self.counts();
                let mut sink = Sink::new(app, now_ms, &mut self.cache);
                write_scrape_errors(&mut sink, counts);
                return errors;
            }
        };
        self.generation += 1;
        // The previous collection's time as clock ticks since boot: a
        // process whose start is later is wholly new.
        let new_since = match (self.last_collect_ms, self.boot_time) {
            (Some(last), Some(boot)) => {
                let since_boot_s = (last as f64 / 1000.0 - boot as f64 - 1.0).max(0.0);
                Some((since_boot_s * self.ticks_per_second) as u64)
            }
            _ => None,
        };
        self.last_collect_ms = Some(now_ms);
        let mut gauges: Vec<Gauges> = (0..self.groups.len()).map(|_| Gauges::default()).collect();
        let mut limits_of_oldest: Vec<Option<u64>> = vec![None; self.groups.len()];
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid_s) = name.to_str() else { continue };
            let Some(pid) = parse_u64(pid_s.as_bytes()).and_then(|p| u32::try_from(p).ok()) else {
                continue;
            };
            // A process that exits between the listing and the read is not
            // an error; an unparsable stat is.
            if !read_ok(self.paths.of(&self.proc_path, pid_s, "stat"), &mut self.buf) {
                continue;
            }
            let Some((comm, stat)) = parse_stat(&self.buf) else {
                self.read_errors += 1;
                continue;
            };
            let comm = comm.to_vec();
            let Some(gi) = self.group_of(pid, pid_s, &comm, &pidfiles) else {
                continue;
            };
            let (counters, fd_ratio_limit) = self.read_member(pid_s, &stat, &mut gauges[gi]);
            let g = &mut gauges[gi];
            if g.oldest.is_none_or(|(t, _)| stat.starttime < t) {
                g.oldest = Some((stat.starttime, pid));
                limits_of_oldest[gi] = fd_ratio_limit;
            }
            self.account(pid, gi, stat.starttime, counters, new_since);
        }
        let generation = self.generation;
        self.seen.retain(|_, s| s.generation == generation);

        let limits = self.memory_limits(&gauges, &limits_of_oldest, mem_total);
        {
            let counts = self.counts();
            let mut sink = Sink::new(app, now_ms, &mut self.cache);
            write_families(
                &mut sink,
                &self.groups,
                &gauges,
                &self.totals,
                &limits,
                Scale {
                    ticks_per_second: self.ticks_per_second,
                    boot_time: self.boot_time,
                },
                counts,
            );
        }
        self.cache.sweep();
        errors
    }
}

impl ProcessCollector {
    fn counts(&self) -> ErrorCounts {
        ErrorCounts {
            scrape: self.scrape_errors,
            partial: self.partial_errors,
            read: self.read_errors,
        }
    }

    /// Reads a member's status, io, fds and limits into its group's gauges;
    /// returns its counters and its RSS/address-space rlimit.
    fn read_member(&mut self, pid_s: &str, stat: &Stat, g: &mut Gauges) -> (Counters, Option<u64>) {
        g.procs += 1;
        g.resident += stat.rss as f64 * self.page_size;
        g.virtual_ += stat.vsize as f64;
        g.threads += stat.num_threads as f64;
        g.states[state_index(stat.state)] += 1.0;
        let mut c = Counters {
            utime: stat.utime,
            stime: stat.stime,
            minflt: stat.minflt,
            majflt: stat.majflt,
            ..Counters::default()
        };
        let mut partial = false;
        if read_ok(
            self.paths.of(&self.proc_path, pid_s, "status"),
            &mut self.buf,
        ) {
            let st = parse_status(&self.buf);
            g.swapped += st.swap_bytes as f64;
            c.voluntary = st.voluntary_ctxt;
            c.nonvoluntary = st.nonvoluntary_ctxt;
        } else {
            partial = true;
        }
        if read_ok(self.paths.of(&self.proc_path, pid_s, "io"), &mut self.buf) {
            (c.read_bytes, c.write_bytes) = parse_io(&self.buf);
        } else {
            partial = true;
        }
        let fds = count_fds(self.paths.of(&self.proc_path, pid_s, "fd")).ok();
        let mut rlimit = None;
        if read_ok(
            self.paths.of(&self.proc_path, pid_s, "limits"),
            &mut self.buf,
        ) {
            rlimit = limit::rlimit(&self.buf);
            if let (Some(n), Some(max)) =
                (fds, pidstat::soft_limit(&self.buf, pidstat::MAX_OPEN_FILES))
                && max > 0
            {
                g.worst_fd_ratio = g.worst_fd_ratio.max(n as f64 / max as f64);
            }
        } else {
            partial = true;
        }
        match fds {
            Some(n) => g.fds += n as f64,
            None => partial = true,
        }
        if partial {
            self.partial_errors += 1;
        }
        (c, rlimit)
    }

    /// Adds a member's growth since last seen to its group's totals.
    ///
    /// A process seen for the first time adds its whole count only if it
    /// started after the previous collection (all of it happened since);
    /// one that was already running (every process at the first collection,
    /// or one that moved into the group) is counted from now on, as
    /// process-exporter does, so no group starts with a jump.
    fn account(
        &mut self,
        pid: u32,
        group: usize,
        starttime: u64,
        now: Counters,
        new_since: Option<u64>,
    ) {
        let base = match self.seen.get(&pid) {
            Some(s) if s.starttime == starttime && s.group == group => s.counters,
            _ if new_since.is_some_and(|since| starttime >= since) => Counters::default(),
            _ => now,
        };
        let totals = &mut self.totals[group];
        for (t, (n, b)) in totals
            .iter_mut()
            .zip(now.fields().iter().zip(base.fields()))
        {
            *t = t.saturating_add(n.saturating_sub(b));
        }
        self.seen.insert(
            pid,
            Seen {
                starttime,
                group,
                counters: now,
                generation: self.generation,
            },
        );
    }

    /// Per group, the memory limit that applies (see [`limit`]).
    fn memory_limits(
        &mut self,
        gauges: &[Gauges],
        rlimits: &[Option<u64>],
        mem_total: Option<u64>,
    ) -> Vec<Option<u64>> {
        let mut out = Vec::with_capacity(self.groups.len());
        for (gi, g) in gauges.iter().enumerate() {
            let cgroup_limit = match g.oldest {
                Some((_, pid)) => {
                    let pid_s = pid.to_string();
                    if read_ok(
                        self.paths.of(&self.proc_path, &pid_s, "cgroup"),
                        &mut self.cgroup,
                    ) {
                        let content = std::mem::take(&mut self.cgroup);
                        let l = self.roots.for_process(&content, &mut self.buf);
                        self.cgroup = content;
                        l
                    } else {
                        None
                    }
                }
                None => match &self.groups[gi].cgroup {
                    Some(path) => self.roots.for_path(path, &mut self.buf),
                    None => None,
                },
            };
            let found = cgroup_limit.or(rlimits[gi]);
            out.push(match (found, mem_total) {
                (Some(l), Some(t)) => Some(l.min(t)),
                (Some(l), None) => Some(l),
                (None, t) => t,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::testing::MemAppender;
    use std::path::Path;

    fn group(name: &str) -> ProcessGroupConfig {
        ProcessGroupConfig {
            name: name.into(),
            comm: Vec::new(),
            cmdline: None,
            pidfile: None,
            cgroup: None,
        }
    }

    #[test]
    fn config_is_checked() {
        let cfg = |groups| ProcessConfig {
            groups,
            ..ProcessConfig::default()
        };
        assert_eq!(
            ProcessCollector::new(cfg(vec![group("a")])).err(),
            Some(ProcessError::NoSelector("a".into()))
        );
        let mut a = group("a");
        a.comm = vec!["x".into()];
        assert_eq!(
            ProcessCollector::new(cfg(vec![a.clone(), a.clone()])).err(),
            Some(ProcessError::DuplicateName("a".into()))
        );
        let mut e = a.clone();
        e.name.clear();
        assert_eq!(
            ProcessCollector::new(cfg(vec![e])).err(),
            Some(ProcessError::EmptyName(0))
        );
    }

    #[test]
    fn cgroup_membership() {
        let f = b"4:memory:/kubepods/pod1/app\n0::/system.slice/x.service\n";
        assert!(in_cgroup(f, "/kubepods/pod1"));
        assert!(in_cgroup(f, "/kubepods/pod1/"));
        assert!(in_cgroup(f, "/system.slice/x.service"));
        assert!(!in_cgroup(f, "/kubepods/pod"));
        assert!(!in_cgroup(f, "/other"));
    }

    /// A fake /proc with two processes of one program and one other.
    fn fake_proc(root: &Path) {
        let w = |rel: &str, s: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, s).unwrap();
        };
        w("stat", "cpu 1 2 3\nbtime 1700000000\n");
        w("meminfo", "MemTotal: 1048576 kB\n");
        let stat = |pid: u32, comm: &str, utime: u64, start: u64| {
            format!(
                "{pid} ({comm}) S 1 1 1 0 -1 0 10 0 2 0 {utime} 50 0 0 20 0 4 0 {start} 1000000 100 18446744073709551615\n"
            )
        };
        w("100/stat", &stat(100, "nginx", 200, 500));
        w("100/cmdline", "nginx: master\0-c\0/etc/nginx.conf\0");
        w(
            "100/status",
            "VmSwap:\t4 kB\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t1\n",
        );
        w("100/io", "read_bytes: 4096\nwrite_bytes: 0\n");
        w(
            "100/limits",
            "Max open files            10                   4096                 files\nMax address space         unlimited            unlimited            bytes\n",
        );
        w("100/cgroup", "0::/system.slice/nginx.service\n");
        w("100/fd/0", "");
        w("100/fd/1", "");
        w("101/stat", &stat(101, "nginx", 100, 900));
        w("101/cmdline", "nginx: worker\0");
        w("101/status", "VmSwap:\t0 kB\n");
        w("101/io", "read_bytes: 0\nwrite_bytes: 8192\n");
        w(
            "101/limits",
            "Max open files            4                    4096                 files\n",
        );
        w("101/cgroup", "0::/system.slice/nginx.service\n");
        w("101/fd/0", "");
        w("101/fd/1", "");
        w("101/fd/2", "");
        w("200/stat", &stat(200, "postgres", 1, 10));
        w("200/cmdline", "postgres\0-D\0/var/lib/pg\0");
        w("200/cgroup", "0::/system.slice/pg.service\n");
        w("self/stat", "garbage");
    }

    #[test]
    fn groups_from_a_fake_proc() {
        let dir = tempfile::tempdir().unwrap();
        let proc_ = dir.path().join("proc");
        let sys = dir.path().join("sys");
        fake_proc(&proc_);
        std::fs::create_dir_all(sys.join("fs/cgroup/system.slice/nginx.service")).unwrap();
        std::fs::write(sys.join("fs/cgroup/cgroup.controllers"), "memory\n").unwrap();
        std::fs::write(
            sys.join("fs/cgroup/system.slice/nginx.service/memory.max"),
            "104857600\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("pg.pid"), "200\n").unwrap();

        let mut web = group("web");
        web.comm = vec!["nginx".into()];
        let mut master = group("master");
        master.cmdline = Some(Regex::new("nginx: master").unwrap());
        let mut pg = group("pg");
        pg.pidfile = Some(dir.path().join("pg.pid"));
        let mut pgcg = group("pg-cgroup");
        pgcg.cgroup = Some("/system.slice/pg.service".into());
        let mut gone = group("gone");
        gone.comm = vec!["nothing".into()];
        let mut c = ProcessCollector::new(ProcessConfig {
            // "master" comes after "web": first match wins, so it is empty.
            groups: vec![web, master, pg, pgcg, gone],
            proc_path: proc_.clone(),
            sys_path: sys,
        })
        .unwrap();
        // 100 s after boot.
        let mut app = MemAppender::default();
        let errors = c.collect(1_700_000_100_000, &mut app);
        assert!(errors.is_empty(), "{errors:?}");
        let v = |s: &str| app.value(s);
        assert_eq!(
            v(r#"namedprocess_namegroup_num_procs{groupname="web"}"#),
            Some(2.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_num_procs{groupname="master"}"#),
            Some(0.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_num_procs{groupname="pg"}"#),
            Some(1.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_num_procs{groupname="pg-cgroup"}"#),
            Some(0.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_cpu_seconds_total{groupname="web", mode="user"}"#),
            Some(0.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_memory_bytes{groupname="web", memtype="resident"}"#),
            Some(200.0 * rustix::param::page_size() as f64)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_memory_bytes{groupname="web", memtype="swapped"}"#),
            Some(4096.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_open_filedesc{groupname="web"}"#),
            Some(5.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_worst_fd_ratio{groupname="web"}"#),
            Some(0.75)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_num_threads{groupname="web"}"#),
            Some(8.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_oldest_start_time_seconds{groupname="web"}"#),
            Some(1_700_000_005.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_read_bytes_total{groupname="web"}"#),
            Some(0.0)
        );
        assert_eq!(
            v(r#"namedprocess_namegroup_states{groupname="web", state="Sleeping"}"#),
            Some(2.0)
        );
        assert_eq!(
            v(r#"warden_process_memory_limit_bytes{groupname="web"}"#),
            Some(104857600.0)
        );
        // No cgroup limit, no rlimit: the host's memory.
        assert_eq!(
            v(r#"warden_process_memory_limit_bytes{groupname="pg"}"#),
            Some(1073741824.0)
        );
        assert!(
            v(r#"namedprocess_namegroup_oldest_start_time_seconds{groupname="gone"}"#).is_none()
        );
        // pg has no status/io/limits/fd: partial reads are counted, not errors.
        assert_eq!(v("namedprocess_scrape_partial_errors"), Some(1.0));

        // A worker exits, the master's counters grow, and a worker born
        // since the last collection arrives: totals only go up.
        std::fs::remove_dir_all(proc_.join("101")).unwrap();
        std::fs::write(
            proc_.join("100/stat"),
            "100 (nginx) S 1 1 1 0 -1 0 10 0 2 0 260 50 0 0 20 0 4 0 500 1000000 100 0\n",
        )
        .unwrap();
        std::fs::create_dir_all(proc_.join("102")).unwrap();
        std::fs::write(
            proc_.join("102/stat"),
            "102 (nginx) R 1 1 1 0 -1 0 10 0 2 0 40 5 0 0 20 0 1 0 20000 1000000 100 0\n",
        )
        .unwrap();
        let mut app = MemAppender::default();
        c.collect(1_700_000_300_000, &mut app);
        assert_eq!(
            app.value(r#"namedprocess_namegroup_cpu_seconds_total{groupname="web", mode="user"}"#),
            Some(1.0)
        );
        assert_eq!(
            app.value(r#"namedprocess_namegroup_num_procs{groupname="web"}"#),
            Some(2.0)
        );
        assert_eq!(
            app.value(r#"namedprocess_namegroup_states{groupname="web", state="Running"}"#),
            Some(1.0)
        );
    }

    #[test]
    fn unreadable_pidfile_is_an_error_for_its_group_only() {
        let dir = tempfile::tempdir().unwrap();
        let proc_ = dir.path().join("proc");
        fake_proc(&proc_);
        let mut pg = group("pg");
        pg.pidfile = Some(dir.path().join("missing.pid"));
        let mut web = group("web");
        web.comm = vec!["nginx".into()];
        let mut c = ProcessCollector::new(ProcessConfig {
            groups: vec![pg, web],
            proc_path: proc_,
            sys_path: dir.path().join("sys"),
        })
        .unwrap();
        let mut app = MemAppender::default();
        let errors = c.collect(1, &mut app);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("missing.pid"));
        assert_eq!(
            app.value(r#"namedprocess_namegroup_num_procs{groupname="web"}"#),
            Some(2.0)
        );
    }
}

//! Reading one process's figures from `/proc/<pid>/…` (directly, into
//! reused buffers): `stat`, `status`, `io`, `limits`, the `fd` directory,
//! `cmdline` and `cgroup`.

use std::path::{Path, PathBuf};

use crate::host::util::{fields, lines, parse_u64, read_into};

/// The fields of `/proc/<pid>/stat` the collectors use.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Stat {
    /// One of R, S, D, Z, T, t, X, I, ...
    pub(crate) state: u8,
    pub(crate) minflt: u64,
    pub(crate) majflt: u64,
    /// Clock ticks.
    pub(crate) utime: u64,
    /// Clock ticks.
    pub(crate) stime: u64,
    pub(crate) num_threads: u64,
    /// Clock ticks after boot.
    pub(crate) starttime: u64,
    /// Bytes.
    pub(crate) vsize: u64,
    /// Pages.
    pub(crate) rss: u64,
}

/// Parses `/proc/<pid>/stat`; returns the command name (`comm`) and the
/// figures. The name is between the first `(` and the last `)`, since it
/// may itself contain parentheses and spaces.
pub(crate) fn parse_stat(content: &[u8]) -> Option<(&[u8], Stat)> {
    let open = content.iter().position(|&b| b == b'(')?;
    let close = content.iter().rposition(|&b| b == b')')?;
    let comm = content.get(open + 1..close)?;
    // Field 3 (state) is the first after the name; index k here is field k+3.
    let mut f = fields(content.get(close + 1..)?);
    let mut s = Stat {
        state: *f.next()?.first()?,
        ..Stat::default()
    };
    // Fields 4..=24 follow; keep the ones needed.
    for field in 4..=24 {
        let raw = f.next()?;
        let v = || parse_u64(raw);
        match field {
            10 => s.minflt = v()?,
            12 => s.majflt = v()?,
            14 => s.utime = v()?,
            15 => s.stime = v()?,
            20 => s.num_threads = v()?,
            22 => s.starttime = v()?,
            23 => s.vsize = v()?,
            24 => s.rss = v()?,
            _ => {}
        }
    }
    Some((comm, s))
}

/// From `/proc/<pid>/status`: VmSwap (bytes) and the context switches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Status {
    pub(crate) swap_bytes: u64,
    pub(crate) voluntary_ctxt: u64,
    pub(crate) nonvoluntary_ctxt: u64,
}

pub(crate) fn parse_status(content: &[u8]) -> Status {
    let mut s = Status::default();
    for line in lines(content) {
        let mut f = fields(line);
        let (Some(key), Some(v)) = (f.next(), f.next().and_then(parse_u64)) else {
            continue;
        };
        match key {
            b"VmSwap:" => s.swap_bytes = v.saturating_mul(1024),
            b"voluntary_ctxt_switches:" => s.voluntary_ctxt = v,
            b"nonvoluntary_ctxt_switches:" => s.nonvoluntary_ctxt = v,
            _ => {}
        }
    }
    s
}

/// From `/proc/<pid>/io`: bytes really read from and written to storage.
pub(crate) fn parse_io(content: &[u8]) -> (u64, u64) {
    let (mut read, mut write) = (0, 0);
    for line in lines(content) {
        let mut f = fields(line);
        match (f.next(), f.next().and_then(parse_u64)) {
            (Some(b"read_bytes:"), Some(v)) => read = v,
            (Some(b"write_bytes:"), Some(v)) => write = v,
            _ => {}
        }
    }
    (read, write)
}

/// A soft limit from `/proc/<pid>/limits`: `None` when the line is absent,
/// `Some(u64::MAX)` for `unlimited` (as Prometheus's Go procfs reads it).
pub(crate) fn soft_limit(content: &[u8], name: &[u8]) -> Option<u64> {
    for line in lines(content) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let raw = fields(rest).next()?;
        return if raw == b"unlimited" {
            Some(u64::MAX)
        } else {
            parse_u64(raw)
        };
    }
    None
}

/// `Max open files` in `/proc/<pid>/limits`.
pub(crate) const MAX_OPEN_FILES: &[u8] = b"Max open files";
/// `Max address space` in `/proc/<pid>/limits`.
pub(crate) const MAX_ADDRESS_SPACE: &[u8] = b"Max address space";
/// `Max resident set` in `/proc/<pid>/limits`.
pub(crate) const MAX_RESIDENT_SET: &[u8] = b"Max resident set";

/// Number of entries of `/proc/<pid>/fd`.
pub(crate) fn count_fds(dir: &Path) -> std::io::Result<u64> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir)? {
        entry?;
        n += 1;
    }
    Ok(n)
}

/// The paths of one process's files, rebuilt in place for each pid.
#[derive(Default)]
pub(crate) struct PidPaths {
    path: PathBuf,
}

impl PidPaths {
    /// `<proc>/<pid>/<file>`.
    pub(crate) fn of(&mut self, proc_path: &Path, pid: &str, file: &str) -> &Path {
        self.path.clear();
        self.path.push(proc_path);
        self.path.push(pid);
        self.path.push(file);
        &self.path
    }
}

/// Reads a file into `buf`; `false` when it could not be read (the process
/// may have exited, or the file is not ours to read).
pub(crate) fn read_ok(path: &Path, buf: &mut Vec<u8>) -> bool {
    read_into(path, buf).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_name() {
        let line = b"1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 500 0 7 0 150 25 0 0 20 0 3 0 4242 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
        let (comm, s) = parse_stat(line).unwrap();
        assert_eq!(comm, b"my (odd) name");
        assert_eq!(
            s,
            Stat {
                state: b'S',
                minflt: 500,
                majflt: 7,
                utime: 150,
                stime: 25,
                num_threads: 3,
                starttime: 4242,
                vsize: 104857600,
                rss: 2560,
            }
        );
        assert!(parse_stat(b"1234 (x) S 1 2").is_none());
        assert!(parse_stat(b"garbage").is_none());
    }

    #[test]
    fn status_io_limits() {
        let st = parse_status(
            b"Name:\tx\nVmSwap:\t     12 kB\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n",
        );
        assert_eq!(st.swap_bytes, 12 * 1024);
        assert_eq!((st.voluntary_ctxt, st.nonvoluntary_ctxt), (5, 6));
        assert_eq!(
            parse_io(b"rchar: 1\nread_bytes: 4096\nwrite_bytes: 8192\n"),
            (4096, 8192)
        );
        let limits =
            b"Limit                     Soft Limit           Hard Limit           Units     \n\
Max resident set          unlimited            unlimited            bytes     \n\
Max open files            1024                 4096                 files     \n";
        assert_eq!(soft_limit(limits, MAX_OPEN_FILES), Some(1024));
        assert_eq!(soft_limit(limits, MAX_RESIDENT_SET), Some(u64::MAX));
        assert_eq!(soft_limit(limits, MAX_ADDRESS_SPACE), None);
    }
}

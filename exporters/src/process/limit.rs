//! The memory limit that applies to a process, for
//! `warden_process_memory_limit_bytes`: the leak detector compares a
//! group's resident memory with the ceiling it will hit.
//!
//! In order: the cgroup memory limit (v1 `memory.limit_in_bytes`, v2
//! `memory.max`; the tightest of the process's cgroup and its ancestors),
//! else the tighter of the soft `RLIMIT_RSS` and `RLIMIT_AS`, else the
//! host's `MemTotal`; and never more than `MemTotal`, since no process
//! grows past the machine.

use std::path::{Path, PathBuf};

use super::pidstat::{MAX_ADDRESS_SPACE, MAX_RESIDENT_SET, soft_limit};
use crate::host::util::{fields, lines, parse_u64, read_into};

/// Values at or above this mean "no limit" (cgroup v1 writes
/// 9223372036854771712 for unlimited).
const UNLIMITED: u64 = 1 << 62;

/// Where the memory controller's files are, for cgroup v1 and v2.
pub(crate) struct CgroupRoots {
    v1_memory: PathBuf,
    v2: PathBuf,
    file: PathBuf,
}

impl CgroupRoots {
    pub(crate) fn new(sys_path: &Path) -> CgroupRoots {
        let base = sys_path.join("fs/cgroup");
        // A pure v2 host mounts the unified tree at /sys/fs/cgroup; a hybrid
        // one mounts it at /sys/fs/cgroup/unified.
        let v2 = if base.join("cgroup.controllers").exists() {
            base.clone()
        } else {
            base.join("unified")
        };
        CgroupRoots {
            v1_memory: base.join("memory"),
            v2,
            file: PathBuf::new(),
        }
    }

    /// The tightest limit in `file` on `rel` and its ancestors under `root`.
    fn walk(&mut self, v1: bool, rel: &str, buf: &mut Vec<u8>) -> Option<u64> {
        let (root, file) = if v1 {
            (&self.v1_memory, "memory.limit_in_bytes")
        } else {
            (&self.v2, "memory.max")
        };
        let mut best: Option<u64> = None;
        let mut dir = rel.trim_matches('/');
        loop {
            self.file.clear();
            self.file.push(root);
            if !dir.is_empty() {
                self.file.push(dir);
            }
            self.file.push(file);
            if read_into(&self.file, buf).is_ok()
                && let Some(v) = parse_u64(buf.trim_ascii()).filter(|v| *v < UNLIMITED)
            {
                best = Some(best.map_or(v, |b| b.min(v)));
            }
            if dir.is_empty() {
                return best;
            }
            dir = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
        }
    }

    /// The limit on a configured cgroup path (v2 first, then v1's memory tree).
    pub(crate) fn for_path(&mut self, rel: &str, buf: &mut Vec<u8>) -> Option<u64> {
        self.walk(false, rel, buf)
            .or_else(|| self.walk(true, rel, buf))
    }

    /// The limit on the cgroup of a process, from its `/proc/<pid>/cgroup`
    /// content: the v1 memory hierarchy when it has one, else the v2 path.
    pub(crate) fn for_process(&mut self, cgroup_file: &[u8], buf: &mut Vec<u8>) -> Option<u64> {
        let mut v2_path = None;
        for line in lines(cgroup_file) {
            let mut parts = line.splitn(3, |&b| b == b':');
            let (Some(id), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(path) = std::str::from_utf8(path) else {
                continue;
            };
            if controllers.split(|&b| b == b',').any(|c| c == b"memory") {
                let owned = path.to_string();
                return self.walk(true, &owned, buf);
            }
            if id == b"0" && controllers.is_empty() {
                v2_path = Some(path.to_string());
            }
        }
        v2_path.and_then(|p| self.walk(false, &p, buf))
    }
}

/// The tighter of the soft RSS and address-space limits, if either is set.
pub(crate) fn rlimit(limits_file: &[u8]) -> Option<u64> {
    [MAX_RESIDENT_SET, MAX_ADDRESS_SPACE]
        .iter()
        .filter_map(|n| soft_limit(limits_file, n))
        .filter(|v| *v < UNLIMITED)
        .min()
}

/// `MemTotal` in bytes from the content of `/proc/meminfo`.
pub(crate) fn mem_total(meminfo: &[u8]) -> Option<u64> {
    lines(meminfo).find_map(|l| {
        let mut f = fields(l);
        (f.next()? == b"MemTotal:")
            .then(|| f.next().and_then(parse_u64))
            .flatten()
            .map(|kb| kb.saturating_mul(1024))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: PathBuf, s: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    }

    #[test]
    fn v2_tightest_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("fs/cgroup");
        write(cg.join("cgroup.controllers"), "memory\n");
        write(cg.join("kubepods/memory.max"), "1073741824\n");
        write(cg.join("kubepods/pod1/memory.max"), "max\n");
        write(cg.join("kubepods/pod1/app/memory.max"), "2147483648\n");
        let mut roots = CgroupRoots::new(dir.path());
        let mut buf = Vec::new();
        assert_eq!(
            roots.for_process(b"0::/kubepods/pod1/app\n", &mut buf),
            Some(1073741824)
        );
        assert_eq!(roots.for_path("/kubepods/pod1", &mut buf), Some(1073741824));
        assert_eq!(roots.for_process(b"0::/other\n", &mut buf), None);
    }

    #[test]
    fn v1_memory_hierarchy() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("fs/cgroup");
        write(
            cg.join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        write(cg.join("memory/svc/memory.limit_in_bytes"), "536870912\n");
        let mut roots = CgroupRoots::new(dir.path());
        let mut buf = Vec::new();
        assert_eq!(
            roots.for_process(b"9:name=systemd:/\n4:memory:/svc\n0::/\n", &mut buf),
            Some(536870912)
        );
        assert_eq!(roots.for_process(b"4:memory:/\n", &mut buf), None);
    }

    #[test]
    fn rlimits_and_memtotal() {
        let limits = b"Max resident set          unlimited            unlimited            bytes\n\
Max address space         4294967296           unlimited            bytes\n";
        assert_eq!(rlimit(limits), Some(4294967296));
        assert_eq!(
            rlimit(b"Max address space unlimited unlimited bytes\n"),
            None
        );
        assert_eq!(
            mem_total(b"MemTotal:  1000 kB\nMemFree: 1 kB\n"),
            Some(1024000)
        );
    }
}

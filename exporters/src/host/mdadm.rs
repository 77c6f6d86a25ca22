//! Software RAID families from `/proc/mdstat` (read directly), as
//! node_exporter 1.5 reads them through Prometheus's procfs:
//! `node_md_disks{device,state="active"|"failed"|"spare"}`,
//! `node_md_disks_required{device}`,
//! `node_md_state{device,state="active"|"inactive"|"recovering"|"resync"|"check"}`,
//! `node_md_blocks{device}` and `node_md_blocks_synced{device}`. These feed
//! the usual RAID alerts. No `/proc/mdstat` (no md driver) is no family and
//! no error; a malformed file fails the family.

use std::path::{Path, PathBuf};

use regex::Regex;
use warden_tsdb::MetricType;

use super::util::{Sink, parse_error, read_into};
use crate::collector::CollectError;

/// One array, as parsed.
struct Array {
    name: String,
    state: String,
    active: i64,
    failed: i64,
    spare: i64,
    total: i64,
    size: i64,
    synced: i64,
}

/// The mdadm family group.
pub(crate) struct Mdadm {
    path: PathBuf,
    status: Regex,
    recovered: Regex,
}

impl Mdadm {
    pub(crate) fn new(proc_path: &Path) -> Mdadm {
        Mdadm {
            path: proc_path.join("mdstat"),
            status: Regex::new(r"(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]")
                .expect("constant pattern compiles"),
            recovered: Regex::new(r"\((\d+)/\d+\)").expect("constant pattern compiles"),
        }
    }

    /// Reads `/proc/mdstat` into `buf` and writes the families.
    pub(crate) fn collect(
        &mut self,
        buf: &mut Vec<u8>,
        sink: &mut Sink<'_>,
    ) -> Result<(), CollectError> {
        match read_into(&self.path, buf) {
            Ok(()) => {}
            Err(CollectError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let text = String::from_utf8_lossy(buf);
        let arrays = self
            .parse(&text)
            .map_err(|why| parse_error(&self.path, why))?;
        use MetricType::Gauge;
        sink.family(
            "node_md_disks",
            Gauge,
            "Number of active/failed/spare disks of device.",
        );
        sink.family(
            "node_md_disks_required",
            Gauge,
            "Total number of disks of device.",
        );
        sink.family("node_md_state", Gauge, "Indicates the state of md-device.");
        sink.family("node_md_blocks", Gauge, "Total number of blocks on device.");
        sink.family(
            "node_md_blocks_synced",
            Gauge,
            "Number of blocks synced on device.",
        );
        for a in &arrays {
            let d = a.name.as_str();
            for (state, v) in [
                ("active", a.active),
                ("failed", a.failed),
                ("spare", a.spare),
            ] {
                sink.sample(
                    "node_md_disks",
                    &[("device", d), ("state", state)],
                    v as f64,
                );
            }
            sink.sample("node_md_disks_required", &[("device", d)], a.total as f64);
            for (label, state) in [
                ("active", "active"),
                ("inactive", "inactive"),
                ("recovering", "recovering"),
                ("resync", "resyncing"),
                ("check", "checking"),
            ] {
                let v = if a.state == state { 1.0 } else { 0.0 };
                sink.sample("node_md_state", &[("device", d), ("state", label)], v);
            }
            sink.sample("node_md_blocks", &[("device", d)], a.size as f64);
            sink.sample("node_md_blocks_synced", &[("device", d)], a.synced as f64);
        }
        Ok(())
    }

    fn parse(&self, text: &str) -> Result<Vec<Array>, String> {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty()
                || line.starts_with(' ')
                || line.starts_with("Personalities")
                || line.starts_with("unused")
            {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 3 {
                return Err(format!(
                    "not enough fields in mdline (expected at least 3): {line}"
                ));
            }
            let name = fields[0].to_string();
            let mut state = fields[2].to_string();
            if lines.len() <= i + 3 {
                return Err(format!("too few lines for md device {name}"));
            }
            let failed = line.matches("(F)").count() as i64;
            let spare = line.matches("(S)").count() as i64;
            let (active, total, size) = self.status_line(line, lines[i + 1])?;
            let mut sync_idx = i + 2;
            if lines[i + 2].contains("bitmap") {
                sync_idx += 1;
            }
            let sync_line = lines.get(sync_idx).copied().unwrap_or("");
            let mut synced = size;
            let recovering = sync_line.contains("recovery");
            let resyncing = sync_line.contains("resync");
            let checking = sync_line.contains("check");
            if recovering || resyncing || checking {
                state = if recovering {
                    "recovering"
                } else if checking {
                    "checking"
                } else {
                    "resyncing"
                }
                .to_string();
                if sync_line.contains("PENDING") || sync_line.contains("DELAYED") {
                    synced = 0;
                } else {
                    synced = self
                        .recovered
                        .captures(sync_line)
                        .and_then(|c| c.get(1))
                        .and_then(|m| m.as_str().parse().ok())
                        .ok_or_else(|| {
                            format!("unexpected recovery line in {name}: {sync_line}")
                        })?;
                }
            }
            out.push(Array {
                name,
                state,
                active,
                failed,
                spare,
                total,
                size,
                synced,
            });
        }
        Ok(out)
    }

    /// (active, total, size) from the device line and the status line.
    fn status_line(&self, device_line: &str, status_line: &str) -> Result<(i64, i64, i64), String> {
        let size: i64 = status_line
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("unexpected status line {status_line:?}"))?;
        if device_line.contains("raid0") || device_line.contains("linear") {
            let total = device_line.matches('[').count() as i64;
            return Ok((total, total, size));
        }
        if device_line.contains("inactive") {
            return Ok((0, 0, size));
        }
        let c = self
            .status
            .captures(status_line)
            .ok_or_else(|| format!("couldn't find all the substring matches: {status_line}"))?;
        let num = |i: usize| -> Result<i64, String> {
            c.get(i)
                .and_then(|m| m.as_str().parse().ok())
                .ok_or_else(|| format!("bad number in {status_line:?}"))
        };
        Ok((num(3)?, num(2)?, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn arrays_states_and_sync() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mdstat"),
            "Personalities : [raid1] [raid6] [raid5] [raid4]\n\
             md3 : active raid6 sda1[8] sdh1[7] sdg1[6] sdf1[5] sde1[11] sdd1[3] sdc1[10] sdb1[9]\n\
             \x20     5853468288 blocks super 1.2 level 6, 64k chunk, algorithm 2 [8/8] [UUUUUUUU]\n\
             \n\
             md127 : active raid1 sdi2[0] sdj2[1](F)\n\
             \x20     312319552 blocks [2/1] [U_]\n\
             \x20     [=>...................]  recovery =  8.5% (26544128/312319552) finish=42.8min speed=111200K/sec\n\
             \n\
             unused devices: <none>\n",
        )
        .unwrap();
        let mut m = Mdadm::new(dir.path());
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        m.collect(&mut Vec::new(), &mut sink).unwrap();
        assert_eq!(
            app.value(r#"node_md_disks{device="md3", state="active"}"#),
            Some(8.0)
        );
        assert_eq!(
            app.value(r#"node_md_disks_required{device="md127"}"#),
            Some(2.0)
        );
        assert_eq!(
            app.value(r#"node_md_disks{device="md127", state="failed"}"#),
            Some(1.0)
        );
        assert_eq!(
            app.value(r#"node_md_state{device="md127", state="recovering"}"#),
            Some(1.0)
        );
        assert_eq!(
            app.value(r#"node_md_state{device="md127", state="active"}"#),
            Some(0.0)
        );
        assert_eq!(
            app.value(r#"node_md_blocks_synced{device="md127"}"#),
            Some(26544128.0)
        );
        assert_eq!(
            app.value(r#"node_md_blocks_synced{device="md3"}"#),
            Some(5853468288.0)
        );
    }
}

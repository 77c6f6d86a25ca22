//! `statfs(2)` with a deadline, so a hung mount (a dead NFS server, a
//! wedged FUSE daemon) costs its own `device_error` series instead of
//! stalling every later host collection.
//!
//! The calls run on one worker thread, a whole collection's mounts per
//! request, each result streamed back. If a mount does not answer within
//! the timeout it is marked stuck, reported as a device error, and the
//! worker is abandoned to its blocked call; a fresh worker carries on with
//! the remaining mounts. A stuck mount is skipped (device error) until its
//! abandoned worker returns, which then clears the mark and exits, so at
//! most one thread is parked per hung mount. This is node_exporter's
//! stuck-mount rule, with its 5 s default timeout.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One mount's statfs figures, as node_exporter computes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stats {
    pub(crate) size: f64,
    pub(crate) free: f64,
    pub(crate) avail: f64,
    pub(crate) files: f64,
    pub(crate) files_free: f64,
}

/// The call made for each mount: the real `statfs`, or a stand-in in tests.
pub(crate) type StatFn = fn(&str) -> Option<Stats>;

/// `statfs(2)` of `path`: blocks times `f_bsize`, as node_exporter does.
pub(crate) fn statfs(path: &str) -> Option<Stats> {
    let st = rustix::fs::statfs(path).ok()?;
    let bsize = st.f_bsize as f64;
    Some(Stats {
        size: st.f_blocks as f64 * bsize,
        free: st.f_bfree as f64 * bsize,
        avail: st.f_bavail as f64 * bsize,
        files: st.f_files as f64,
        files_free: st.f_ffree as f64,
    })
}

enum Reply {
    One(usize, Option<Stats>),
    /// The batch is done; the paths come back for reuse.
    Done(Vec<String>),
}

struct Worker {
    tx: SyncSender<Vec<String>>,
    rx: Receiver<Reply>,
}

/// Runs statfs calls with a per-mount deadline.
pub(crate) struct Statfs {
    call: StatFn,
    timeout: Duration,
    worker: Option<Worker>,
    stuck: Arc<Mutex<HashSet<String>>>,
    /// Paths buffer handed to the worker and given back.
    spare: Vec<String>,
}

impl Statfs {
    pub(crate) fn new(call: StatFn, timeout: Duration) -> Statfs {
        Statfs {
            call,
            timeout,
            worker: None,
            stuck: Arc::default(),
            spare: Vec::new(),
        }
    }

    fn spawn(&self) -> Option<Worker> {
        let (tx, job_rx) = sync_channel::<Vec<String>>(1);
        // Room for a whole batch of replies plus the Done, so the worker
        // never blocks on a slow reader.
        let (reply_tx, rx) = sync_channel::<Reply>(4096);
        let stuck = Arc::clone(&self.stuck);
        let call = self.call;
        std::thread::Builder::new()
            .name("warden-statfs".into())
            .spawn(move || {
                while let Ok(paths) = job_rx.recv() {
                    for (i, p) in paths.iter().enumerate() {
                        let r = call(p);
                        if reply_tx.send(Reply::One(i, r)).is_err() {
                            // Abandoned while this call hung: clear the mark.
                            if let Ok(mut s) = stuck.lock() {
                                s.remove(p);
                            }
                            return;
                        }
                    }
                    if reply_tx.send(Reply::Done(paths)).is_err() {
                        return;
                    }
                }
            })
            .ok()?;
        Some(Worker { tx, rx })
    }

    /// statfs of every path, in order; `None` where it failed, timed out or
    /// the mount is still stuck from an earlier collection.
    pub(crate) fn run(&mut self, paths: &[String], out: &mut Vec<Option<Stats>>) {
        out.clear();
        out.resize(paths.len(), None);
        let mut next = 0;
        while next < paths.len() {
            // Skip mounts still stuck from before.
            let stuck_now = match self.stuck.lock() {
                Ok(s) => s.contains(&paths[next]),
                Err(_) => false,
            };
            if stuck_now {
                next += 1;
                continue;
            }
            if self.worker.is_none() {
                self.worker = self.spawn();
            }
            let Some(worker) = &self.worker else {
                // No thread to be had: call inline rather than not at all.
                out[next] = (self.call)(&paths[next]);
                next += 1;
                continue;
            };
            // This batch: from `next` up to the next stuck mount.
            let end = match self.stuck.lock() {
                Ok(s) => (next..paths.len())
                    .find(|&i| s.contains(&paths[i]))
                    .unwrap_or(paths.len()),
                Err(_) => paths.len(),
            };
            let mut batch = std::mem::take(&mut self.spare);
            batch.truncate(end - next);
            for (i, p) in paths[next..end].iter().enumerate() {
                match batch.get_mut(i) {
                    Some(b) => {
                        b.clear();
                        b.push_str(p);
                    }
                    None => batch.push(p.clone()),
                }
            }
            if worker.tx.send(batch).is_err() {
                self.worker = None;
                continue;
            }
            let start = next;
            loop {
                match worker.rx.recv_timeout(self.timeout) {
                    Ok(Reply::One(i, r)) => {
                        out[start + i] = r;
                        next = start + i + 1;
                    }
                    Ok(Reply::Done(paths_back)) => {
                        self.spare = paths_back;
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        // paths[next] is hanging: mark it and leave the
                        // worker to it.
                        if let Ok(mut s) = self.stuck.lock() {
                            s.insert(paths[next].clone());
                        }
                        self.worker = None;
                        next += 1;
                        break;
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        self.worker = None;
                        next += 1;
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    static RELEASE: AtomicBool = AtomicBool::new(false);

    /// Hangs on "/hang" until released; fails on "/bad"; else a fixed size.
    fn fake(path: &str) -> Option<Stats> {
        match path {
            "/hang" => {
                while !RELEASE.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                None
            }
            "/bad" => None,
            _ => Some(Stats {
                size: path.len() as f64,
                free: 0.0,
                avail: 0.0,
                files: 0.0,
                files_free: 0.0,
            }),
        }
    }

    #[test]
    fn a_hung_mount_costs_only_itself() {
        let mut s = Statfs::new(fake, Duration::from_secs(1));
        let paths: Vec<String> = ["/a", "/hang", "/bad", "/cc"]
            .iter()
            .map(|p| p.to_string())
            .collect();
        let mut out = Vec::new();
        s.run(&paths, &mut out);
        let sizes: Vec<Option<f64>> = out.iter().map(|o| o.map(|s| s.size)).collect();
        assert_eq!(sizes, vec![Some(2.0), None, None, Some(3.0)]);
        assert!(s.stuck.lock().unwrap().contains("/hang"));

        // Still hanging: skipped without waiting, the rest is served.
        s.run(&paths, &mut out);
        let sizes: Vec<Option<f64>> = out.iter().map(|o| o.map(|s| s.size)).collect();
        assert_eq!(sizes, vec![Some(2.0), None, None, Some(3.0)]);

        // Once the call returns, the mark goes and the mount is tried again.
        RELEASE.store(true, Ordering::SeqCst);
        for _ in 0..200 {
            if !s.stuck.lock().unwrap().contains("/hang") {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!s.stuck.lock().unwrap().contains("/hang"));
        s.run(&paths, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].map(|s| s.size), Some(2.0));
    }

    #[test]
    fn real_statfs_of_root() {
        let mut s = Statfs::new(statfs, Duration::from_secs(5));
        let mut out = Vec::new();
        s.run(
            &["/".to_string(), "/nonexistent-mount".to_string()],
            &mut out,
        );
        assert!(out[0].is_some_and(|s| s.size > 0.0));
        assert!(out[1].is_none());
    }
}

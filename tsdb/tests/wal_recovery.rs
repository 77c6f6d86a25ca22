//! Recovery from damaged WAL segments: torn tails at every byte offset,
//! corrupt records in the middle, garbage.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use warden_tsdb::record::{self, Record};
use warden_tsdb::{Appender, Db, DbOptions, FsyncPolicy, Labels, MatchOp, Matcher, Querier};

fn opts() -> DbOptions {
    DbOptions {
        fsync: FsyncPolicy::Never,
        ..DbOptions::default()
    }
}

/// Every stored sample as (labels, t, value bits).
fn contents(db: &Db) -> BTreeSet<(String, i64, u64)> {
    let sel = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    db.select(&sel, i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .flat_map(|s| {
            let name = s.labels.to_string();
            s.samples
                .into_iter()
                .map(move |x| (name.clone(), x.t, x.v.to_bits()))
        })
        .collect()
}

fn series(i: u32) -> Labels {
    Labels::from_pairs([("__name__", "m".to_string()), ("i", i.to_string())]).unwrap()
}

/// Writes a WAL with `commits` commits (new series along the way,
/// metadata, special values) into `dir`; returns its segments in order.
fn write_segments(dir: &Path, segment_bytes: u64, commits: u32) -> Vec<(String, Vec<u8>)> {
    let o = DbOptions {
        segment_bytes,
        ..opts()
    };
    let db = Db::open(dir, o).unwrap();
    for c in 0..commits {
        let mut app = db.appender();
        for s in 0..=c.min(3) {
            let v = match c {
                4 => f64::NAN,
                5 => -0.0,
                _ => f64::from(c * 10 + s),
            };
            app.append(&series(s), i64::from(c) * 1000, v).unwrap();
        }
        if c == 2 {
            app.set_metadata("m", Default::default());
        }
        app.commit().unwrap();
        drop(app);
    }
    db.close().unwrap();
    let mut names: Vec<String> = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let data = fs::read(dir.join("wal").join(&n)).unwrap();
            (n, data)
        })
        .collect()
}

/// The one segment of a small WAL.
fn write_wal(dir: &Path) -> Vec<u8> {
    let mut segs = write_segments(dir, 1 << 20, 6);
    assert_eq!(segs.len(), 1);
    segs.remove(0).1
}

/// What replaying exactly the complete records within `data` must give.
fn expected_from(data: &[u8]) -> BTreeSet<(String, i64, u64)> {
    let mut labels: HashMap<u64, Labels> = HashMap::new();
    let mut out = BTreeSet::new();
    let mut at = 0;
    while let Ok((rec, n)) = record::decode(&data[at..]) {
        at += n;
        match rec {
            Record::Series(list) => labels.extend(list),
            Record::Samples(list) => {
                for (id, t, v) in list {
                    out.insert((labels[&id].to_string(), t, v));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn torn_tail_at_every_byte_offset() {
    let src = tempfile::tempdir().unwrap();
    let data = write_wal(src.path());
    let full = expected_from(&data);
    assert_eq!(full.len(), 1 + 2 + 3 + 4 + 4 + 4);
    let mut previous = 0;
    for cut in 0..=data.len() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("wal")).unwrap();
        fs::write(dir.path().join("wal").join("00000000"), &data[..cut]).unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let got = contents(&db);
        let want = expected_from(&data[..cut]);
        assert_eq!(got, want, "cut at byte {cut}");
        assert!(
            got.len() >= previous,
            "cut at byte {cut}: data went missing"
        );
        previous = got.len();
        // The segment was cut back to its last complete record, so a
        // second open is clean and new appends survive.
        let mut app = db.appender();
        app.append(&series(99), 1_000_000, 1.0).unwrap();
        app.commit().unwrap();
        drop(app);
        db.close().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        assert_eq!(db.stats().wal_corruptions_total, 0, "cut at byte {cut}");
        assert_eq!(contents(&db).len(), want.len() + 1, "cut at byte {cut}");
    }
    assert_eq!(previous, full.len());
}

#[test]
fn torn_last_segment_after_complete_ones() {
    let src = tempfile::tempdir().unwrap();
    let segs = write_segments(src.path(), 200, 14);
    assert!(segs.len() >= 3, "{} segments", segs.len());
    let (last_name, last) = segs.last().unwrap().clone();
    let earlier: Vec<u8> = segs[..segs.len() - 1]
        .iter()
        .flat_map(|(_, d)| d.clone())
        .collect();
    for cut in 0..=last.len() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("wal");
        fs::create_dir_all(&wal).unwrap();
        for (name, data) in &segs[..segs.len() - 1] {
            fs::write(wal.join(name), data).unwrap();
        }
        fs::write(wal.join(&last_name), &last[..cut]).unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let mut all = earlier.clone();
        all.extend_from_slice(&last[..cut]);
        assert_eq!(contents(&db), expected_from(&all), "cut at byte {cut}");
        db.close().unwrap();
    }
}

#[test]
fn corrupt_record_mid_segment_keeps_what_came_before() {
    let src = tempfile::tempdir().unwrap();
    let data = write_wal(src.path());
    // Find the record boundaries and damage the third record's payload.
    let mut bounds = vec![0];
    let mut at = 0;
    while let Ok((_, n)) = record::decode(&data[at..]) {
        at += n;
        bounds.push(at);
    }
    assert!(bounds.len() > 5);
    let bad = bounds[2] + record::FRAME_HEADER + 1;
    let mut damaged = data.clone();
    damaged[bad] ^= 0x40;

    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    fs::create_dir_all(&wal).unwrap();
    fs::write(wal.join("00000000"), &damaged).unwrap();
    // A later segment with samples for a series known from before the damage.
    let mut later = Vec::new();
    record::encode(
        &mut later,
        &Record::Samples(vec![(1, 50_000, 7.0f64.to_bits())]),
    );
    fs::write(wal.join("00000001"), &later).unwrap();

    let db = Db::open(dir.path(), opts()).unwrap();
    let mut want = expected_from(&data[..bounds[2]]);
    want.insert((series(0).to_string(), 50_000, 7.0f64.to_bits()));
    assert_eq!(contents(&db), want);
    assert_eq!(db.stats().wal_corruptions_total, 1);
    db.close().unwrap();
    assert_eq!(
        fs::metadata(wal.join("00000000")).unwrap().len(),
        bounds[2] as u64
    );
}

#[test]
fn garbage_files_do_not_stop_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    fs::create_dir_all(&wal).unwrap();
    // A plausible header announcing a huge payload, and plain noise.
    fs::write(
        wal.join("00000000"),
        [2u8, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 1, 2, 3],
    )
    .unwrap();
    fs::write(wal.join("00000001"), b"\x01\x00\x00\x00\x00noise").unwrap();
    fs::write(wal.join("checkpoint.00000000.tmp"), b"half a checkpoint").unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.stats().wal_corruptions_total, 2);
    assert!(contents(&db).is_empty());
    assert!(!wal.join("checkpoint.00000000.tmp").exists());
}

#[test]
fn damaged_checkpoint_keeps_what_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let o = DbOptions {
        segment_bytes: 1024,
        ..opts()
    };
    let db = Db::open(dir.path(), o.clone()).unwrap();
    for c in 0..100i64 {
        let mut app = db.appender();
        for s in 0..4 {
            app.append(&series(s), c * 1000, c as f64).unwrap();
        }
        app.commit().unwrap();
    }
    db.maintain(100_000).unwrap();
    assert_eq!(db.stats().checkpoint_total, 1);
    let before = contents(&db);
    db.close().unwrap();
    let wal = dir.path().join("wal");
    let cp = fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("checkpoint.")
        })
        .unwrap();
    let mut bytes = fs::read(&cp).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    fs::write(&cp, &bytes).unwrap();
    let db = Db::open(dir.path(), o).unwrap();
    assert_eq!(db.stats().wal_corruptions_total, 1);
    let after = contents(&db);
    assert!(after.is_subset(&before));
    assert!(
        after.len() >= before.len() - 120,
        "only the damaged chunk is lost"
    );
}

//! Arbitrary bytes never panic the decoders: records, chunks, whole WAL
//! directories.

use proptest::prelude::*;
use warden_tsdb::chunk::Chunk;
use warden_tsdb::record;
use warden_tsdb::{Db, DbOptions, FsyncPolicy};

proptest! {
    #[test]
    fn record_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = record::decode(&bytes);
    }

    #[test]
    fn record_decode_of_valid_frames_with_random_payloads(
        typ in 1u8..=5,
        payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        // A correctly framed record whose payload is noise: refused, not a panic.
        let mut frame = vec![typ];
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&frame), &payload);
        frame.extend_from_slice(&crc.to_le_bytes());
        frame.extend_from_slice(&payload);
        let _ = record::decode(&frame);
    }

    #[test]
    fn histogram_record_decode_with_random_payloads(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        // Past the version byte, so the histogram decoder itself meets the noise.
        let payload: Vec<u8> = std::iter::once(1).chain(payload).collect();
        let mut frame = vec![5];
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&frame), &payload);
        frame.extend_from_slice(&crc.to_le_bytes());
        frame.extend_from_slice(&payload);
        let _ = record::decode(&frame);
    }

    #[test]
    fn chunk_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(c) = Chunk::from_bytes(bytes) {
            prop_assert!(c.iter().count() == usize::from(c.len()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn open_survives_random_segments(
        seg0 in proptest::collection::vec(any::<u8>(), 0..400),
        seg1 in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("wal");
        std::fs::create_dir_all(&wal).unwrap();
        std::fs::write(wal.join("00000000"), &seg0).unwrap();
        std::fs::write(wal.join("checkpoint.00000000"), &seg1).unwrap();
        std::fs::write(wal.join("00000001"), &seg1).unwrap();
        let opts = DbOptions { fsync: FsyncPolicy::Never, ..DbOptions::default() };
        let db = Db::open(dir.path(), opts).unwrap();
        let _ = db.stats();
        db.close().unwrap();
    }
}

#[test]
fn db_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Db>();
}

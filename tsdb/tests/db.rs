//! Behaviour of the store through its public API: append rules, selection,
//! retention, checkpoints.

use std::time::Duration;

use warden_tsdb::{
    AppendError, Appender, Db, DbOptions, FsyncPolicy, Labels, MatchOp, Matcher, MetricMetadata,
    MetricType, Querier, STALE_NAN, Sample,
};

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

fn all(db: &Db) -> Vec<(String, Vec<(i64, u64)>)> {
    db.select(&[m(MatchOp::Regex, "__name__", ".+")], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

fn names(db: &Db, ms: &[Matcher]) -> Vec<String> {
    db.select(ms, i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| s.labels.to_string())
        .collect()
}

#[test]
fn append_rules_as_prometheus() {
    let db = Db::in_memory(DbOptions::default());
    let a = l(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append(&a, 100, 1.0).unwrap();
    app.commit().unwrap();

    let mut app = db.appender();
    assert_eq!(app.append(&a, 99, 1.0), Err(AppendError::OutOfOrder));
    assert_eq!(app.append(&a, 100, 2.0), Err(AppendError::Duplicate));
    assert_eq!(
        app.append(&a, 100, 1.0),
        Ok(()),
        "same timestamp and value is accepted silently"
    );
    app.append(&a, 110, STALE_NAN).unwrap();
    // Within one batch the rules apply against the batch's newest sample.
    assert_eq!(app.append(&a, 105, 1.0), Err(AppendError::OutOfOrder));
    assert_eq!(app.append(&a, 110, 3.0), Err(AppendError::Duplicate));
    app.commit().unwrap();

    let got = all(&db);
    assert_eq!(
        got,
        vec![(
            "a".to_string(),
            vec![(100, 1.0f64.to_bits()), (110, STALE_NAN.to_bits())]
        )]
    );
    let st = db.stats();
    assert_eq!(st.out_of_order_total, 2);
    assert_eq!(st.duplicate_total, 2);
    assert_eq!(st.samples_appended_total, 2);
    assert_eq!(st.head_series, 1);
}

#[test]
fn samples_are_visible_only_after_commit() {
    let db = Db::in_memory(DbOptions::default());
    let a = l(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append(&a, 1, 1.0).unwrap();
    assert!(all(&db).is_empty());
    app.commit().unwrap();
    assert_eq!(all(&db).len(), 1);
    let mut app = db.appender();
    app.append(&a, 2, 1.0).unwrap();
    drop(app);
    assert_eq!(
        all(&db)[0].1.len(),
        1,
        "a dropped appender discards its batch"
    );
}

#[test]
fn latest_skips_stale_series() {
    let db = Db::in_memory(DbOptions::default());
    let mut app = db.appender();
    app.append(&l(&[("__name__", "up"), ("job", "a")]), 10, 1.0)
        .unwrap();
    app.append(&l(&[("__name__", "up"), ("job", "b")]), 10, 1.0)
        .unwrap();
    app.append(&l(&[("__name__", "up"), ("job", "b")]), 20, STALE_NAN)
        .unwrap();
    app.append(&l(&[("__name__", "x")]), 30, 7.0).unwrap();
    app.commit().unwrap();
    let got = db.latest(&[]);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0.to_string(), r#"up{job="a"}"#);
    assert_eq!(got[0].1, Sample { t: 10, v: 1.0 });
    assert_eq!(got[1].1, Sample { t: 30, v: 7.0 });
    let got = db.latest(&[m(MatchOp::Equal, "__name__", "up")]);
    assert_eq!(got.len(), 1);
    // The stale marker is stored and returned by select.
    let sel = db.select(&[m(MatchOp::Equal, "job", "b")], 0, 100).unwrap();
    assert!(warden_tsdb::is_stale_nan(sel[0].samples[1].v));
}

fn matcher_db() -> Db {
    let db = Db::in_memory(DbOptions::default());
    let mut app = db.appender();
    for (name, job, env) in [
        ("up", "foo", "prod"),
        ("up", "foobar", ""),
        ("up", "bar", "dev"),
        ("other", "foo", ""),
    ] {
        app.append(
            &l(&[("__name__", name), ("job", job), ("env", env)]),
            1,
            1.0,
        )
        .unwrap();
    }
    app.commit().unwrap();
    drop(app);
    db
}

#[test]
fn regex_matchers_are_anchored() {
    let db = matcher_db();
    assert_eq!(
        names(&db, &[m(MatchOp::Regex, "job", "foo")]),
        [r#"other{job="foo"}"#, r#"up{env="prod", job="foo"}"#]
    );
    assert_eq!(
        names(&db, &[m(MatchOp::Regex, "job", "oo")]),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            &db,
            &[
                m(MatchOp::Equal, "__name__", "up"),
                m(MatchOp::Regex, "job", "foo|bar")
            ]
        ),
        [
            r#"up{env="dev", job="bar"}"#,
            r#"up{env="prod", job="foo"}"#
        ]
    );
}

#[test]
fn empty_value_and_negative_matchers() {
    let db = matcher_db();
    let up = m(MatchOp::Equal, "__name__", "up");
    assert_eq!(
        names(&db, &[up.clone(), m(MatchOp::Equal, "env", "")]),
        [r#"up{job="foobar"}"#]
    );
    assert_eq!(
        names(&db, &[up.clone(), m(MatchOp::NotRegex, "env", "prod|dev")]),
        [r#"up{job="foobar"}"#]
    );
    assert_eq!(
        names(&db, &[up.clone(), m(MatchOp::NotRegex, "job", "foo.*")]),
        [r#"up{env="dev", job="bar"}"#]
    );
    assert_eq!(
        names(&db, &[up.clone(), m(MatchOp::NotEqual, "env", "")]).len(),
        2
    );
    assert_eq!(names(&db, &[up, m(MatchOp::Regex, "env", "dev|")]).len(), 2);
    // A selector of only empty-matching matchers is refused, as in PromQL.
    assert!(db.select(&[m(MatchOp::Equal, "env", "")], 0, 10).is_err());
    assert!(db.select(&[m(MatchOp::Regex, "job", ".*")], 0, 10).is_err());
    assert!(db.select(&[], 0, 10).is_err());
}

#[test]
fn label_names_values_and_metadata() {
    let db = matcher_db();
    assert_eq!(
        db.label_names(&[], 0, 10).unwrap(),
        ["__name__", "env", "job"]
    );
    assert_eq!(db.label_names(&[], 5, 10).unwrap(), Vec::<String>::new());
    assert_eq!(
        db.label_values("job", &[m(MatchOp::Equal, "__name__", "up")], 0, 10)
            .unwrap(),
        ["bar", "foo", "foobar"]
    );
    assert_eq!(db.label_values("env", &[], 0, 10).unwrap(), ["dev", "prod"]);
    let mut app = db.appender();
    let meta = MetricMetadata {
        kind: MetricType::Counter,
        help: "Requests.".into(),
        unit: String::new(),
    };
    app.set_metadata("http_requests_total", meta.clone());
    app.commit().unwrap();
    assert_eq!(
        db.metadata(),
        vec![("http_requests_total".to_string(), meta)]
    );
}

#[test]
fn retention_frees_old_chunks_and_drops_empty_series() {
    let hour = 3_600_000;
    let opts = DbOptions {
        retention: Duration::from_secs(3600),
        ..DbOptions::default()
    };
    let db = Db::in_memory(opts);
    let old = l(&[("__name__", "old")]);
    let live = l(&[("__name__", "live")]);
    let mut app = db.appender();
    // 240 samples one per 15s = 2 chunks of 120 for both series.
    for i in 0..240 {
        app.append(&old, i * 15_000, 1.0).unwrap();
        app.append(&live, i * 15_000, 1.0).unwrap();
    }
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&live, 3 * hour, 2.0).unwrap();
    app.commit().unwrap();
    assert_eq!(db.stats().head_chunks, 5);

    // Cutoff at 45min: the first chunk of each series (0..30min) is freed.
    db.maintain(hour + 45 * 60_000).unwrap();
    let st = db.stats();
    assert_eq!(st.head_chunks, 3);
    assert_eq!(st.head_series, 2);
    let got = all(&db);
    assert_eq!(got[1].1.first().unwrap().0, 120 * 15_000);

    // Cutoff past the old series' last sample: it is dropped from the index.
    db.maintain(3 * hour).unwrap();
    let st = db.stats();
    assert_eq!(st.head_series, 1);
    assert_eq!(st.head_chunks, 1);
    assert_eq!(st.retention_series_removed_total, 1);
    assert!(
        db.label_values("__name__", &[], i64::MIN, i64::MAX)
            .unwrap()
            == ["live"]
    );
    // Samples older than the retention window are now out of bounds.
    let mut app = db.appender();
    assert_eq!(app.append(&old, hour, 1.0), Err(AppendError::OutOfBounds));
    assert_eq!(db.stats().out_of_bounds_total, 1);
}

#[test]
fn checkpoint_then_reopen_gives_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        fsync: FsyncPolicy::Never,
        segment_bytes: 4096,
        ..DbOptions::default()
    };
    let base = 1_700_000_000_000i64;
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let mut app = db.appender();
    app.set_metadata(
        "m",
        MetricMetadata {
            kind: MetricType::Gauge,
            help: "h".into(),
            unit: "bytes".into(),
        },
    );
    app.commit().unwrap();
    drop(app);
    for i in 0..300i64 {
        let mut app = db.appender();
        for s in 0..5 {
            let v = if i == 299 && s == 0 {
                STALE_NAN
            } else {
                (i * s) as f64 / 3.0
            };
            app.append(
                &l(&[("__name__", "m"), ("s", &s.to_string())]),
                base + i * 15_000,
                v,
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
    db.maintain(base + 300 * 15_000).unwrap();
    assert_eq!(
        db.stats().checkpoint_total,
        1,
        "segments past 3x the limit trigger a checkpoint"
    );
    let before = all(&db);
    let meta = db.metadata();
    // More data after the checkpoint goes to the new segment.
    let mut app = db.appender();
    app.append(
        &l(&[("__name__", "m"), ("s", "9")]),
        base + 301 * 15_000,
        9.0,
    )
    .unwrap();
    app.commit().unwrap();
    drop(app);
    let after = all(&db);
    db.close().unwrap();

    let wal: Vec<String> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(wal.iter().any(|n| n.starts_with("checkpoint.")), "{wal:?}");
    assert!(
        !wal.contains(&"00000000".to_string()),
        "covered segments are deleted: {wal:?}"
    );

    let db = Db::open(dir.path(), opts.clone()).unwrap();
    assert_eq!(all(&db), after);
    assert_eq!(db.metadata(), meta);
    assert_eq!(db.stats().wal_corruptions_total, 0);
    assert!(before.len() + 1 == after.len());
    // Appends continue where the data ends.
    let mut app = db.appender();
    let s0 = l(&[("__name__", "m"), ("s", "1")]);
    assert_eq!(app.append(&s0, base, 1.0), Err(AppendError::OutOfOrder));
    app.commit().unwrap();
    drop(app);
    for i in 400..700i64 {
        let mut app = db.appender();
        for s in 0..5 {
            let labels = l(&[("__name__", "m"), ("s", &s.to_string())]);
            app.append(&labels, base + i * 15_000, i as f64).unwrap();
        }
        app.commit().unwrap();
    }
    // A second checkpoint over a loaded checkpoint, then reopen again.
    db.maintain(base + 3 * 3_600_000).unwrap();
    assert_eq!(db.stats().checkpoint_total, 1);
    let again = all(&db);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(all(&db), again);
}

#[test]
fn size_retention_drops_the_oldest_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        fsync: FsyncPolicy::Never,
        segment_bytes: 8 << 10,
        max_bytes: Some(40 << 10),
        retention: Duration::from_secs(365 * 86_400),
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let mut t = 0;
    for round in 0..20 {
        for _ in 0..50 {
            let mut app = db.appender();
            for s in 0..20 {
                // Random-looking values compress badly, so the data outgrows the limit.
                let v = ((t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ s) as f64;
                app.append(&l(&[("__name__", "m"), ("s", &s.to_string())]), t, v)
                    .unwrap();
            }
            app.commit().unwrap();
            t += 15_000;
        }
        db.maintain(t).unwrap();
        let st = db.stats();
        assert!(
            st.wal_bytes <= 40 << 10,
            "round {round}: {} bytes on disk",
            st.wal_bytes
        );
    }
    let got = all(&db);
    assert_eq!(got.len(), 20);
    assert!(got[0].1[0].0 > 0, "oldest data went");
    assert_eq!(got[0].1.last().unwrap().0, t - 15_000, "newest data stayed");
}

#[test]
fn concurrent_writers_readers_and_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        fsync: FsyncPolicy::Interval(Duration::from_millis(5)),
        segment_bytes: 16 << 10,
        ..DbOptions::default()
    };
    let db = std::sync::Arc::new(Db::open(dir.path(), opts.clone()).unwrap());
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for t in 0..200i64 {
                    let mut app = db.appender();
                    for s in 0..20 {
                        let labels = l(&[
                            ("__name__", "c"),
                            ("w", &w.to_string()),
                            ("s", &s.to_string()),
                        ]);
                        app.append(&labels, t * 1000, t as f64).unwrap();
                    }
                    app.commit().unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let got = db
                        .select(&[m(MatchOp::Equal, "__name__", "c")], 0, i64::MAX)
                        .unwrap();
                    for s in got {
                        assert!(s.samples.windows(2).all(|w| w[0].t < w[1].t));
                    }
                    let _ = db.latest(&[]);
                }
            })
        })
        .collect();
    for i in 0..20 {
        db.maintain(i * 600_000).unwrap();
    }
    for h in writers.into_iter().chain(readers) {
        h.join().unwrap();
    }
    let st = db.stats();
    assert_eq!(st.head_series, 60);
    assert_eq!(st.samples_appended_total, 3 * 200 * 20);
    let before = all(&db);
    assert!(before.iter().all(|(_, s)| s.len() == 200));
    std::sync::Arc::into_inner(db).unwrap().close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(all(&db), before);
}

#[test]
fn a_directory_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let second = Db::open(dir.path(), DbOptions::default());
    assert!(
        matches!(second, Err(warden_tsdb::DbError::Locked { .. })),
        "{second:?}"
    );
    db.close().unwrap();
    Db::open(dir.path(), DbOptions::default()).unwrap();
}

#[test]
fn fsync_policies() {
    let a = l(&[("__name__", "a")]);
    for (policy, expect_per_commit) in [(FsyncPolicy::Always, true), (FsyncPolicy::Never, false)] {
        let dir = tempfile::tempdir().unwrap();
        let opts = DbOptions {
            fsync: policy,
            ..DbOptions::default()
        };
        let db = Db::open(dir.path(), opts).unwrap();
        for t in 0..3 {
            let mut app = db.appender();
            app.append(&a, t, 1.0).unwrap();
            app.commit().unwrap();
        }
        let fsyncs = db.stats().wal_fsync_total;
        if expect_per_commit {
            assert_eq!(fsyncs, 3, "{policy:?}");
        } else {
            assert_eq!(fsyncs, 0, "{policy:?}");
        }
        assert!(db.stats().wal_bytes > 0);
        db.close().unwrap();
    }
}

#[test]
fn a_far_future_sample_does_not_lock_out_the_present() {
    let db = Db::in_memory(DbOptions::default());
    let now = 1_700_000_000_000i64;
    let mut app = db.appender();
    app.append(
        &l(&[("__name__", "skewed")]),
        now + 10 * 365 * 86_400_000,
        1.0,
    )
    .unwrap();
    app.commit().unwrap();
    drop(app);
    db.maintain(now).unwrap();
    let mut app = db.appender();
    app.append(&l(&[("__name__", "normal")]), now - 60_000, 1.0)
        .unwrap();
    app.commit().unwrap();
    drop(app);
    assert_eq!(db.stats().out_of_bounds_total, 0);
    assert_eq!(db.latest(&[]).len(), 2);
}

#[test]
fn no_checkpoint_when_the_wal_is_small_against_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        fsync: FsyncPolicy::Never,
        segment_bytes: 1024,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    for t in 0..200 {
        let mut app = db.appender();
        for s in 0..5 {
            app.append(
                &l(&[("__name__", "m"), ("s", &s.to_string())]),
                t * 1000,
                t as f64,
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
    db.maintain(0).unwrap();
    assert_eq!(db.stats().checkpoint_total, 1);
    db.maintain(3_600_000).unwrap();
    assert_eq!(db.stats().checkpoint_total, 1, "{:?}", db.stats());
}

#[test]
fn big_batches_of_new_series_split_into_records_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        fsync: FsyncPolicy::Never,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let long = "x".repeat(4000);
    let mut app = db.appender();
    // 5000 series of ~4 KB labels: 20 MB of series records in one commit,
    // more than one record may hold.
    for i in 0..5000 {
        app.append(
            &l(&[("__name__", "big"), ("i", &i.to_string()), ("pad", &long)]),
            1,
            1.0,
        )
        .unwrap();
    }
    assert!(matches!(
        app.append(&Labels::empty(), 1, 1.0),
        Err(AppendError::Storage(_))
    ));
    let huge = "y".repeat(2 << 20);
    let err = app.append(&l(&[("__name__", "huge"), ("pad", &huge)]), 1, 1.0);
    assert!(matches!(err, Err(AppendError::Storage(_))), "{err:?}");
    app.commit().unwrap();
    drop(app);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(db.stats().head_series, 5000);
    assert_eq!(db.stats().wal_corruptions_total, 0);
}

#[test]
fn interval_policy_fsyncs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        fsync: FsyncPolicy::Interval(Duration::from_millis(10)),
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let mut app = db.appender();
    app.append(&l(&[("__name__", "a")]), 1, 1.0).unwrap();
    app.commit().unwrap();
    drop(app);
    assert_eq!(
        db.stats().wal_fsync_total,
        0,
        "commit itself does not fsync"
    );
    // Generous bound: this waits for the background thread, it does not time it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db.stats().wal_fsync_total == 0 {
        assert!(std::time::Instant::now() < deadline, "no background fsync");
        std::thread::sleep(Duration::from_millis(5));
    }
    db.close().unwrap();
}

#[test]
fn select_each_hands_over_what_select_returns() {
    let db = matcher_db();
    let ms = [m(MatchOp::Regex, "__name__", ".+")];
    for (lo, hi) in [(i64::MIN, i64::MAX), (0, 0), (1, 1000)] {
        let whole = db.select(&ms, lo, hi).unwrap();
        let mut streamed = Vec::new();
        db.select_each(&ms, lo, hi, &mut |s| {
            streamed.push(s);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(streamed, whole);
    }
    // Break stops after the first series.
    let mut n = 0;
    db.select_each(&ms, i64::MIN, i64::MAX, &mut |_| {
        n += 1;
        std::ops::ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(n, 1);
}

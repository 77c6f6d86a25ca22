//! Native-histogram samples in the store through its public API: append
//! rules shared with floats, selection, commit visibility, WAL replay,
//! checkpoints and retention.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use warden_tsdb::{
    AppendError, Appender, CounterResetHint, Db, DbOptions, FloatHistogram, FsyncPolicy, Labels,
    MatchOp, Matcher, Querier, STALE_NAN, Series, Span,
};

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

/// An exponential histogram whose fields all depend on `n`.
fn hist(n: f64) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: CounterResetHint::NotCounterReset,
        schema: 1,
        zero_threshold: 0.001,
        zero_count: n,
        count: 5.0 * n,
        sum: 10.5 * n,
        positive_spans: vec![
            Span {
                offset: -1,
                length: 2,
            },
            Span {
                offset: 1,
                length: 1,
            },
        ],
        negative_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![n, n, n],
        negative_buckets: vec![n],
        custom_values: vec![],
    }
}

/// A custom-buckets (NHCB) histogram.
fn nhcb(n: f64) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: -53,
        count: 2.0 * n,
        sum: n,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![n, n],
        custom_values: vec![0.25],
        ..FloatHistogram::default()
    }
}

fn everything(db: &Db) -> Vec<Series> {
    db.select(&[m(MatchOp::Regex, "__name__", ".+")], i64::MIN, i64::MAX)
        .unwrap()
}

/// (labels, float (t, bits), histogram (t, count)) per series.
type Summary = Vec<(String, Vec<(i64, u64)>, Vec<(i64, f64)>)>;

/// Series compared with float samples by bits (the staleness marker is a
/// NaN, so `Series` equality fails on it) and histograms field by field.
fn assert_same(a: &[Series], b: &[Series], what: &str) {
    assert_eq!(summary(a), summary(b), "{what}");
    let hists = |s: &[Series]| s.iter().map(|x| x.histograms.clone()).collect::<Vec<_>>();
    assert_eq!(hists(a), hists(b), "{what}");
}

fn summary(series: &[Series]) -> Summary {
    series
        .iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
                s.histograms.iter().map(|h| (h.t, h.h.count)).collect(),
            )
        })
        .collect()
}

/// A series going float → histogram → float (stale) → histogram, partly
/// within one batch, and a histogram-only series.
fn write_mixed(db: &Db) {
    let mixed = l(&[("__name__", "mixed")]);
    let only = l(&[("__name__", "only_h"), ("kind", "nhcb")]);
    let mut app = db.appender();
    app.append(&mixed, 10, 1.0).unwrap();
    app.append(&mixed, 20, 2.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    app.append_histogram(&mixed, 30, &hist(3.0)).unwrap();
    app.append_histogram(&only, 30, &nhcb(1.0)).unwrap();
    app.commit().unwrap();
    // One batch turning histogram → float → histogram → float: the WAL and
    // the head must see them in this order.
    let mut app = db.appender();
    app.append_histogram(&mixed, 40, &hist(4.0)).unwrap();
    app.append(&mixed, 50, STALE_NAN).unwrap();
    app.append_histogram(&mixed, 60, &hist(6.0)).unwrap();
    app.append_histogram(&only, 60, &nhcb(2.0)).unwrap();
    app.append(&mixed, 70, 7.0).unwrap();
    app.commit().unwrap();
}

fn mixed_summary() -> Summary {
    vec![
        (
            "mixed".into(),
            vec![
                (10, 1.0f64.to_bits()),
                (20, 2.0f64.to_bits()),
                (50, STALE_NAN.to_bits()),
                (70, 7.0f64.to_bits()),
            ],
            vec![(30, 15.0), (40, 20.0), (60, 30.0)],
        ),
        (
            r#"only_h{kind="nhcb"}"#.into(),
            vec![],
            vec![(30, 2.0), (60, 4.0)],
        ),
    ]
}

#[test]
fn append_select_round_trip_with_a_mixed_series() {
    let db = Db::in_memory(DbOptions::default());
    write_mixed(&db);
    let got = everything(&db);
    assert_eq!(summary(&got), mixed_summary());
    // Every field comes back as appended but a counter's reset hint, which
    // the store sets as Prometheus's head does: the first histogram after
    // floats reads back as unknown. (Gauges stay gauges.)
    let mut first = hist(3.0);
    first.counter_reset_hint = warden_tsdb::CounterResetHint::Unknown;
    assert_eq!(*got[0].histograms[0].h, first);
    assert_eq!(*got[1].histograms[1].h, nhcb(2.0));

    // A range holding only histograms selects the series, floats empty.
    let sel = db
        .select(&[m(MatchOp::Equal, "__name__", "mixed")], 25, 45)
        .unwrap();
    assert_eq!(
        summary(&sel),
        [("mixed".to_string(), vec![], vec![(30, 15.0), (40, 20.0)])]
    );
    // select_each hands over the same series.
    for (lo, hi) in [(i64::MIN, i64::MAX), (25, 45), (55, 65), (80, 90)] {
        let ms = [m(MatchOp::Regex, "__name__", ".+")];
        let whole = db.select(&ms, lo, hi).unwrap();
        let mut streamed = Vec::new();
        db.select_each(&ms, lo, hi, &mut |s| {
            streamed.push(s);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_same(&streamed, &whole, &format!("[{lo}, {hi}]"));
    }
    // Label names and values count histogram samples as data.
    assert_eq!(
        db.label_values("__name__", &[], 25, 35).unwrap(),
        ["mixed", "only_h"]
    );
    assert_eq!(
        db.label_names(&[m(MatchOp::Equal, "kind", "nhcb")], 55, 65)
            .unwrap(),
        ["__name__", "kind"]
    );
    assert_eq!(
        db.label_values("kind", &[], 61, 1000).unwrap(),
        Vec::<String>::new()
    );
    // `latest` answers in floats: a series whose newest sample is a
    // histogram is left out.
    let latest = db.latest(&[]);
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].1.t, 70);

    let st = db.stats();
    assert_eq!(st.samples_appended_total, 4);
    assert_eq!(st.histogram_samples_appended_total, 5);
    assert_eq!(st.head_histogram_samples, 5);
    assert_eq!(st.head_series, 2);
}

#[test]
fn histograms_follow_the_float_append_rules() {
    let db = Db::in_memory(DbOptions::default());
    let a = l(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append_histogram(&a, 100, &hist(1.0)).unwrap();
    app.commit().unwrap();

    let mut app = db.appender();
    assert_eq!(
        app.append_histogram(&a, 99, &hist(1.0)),
        Err(AppendError::OutOfOrder)
    );
    assert_eq!(
        app.append_histogram(&a, 100, &hist(2.0)),
        Err(AppendError::Duplicate)
    );
    assert_eq!(
        app.append(&a, 100, 1.0),
        Err(AppendError::Duplicate),
        "a float never shares a histogram's timestamp"
    );
    assert_eq!(
        app.append_histogram(&a, 100, &hist(1.0)),
        Ok(()),
        "the same histogram again is accepted silently"
    );
    // Within one batch the rules apply against the batch's newest sample,
    // of either kind.
    app.append(&a, 110, 5.0).unwrap();
    assert_eq!(
        app.append_histogram(&a, 110, &hist(1.0)),
        Err(AppendError::Duplicate)
    );
    app.append_histogram(&a, 120, &hist(2.0)).unwrap();
    assert_eq!(
        app.append_histogram(&a, 115, &hist(2.0)),
        Err(AppendError::OutOfOrder)
    );
    assert_eq!(app.append_histogram(&a, 120, &hist(2.0)), Ok(()));
    assert_eq!(
        app.append_histogram(&a, 120, &hist(3.0)),
        Err(AppendError::Duplicate)
    );
    assert_eq!(app.append(&a, 120, 2.0), Err(AppendError::Duplicate));
    app.commit().unwrap();

    // Invalid histograms are refused before a series is made for them.
    let mut bad = hist(1.0);
    bad.positive_buckets.pop();
    let b = l(&[("__name__", "b")]);
    let mut app = db.appender();
    assert!(matches!(
        app.append_histogram(&b, 200, &bad),
        Err(AppendError::InvalidHistogram(_))
    ));
    app.commit().unwrap();
    assert_eq!(db.stats().head_series, 1);

    let got = summary(&everything(&db));
    assert_eq!(
        got,
        [(
            "a".to_string(),
            vec![(110, 5.0f64.to_bits())],
            vec![(100, 5.0), (120, 10.0)]
        )]
    );
    let st = db.stats();
    assert_eq!(st.out_of_order_total, 2);
    assert_eq!(st.duplicate_total, 5);
    assert_eq!(st.histogram_samples_appended_total, 2);
}

#[test]
fn histograms_are_visible_only_after_commit() {
    let db = Db::in_memory(DbOptions::default());
    let a = l(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append_histogram(&a, 1, &hist(1.0)).unwrap();
    assert!(everything(&db).is_empty());
    app.commit().unwrap();
    assert_eq!(everything(&db)[0].histograms.len(), 1);
    let mut app = db.appender();
    app.append_histogram(&a, 2, &hist(2.0)).unwrap();
    drop(app);
    assert_eq!(
        everything(&db)[0].histograms.len(),
        1,
        "a dropped appender discards its histograms"
    );
}

fn disk_opts() -> DbOptions {
    DbOptions {
        fsync: FsyncPolicy::Never,
        segment_bytes: 4096,
        ..DbOptions::default()
    }
}

#[test]
fn histograms_survive_wal_replay() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), disk_opts()).unwrap();
    write_mixed(&db);
    let before = everything(&db);
    db.close().unwrap();

    let db = Db::open(dir.path(), disk_opts()).unwrap();
    let after = everything(&db);
    assert_same(&after, &before, "every histogram field replays");
    assert_eq!(summary(&after), mixed_summary());
    let st = db.stats();
    assert_eq!(st.wal_corruptions_total, 0);
    assert_eq!(st.head_histogram_samples, 5);
    // Appends continue after the newest sample of either kind.
    let mut app = db.appender();
    let mixed = l(&[("__name__", "mixed")]);
    assert_eq!(
        app.append_histogram(&mixed, 65, &hist(1.0)),
        Err(AppendError::OutOfOrder)
    );
    let only = l(&[("__name__", "only_h"), ("kind", "nhcb")]);
    assert_eq!(
        app.append_histogram(&only, 60, &nhcb(2.0)),
        Ok(()),
        "the replayed histogram compares equal"
    );
    app.append_histogram(&only, 90, &nhcb(9.0)).unwrap();
    app.commit().unwrap();
    drop(app);
    db.close().unwrap();
    let db = Db::open(dir.path(), disk_opts()).unwrap();
    assert_eq!(everything(&db)[1].histograms.last().map(|h| h.t), Some(90));
}

#[test]
fn histograms_survive_a_checkpoint_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let base = 1_700_000_000_000i64;
    let db = Db::open(dir.path(), disk_opts()).unwrap();
    // Series alternating floats and histograms every 50 steps, plus
    // histogram-only series, enough to fill several 4 KiB segments.
    for i in 0..200i64 {
        let mut app = db.appender();
        for s in 0..3 {
            let labels = l(&[("__name__", "m"), ("s", &s.to_string())]);
            let t = base + i * 15_000;
            if (i / 50 + s) % 2 == 0 {
                app.append(&labels, t, i as f64).unwrap();
            } else {
                app.append_histogram(&labels, t, &hist(i as f64)).unwrap();
            }
        }
        let h = l(&[("__name__", "h_only")]);
        app.append_histogram(&h, base + i * 15_000, &nhcb(i as f64))
            .unwrap();
        app.commit().unwrap();
    }
    db.maintain(base + 200 * 15_000).unwrap();
    assert_eq!(db.stats().checkpoint_total, 1);
    // More after the checkpoint goes to the new segment.
    let mut app = db.appender();
    let h = l(&[("__name__", "h_only")]);
    app.append_histogram(&h, base + 300 * 15_000, &nhcb(300.0))
        .unwrap();
    app.commit().unwrap();
    drop(app);
    let before = everything(&db);
    assert_eq!(before.len(), 4);
    assert!(before.iter().all(|s| !s.histograms.is_empty()));
    db.close().unwrap();

    let wal: Vec<String> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(wal.iter().any(|n| n.starts_with("checkpoint.")), "{wal:?}");
    assert!(!wal.contains(&"00000000".to_string()), "{wal:?}");

    let db = Db::open(dir.path(), disk_opts()).unwrap();
    assert_eq!(everything(&db), before);
    assert_eq!(db.stats().head_histogram_samples, 3 * 100 + 201);
    // The histograms were loaded in order: older ones are refused.
    let mut app = db.appender();
    assert_eq!(
        app.append_histogram(&h, base, &nhcb(1.0)),
        Err(AppendError::OutOfOrder)
    );
    drop(app);
    // A checkpoint over a loaded checkpoint, then reopen again.
    for i in 400..600i64 {
        let mut app = db.appender();
        let t = base + i * 15_000;
        app.append_histogram(&h, t, &nhcb(i as f64)).unwrap();
        let labels = l(&[("__name__", "m"), ("s", "0")]);
        app.append_histogram(&labels, t, &hist(i as f64)).unwrap();
        app.commit().unwrap();
    }
    db.maintain(base + 3 * 3_600_000).unwrap();
    assert_eq!(db.stats().checkpoint_total, 1);
    let again = everything(&db);
    db.close().unwrap();
    let db = Db::open(dir.path(), disk_opts()).unwrap();
    assert_eq!(everything(&db), again);
}

#[test]
fn time_retention_drops_old_histograms() {
    let hour = 3_600_000;
    let opts = DbOptions {
        retention: Duration::from_secs(3600),
        ..DbOptions::default()
    };
    let db = Db::in_memory(opts);
    let old = l(&[("__name__", "old")]);
    let live = l(&[("__name__", "live")]);
    let mut app = db.appender();
    for i in 0..240 {
        app.append_histogram(&old, i * 15_000, &hist(1.0)).unwrap();
        app.append_histogram(&live, i * 15_000, &hist(1.0)).unwrap();
    }
    app.commit().unwrap();
    let mut app = db.appender();
    app.append(&live, 3 * hour, 2.0).unwrap();
    app.commit().unwrap();
    assert_eq!(db.stats().head_histogram_samples, 480);

    // Cutoff at 45min: histograms before it go, sample by sample.
    db.maintain(hour + 45 * 60_000).unwrap();
    let st = db.stats();
    assert_eq!(st.head_histogram_samples, 2 * 60);
    let got = everything(&db);
    assert_eq!(got[0].histograms[0].t, 45 * 60_000);

    // Past the old series' newest histogram: it is dropped from the index.
    db.maintain(3 * hour).unwrap();
    let st = db.stats();
    assert_eq!(st.head_histogram_samples, 0);
    assert_eq!(st.head_series, 1);
    assert_eq!(st.retention_series_removed_total, 1);
    assert_eq!(
        db.label_values("__name__", &[], i64::MIN, i64::MAX)
            .unwrap(),
        ["live"]
    );
    let mut app = db.appender();
    assert_eq!(
        app.append_histogram(&old, hour, &hist(1.0)),
        Err(AppendError::OutOfBounds)
    );
}

#[test]
fn size_retention_drops_the_oldest_histograms() {
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
        for _ in 0..20 {
            let mut app = db.appender();
            for s in 0..5 {
                let labels = l(&[("__name__", "h"), ("s", &s.to_string())]);
                app.append_histogram(&labels, t, &hist(t as f64)).unwrap();
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
    let got = everything(&db);
    assert_eq!(got.len(), 5);
    assert!(got[0].histograms[0].t > 0, "oldest histograms went");
    assert_eq!(
        got[0].histograms.last().map(|h| h.t),
        Some(t - 15_000),
        "newest histograms stayed"
    );
    assert!(db.stats().head_histogram_samples < 400);
}

#[test]
fn select_shares_the_stored_histograms() {
    let db = Db::in_memory(DbOptions::default());
    let a = l(&[("__name__", "a")]);
    let mut app = db.appender();
    app.append_histogram(&a, 1, &hist(1.0)).unwrap();
    app.commit().unwrap();
    let one = everything(&db);
    let two = everything(&db);
    assert!(Arc::ptr_eq(
        &one[0].histograms[0].h,
        &two[0].histograms[0].h
    ));
}

//! The store against a trivial model: random appends (in order, out of
//! order, duplicates, special values), commits, rollbacks, checkpoints and
//! reopens must leave exactly the samples the model predicts.

use std::collections::BTreeMap;

use proptest::prelude::*;
use warden_tsdb::{
    AppendError, Appender, Db, DbOptions, FsyncPolicy, Labels, MatchOp, Matcher, Querier, STALE_NAN,
};

#[derive(Debug, Clone)]
enum Op {
    Append { series: u8, dt: i64, value: u8 },
    Commit,
    Rollback,
    Maintain,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..4, -2i64..4, 0u8..6).prop_map(|(series, dt, value)| Op::Append { series, dt, value }),
        3 => Just(Op::Commit),
        1 => Just(Op::Rollback),
        1 => Just(Op::Maintain),
        1 => Just(Op::Reopen),
    ]
}

fn value(v: u8) -> f64 {
    match v {
        0 => STALE_NAN,
        1 => f64::NAN,
        2 => -0.0,
        3 => f64::INFINITY,
        _ => f64::from(v),
    }
}

fn labels(s: u8) -> Labels {
    Labels::from_pairs([("__name__", "m".to_string()), ("s", s.to_string())]).unwrap()
}

type Model = BTreeMap<String, Vec<(i64, u64)>>;

fn predict(
    model: &Model,
    batch: &Model,
    key: &str,
    t: i64,
    bits: u64,
) -> Result<bool, AppendError> {
    let last = batch
        .get(key)
        .and_then(|v| v.last())
        .or_else(|| model.get(key).and_then(|v| v.last()));
    match last {
        Some(&(lt, _)) if t < lt => Err(AppendError::OutOfOrder),
        Some(&(lt, lv)) if t == lt && lv == bits => Ok(false),
        Some(&(lt, _)) if t == lt => Err(AppendError::Duplicate),
        _ => Ok(true),
    }
}

fn contents(db: &Db) -> Model {
    let sel = [Matcher::new(MatchOp::Equal, "__name__", "m").unwrap()];
    db.select(&sel, i64::MIN, i64::MAX)
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let opts = DbOptions {
            fsync: FsyncPolicy::Never,
            segment_bytes: 256,
            ..DbOptions::default()
        };
        let mut db = Db::open(dir.path(), opts.clone()).unwrap();
        let mut model = Model::new();
        let mut pending: Vec<(u8, i64, f64)> = Vec::new();
        let mut clock = 1_000i64;
        let mut maintain_at = 0i64;
        for op in ops {
            match op {
                Op::Append { series, dt, value: v } => {
                    clock += dt;
                    pending.push((series, clock, value(v)));
                }
                Op::Commit => {
                    let mut batch = Model::new();
                    let mut app = db.appender();
                    for (s, t, v) in pending.drain(..) {
                        let key = labels(s).to_string();
                        let want = predict(&model, &batch, &key, t, v.to_bits());
                        let got = app.append(&labels(s), t, v);
                        prop_assert_eq!(got.is_ok(), want.is_ok(), "append {} {} {}", key, t, v);
                        if let (Err(g), Err(w)) = (&got, &want) {
                            prop_assert_eq!(g, w);
                        }
                        if want == Ok(true) {
                            batch.entry(key).or_default().push((t, v.to_bits()));
                        }
                    }
                    app.commit().unwrap();
                    for (k, mut v) in batch {
                        model.entry(k).or_default().append(&mut v);
                    }
                }
                Op::Rollback => pending.clear(),
                Op::Maintain => {
                    // An hour apart, so checkpoints happen; retention (24h)
                    // never reaches these timestamps.
                    db.maintain(maintain_at).unwrap();
                    maintain_at += 3_600_000;
                }
                Op::Reopen => {
                    db.close().unwrap();
                    db = Db::open(dir.path(), opts.clone()).unwrap();
                    prop_assert_eq!(db.stats().wal_corruptions_total, 0);
                }
            }
            prop_assert_eq!(&contents(&db), &model);
        }
        db.close().unwrap();
        let db = Db::open(dir.path(), opts).unwrap();
        prop_assert_eq!(&contents(&db), &model);
    }
}

//! `--diff`: expected and actual alerts as a coloured JSON difference, in
//! the layout promtool prints (four-space indent, `a => b` for a changed
//! value, green for what only the actual alerts have, red for what only
//! the expected ones have, yellow for changes).

use std::collections::BTreeMap;

use warden_tsdb::Labels;

use super::format::{AlertItem, quote};

/// A JSON value of the shapes an alert list has.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Str(String),
    Obj(BTreeMap<String, Json>),
    Arr(Vec<Json>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Normal,
    Added,
    Removed,
    Changed,
}

impl Tag {
    fn begin(self) -> &'static str {
        match self {
            Tag::Normal => "",
            Tag::Added => "\x1b[0;32m",
            Tag::Removed => "\x1b[0;31m",
            Tag::Changed => "\x1b[0;33m",
        }
    }

    fn end(self) -> &'static str {
        match self {
            Tag::Normal => "",
            _ => "\x1b[0m",
        }
    }
}

struct Printer {
    out: String,
    level: usize,
    last: Option<Tag>,
    differs: bool,
}

impl Printer {
    fn newline(&mut self, s: &str) {
        self.out.push_str(s);
        if let Some(t) = self.last {
            self.out.push_str(t.end());
        }
        self.out.push('\n');
        for _ in 0..self.level {
            self.out.push_str("    ");
        }
        if let Some(t) = self.last {
            self.out.push_str(t.begin());
        }
    }

    fn tag(&mut self, t: Tag) {
        if self.last == Some(t) {
            return;
        }
        if let Some(old) = self.last {
            self.out.push_str(old.end());
        }
        self.out.push_str(t.begin());
        self.last = Some(t);
    }

    fn key(&mut self, k: &str) {
        self.out.push_str(&quote(k));
        self.out.push_str(": ");
    }

    /// Writes a value; containers in full only when `full`.
    fn value(&mut self, v: &Json, full: bool) {
        match v {
            Json::Str(s) => self.out.push_str(&quote(s)),
            Json::Arr(items) if full => {
                self.open("[", items.is_empty());
                for (i, item) in items.iter().enumerate() {
                    self.value(item, true);
                    self.separator(i + 1 == items.len());
                }
                self.out.push(']');
            }
            Json::Obj(map) if full => {
                self.open("{", map.is_empty());
                for (i, (k, item)) in map.iter().enumerate() {
                    self.key(k);
                    self.value(item, true);
                    self.separator(i + 1 == map.len());
                }
                self.out.push('}');
            }
            Json::Arr(_) => self.out.push_str("[]"),
            Json::Obj(_) => self.out.push_str("{}"),
        }
    }

    fn open(&mut self, bracket: &str, empty: bool) {
        if empty {
            self.out.push_str(bracket);
        } else {
            self.level += 1;
            self.newline(bracket);
        }
    }

    fn separator(&mut self, last: bool) {
        if last {
            self.level -= 1;
            self.newline("");
        } else {
            self.newline(",");
        }
    }

    fn mismatch(&mut self, a: &Json, b: &Json) {
        self.tag(Tag::Changed);
        self.value(a, false);
        self.out.push_str(" => ");
        self.value(b, false);
        self.differs = true;
    }

    fn diff(&mut self, a: &Json, b: &Json) {
        match (a, b) {
            (Json::Str(x), Json::Str(y)) if x == y => {
                self.tag(Tag::Normal);
                self.value(a, true);
            }
            (Json::Arr(xs), Json::Arr(ys)) => {
                let n = xs.len().max(ys.len());
                self.tag(Tag::Normal);
                self.open("[", n == 0);
                for i in 0..n {
                    match (xs.get(i), ys.get(i)) {
                        (Some(x), Some(y)) => self.diff(x, y),
                        (Some(x), None) => self.only(Tag::Removed, None, x),
                        (None, Some(y)) => self.only(Tag::Added, None, y),
                        (None, None) => {}
                    }
                    self.tag(Tag::Normal);
                    self.separator(i + 1 == n);
                }
                self.out.push(']');
            }
            (Json::Obj(xm), Json::Obj(ym)) => {
                let mut keys: Vec<&String> = xm.keys().chain(ym.keys()).collect();
                keys.sort();
                keys.dedup();
                self.tag(Tag::Normal);
                self.open("{", keys.is_empty());
                for (i, k) in keys.iter().enumerate() {
                    match (xm.get(*k), ym.get(*k)) {
                        (Some(x), Some(y)) => {
                            self.key(k);
                            self.diff(x, y);
                        }
                        (Some(x), None) => self.only(Tag::Removed, Some(k), x),
                        (None, Some(y)) => self.only(Tag::Added, Some(k), y),
                        (None, None) => {}
                    }
                    self.tag(Tag::Normal);
                    self.separator(i + 1 == keys.len());
                }
                self.out.push('}');
            }
            _ => self.mismatch(a, b),
        }
    }

    fn only(&mut self, tag: Tag, key: Option<&str>, v: &Json) {
        self.tag(tag);
        if let Some(k) = key {
            self.key(k);
        }
        self.value(v, true);
        self.differs = true;
    }
}

fn labels_json(l: &Labels) -> Json {
    Json::Obj(
        l.iter()
            .map(|x| (x.name.clone(), Json::Str(x.value.clone())))
            .collect(),
    )
}

fn alerts_json(items: &[AlertItem]) -> Json {
    let empty = [AlertItem {
        labels: Labels::empty(),
        annotations: Labels::empty(),
    }];
    // promtool compares one empty alert rather than an empty list.
    let items = if items.is_empty() { &empty[..] } else { items };
    Json::Arr(
        items
            .iter()
            .map(|a| {
                Json::Obj(BTreeMap::from([
                    ("Annotations".to_string(), labels_json(&a.annotations)),
                    ("Labels".to_string(), labels_json(&a.labels)),
                ]))
            })
            .collect(),
    )
}

/// The difference between expected and actual alerts, or `None` when
/// their JSON forms agree (promtool then reports nothing).
pub fn alert_diff(expected: &[AlertItem], got: &[AlertItem]) -> Option<String> {
    let mut p = Printer {
        out: String::new(),
        level: 0,
        last: None,
        differs: false,
    };
    p.diff(&alerts_json(expected), &alerts_json(got));
    if let Some(t) = p.last {
        p.out.push_str(t.end());
    }
    p.differs.then_some(p.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(labels: &[(&str, &str)], ann: &[(&str, &str)]) -> AlertItem {
        AlertItem {
            labels: Labels::from_pairs(labels.iter().copied()).unwrap(),
            annotations: Labels::from_pairs(ann.iter().copied()).unwrap(),
        }
    }

    #[test]
    fn changed_value_is_marked() {
        let e = item(&[("alertname", "A"), ("job", "x")], &[]);
        let g = item(&[("alertname", "A"), ("job", "y")], &[]);
        let d = alert_diff(&[e.clone()], &[g]).unwrap();
        assert_eq!(
            d,
            "[\n    {\n        \"Annotations\": {},\n        \"Labels\": {\n            \"alertname\": \"A\",\n            \"job\": \x1b[0;33m\"x\" => \"y\"\x1b[0m\n        }\n    }\n]"
        );
        assert_eq!(alert_diff(&[e.clone()], &[e]), None);
    }

    #[test]
    fn missing_alert_is_red() {
        let e = item(&[("alertname", "A")], &[]);
        let d = alert_diff(&[e], &[]).unwrap();
        assert!(d.contains("\x1b[0;31m\"alertname\": \"A\""), "{d:?}");
    }
}

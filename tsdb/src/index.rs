//! The postings index: label name → value → sorted series ids, and the
//! matcher logic that turns a selector into a set of ids.

use std::collections::BTreeMap;

use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};

/// Sorted, duplicate-free series ids.
pub type Postings = Vec<u64>;

/// Inverted index over the head's series.
///
/// Ids are handed out in increasing order, so adding a series appends to
/// each list and keeps it sorted without a search.
#[derive(Debug, Default)]
pub struct Index {
    postings: BTreeMap<String, BTreeMap<String, Postings>>,
    all: Postings,
}

/// No matcher in a selector selects anything non-empty (Prometheus refuses
/// `{x=""}` and `{x=~".*"}` on their own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vector selector must contain at least one non-empty matcher")]
pub struct EmptySelector;

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// Adds a series. `id` must be larger than every id added before, or
    /// the list is re-sorted (replay may add ids out of order).
    pub fn add(&mut self, id: u64, labels: &Labels) {
        insert_sorted(&mut self.all, id);
        for l in labels {
            let values = match self.postings.get_mut(l.name.as_str()) {
                Some(v) => v,
                None => self.postings.entry(l.name.clone()).or_default(),
            };
            let list = match values.get_mut(l.value.as_str()) {
                Some(p) => p,
                None => values.entry(l.value.clone()).or_default(),
            };
            insert_sorted(list, id);
        }
    }

    /// Removes series, given with their label sets; empty lists and names go.
    pub fn remove(&mut self, series: &[(u64, Labels)]) {
        if series.is_empty() {
            return;
        }
        let mut ids: Vec<u64> = series.iter().map(|s| s.0).collect();
        ids.sort_unstable();
        self.all = subtract(&self.all, &ids);
        // Group the removals per (name, value) list so each list is rewritten once.
        let mut per_list: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
        for (id, labels) in series {
            for l in labels {
                per_list.entry((&l.name, &l.value)).or_default().push(*id);
            }
        }
        for ((name, value), mut gone) in per_list {
            gone.sort_unstable();
            let Some(values) = self.postings.get_mut(name) else {
                continue;
            };
            if let Some(list) = values.get_mut(value) {
                *list = subtract(list, &gone);
                if list.is_empty() {
                    values.remove(value);
                }
            }
            if values.is_empty() {
                self.postings.remove(name);
            }
        }
    }

    /// Every series id.
    pub fn all(&self) -> &[u64] {
        &self.all
    }

    /// Number of series indexed.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// All label names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.postings.keys().map(String::as_str)
    }

    /// Values of `name` with their postings, sorted by value.
    pub fn values(&self, name: &str) -> impl Iterator<Item = (&str, &Postings)> {
        self.postings
            .get(name)
            .into_iter()
            .flat_map(|m| m.iter().map(|(v, p)| (v.as_str(), p)))
    }

    /// Ids of the series selected by all `matchers`, with Prometheus's
    /// semantics: a matcher that accepts `""` also selects series without
    /// the label, and negative matchers are applied by subtraction.
    ///
    /// With `require_non_empty`, a selector none of whose matchers rejects
    /// `""` is an error, as in PromQL; without it such a selector starts
    /// from all series (and an empty slice selects everything).
    pub fn select(
        &self,
        matchers: &[Matcher],
        require_non_empty: bool,
    ) -> Result<Postings, EmptySelector> {
        let mut include: Vec<Postings> = Vec::new();
        let mut exclude: Vec<Postings> = Vec::new();
        for m in matchers {
            if m.op == MatchOp::Regex && m.value == ".*" {
                continue;
            }
            if m.matches_empty() {
                // Series that have the label with a value the matcher rejects.
                exclude.push(self.postings_where(m, false));
            } else {
                include.push(self.postings_where(m, true));
            }
        }
        if include.is_empty() {
            if require_non_empty {
                return Err(EmptySelector);
            }
            include.push(self.all.clone());
        }
        include.sort_by_key(Vec::len);
        let mut result = include.swap_remove(0);
        for p in &include {
            if result.is_empty() {
                break;
            }
            result = intersect(&result, p);
        }
        for p in &exclude {
            if result.is_empty() {
                break;
            }
            result = subtract(&result, p);
        }
        Ok(result)
    }

    /// Union of the postings of `m.name`'s values for which `m.matches(v)`
    /// equals `want`. Equality and literal alternations are looked up
    /// directly instead of testing every value.
    fn postings_where(&self, m: &Matcher, want: bool) -> Postings {
        let Some(values) = self.postings.get(&m.name) else {
            return Vec::new();
        };
        let direct: Option<Vec<&str>> = match (m.op, want) {
            (MatchOp::Equal, true) | (MatchOp::NotEqual, false) => Some(vec![m.value.as_str()]),
            (MatchOp::Regex, true) | (MatchOp::NotRegex, false) => literal_alternation(&m.value),
            _ => None,
        };
        let lists: Vec<&Postings> = match direct {
            Some(wanted) => wanted.iter().filter_map(|v| values.get(*v)).collect(),
            None => values
                .iter()
                .filter(|(v, _)| m.matches(v) == want)
                .map(|(_, p)| p)
                .collect(),
        };
        union(&lists)
    }
}

/// `a|b|c` with no regex syntax in any alternative: the exact values the
/// pattern matches (the regex is fully anchored).
pub fn literal_alternation(pattern: &str) -> Option<Vec<&str>> {
    let alts: Vec<&str> = pattern.split('|').collect();
    let plain = |a: &&str| {
        !a.contains([
            '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
        ])
    };
    alts.iter().all(plain).then_some(alts)
}

fn insert_sorted(list: &mut Postings, id: u64) {
    match list.last() {
        Some(&last) if last >= id => {
            if let Err(pos) = list.binary_search(&id) {
                list.insert(pos, id);
            }
        }
        _ => list.push(id),
    }
}

/// Intersection of two sorted lists.
pub fn intersect(a: &[u64], b: &[u64]) -> Postings {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Elements of sorted `a` not in sorted `b`.
pub fn subtract(a: &[u64], b: &[u64]) -> Postings {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j < b.len() && b[j] == x {
            continue;
        }
        out.push(x);
    }
    out
}

/// Union of sorted lists.
pub fn union(lists: &[&Postings]) -> Postings {
    match lists {
        [] => Vec::new(),
        [one] => (*one).clone(),
        _ => {
            let mut out: Postings = lists.iter().flat_map(|l| l.iter().copied()).collect();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    fn index() -> Index {
        let mut ix = Index::new();
        ix.add(
            1,
            &l(&[("__name__", "up"), ("job", "node"), ("env", "prod")]),
        );
        ix.add(2, &l(&[("__name__", "up"), ("job", "node")]));
        ix.add(
            3,
            &l(&[("__name__", "up"), ("job", "foobar"), ("env", "dev")]),
        );
        ix.add(4, &l(&[("__name__", "other"), ("job", "foo")]));
        ix
    }

    fn sel(ix: &Index, ms: &[Matcher]) -> Vec<u64> {
        ix.select(ms, true).unwrap()
    }

    #[test]
    fn four_kinds() {
        let ix = index();
        let up = m(MatchOp::Equal, "__name__", "up");
        assert_eq!(sel(&ix, std::slice::from_ref(&up)), [1, 2, 3]);
        assert_eq!(
            sel(&ix, &[up.clone(), m(MatchOp::NotEqual, "job", "node")]),
            [3]
        );
        assert_eq!(sel(&ix, &[m(MatchOp::Regex, "job", "foo")]), [4]);
        assert_eq!(sel(&ix, &[m(MatchOp::Regex, "job", "foo.*")]), [3, 4]);
        assert_eq!(
            sel(&ix, &[up.clone(), m(MatchOp::NotRegex, "job", "foo.*")]),
            [1, 2]
        );
        assert_eq!(sel(&ix, &[m(MatchOp::Regex, "job", "node|foo")]), [1, 2, 4]);
    }

    #[test]
    fn empty_value_semantics() {
        let ix = index();
        let up = m(MatchOp::Equal, "__name__", "up");
        // env="" selects series without env.
        assert_eq!(sel(&ix, &[up.clone(), m(MatchOp::Equal, "env", "")]), [2]);
        // env!="" selects series that have it.
        assert_eq!(sel(&ix, &[m(MatchOp::NotEqual, "env", "")]), [1, 3]);
        // env=~"prod|" selects prod and series without env.
        assert_eq!(
            sel(&ix, &[up.clone(), m(MatchOp::Regex, "env", "prod|")]),
            [1, 2]
        );
        // env!~"prod" keeps series without env.
        assert_eq!(
            sel(&ix, &[up.clone(), m(MatchOp::NotRegex, "env", "prod")]),
            [2, 3]
        );
        // A label nobody has: "=" on a value selects nothing, "!=" everything.
        assert!(sel(&ix, &[m(MatchOp::Equal, "zone", "a")]).is_empty());
        assert_eq!(
            sel(&ix, &[up, m(MatchOp::NotEqual, "zone", "a")]),
            [1, 2, 3]
        );
    }

    #[test]
    fn selectors_that_only_match_empty_are_refused() {
        let ix = index();
        assert_eq!(
            ix.select(&[m(MatchOp::Equal, "env", "")], true),
            Err(EmptySelector)
        );
        assert_eq!(
            ix.select(&[m(MatchOp::Regex, "env", ".*")], true),
            Err(EmptySelector)
        );
        assert_eq!(ix.select(&[], false).unwrap(), [1, 2, 3, 4]);
        assert_eq!(
            ix.select(&[m(MatchOp::Equal, "env", "")], false).unwrap(),
            [2, 4]
        );
    }

    #[test]
    fn literal_alternations_are_recognised() {
        assert_eq!(
            literal_alternation("a|b_c|d-e"),
            Some(vec!["a", "b_c", "d-e"])
        );
        assert_eq!(literal_alternation("a.*"), None);
        assert_eq!(literal_alternation("(a|b)"), None);
    }

    #[test]
    fn removal_drops_empty_lists() {
        let mut ix = index();
        ix.remove(&[(4, l(&[("__name__", "other"), ("job", "foo")]))]);
        assert_eq!(ix.all(), [1, 2, 3]);
        assert!(ix.values("job").all(|(v, _)| v != "foo"));
        assert!(ix.values("__name__").all(|(v, _)| v != "other"));
        ix.remove(&[(
            1,
            l(&[("__name__", "up"), ("job", "node"), ("env", "prod")]),
        )]);
        ix.remove(&[(
            3,
            l(&[("__name__", "up"), ("job", "foobar"), ("env", "dev")]),
        )]);
        assert!(ix.names().all(|n| n != "env"));
    }
}

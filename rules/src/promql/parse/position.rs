//! Source positions of AST nodes.
//!
//! The AST of `promql-parser` carries no spans. Prometheus reports the
//! position of the sub-expression an annotation is about, so we recover
//! positions by walking the AST in source order alongside the token stream
//! of [`super::lexer`]: each node starts at the next live token of the kind
//! that can start it (a function or aggregation name, a metric name or `{`,
//! `(`, a number, a string, a unary sign); binary expressions and
//! subqueries start where their left-most child starts.

use std::collections::HashMap;

use promql_parser::parser::Expr;

use super::lexer::{Kind, Token, tokenize};
use super::{RangeModifier, Trim};

/// Byte offset of the start of every node, keyed by the node's address.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    starts: HashMap<usize, usize>,
    /// `anchored`/`smoothed` of selector nodes.
    modifiers: HashMap<usize, RangeModifier>,
    /// The same, keyed by the address of the inner `VectorSelector` struct.
    selector_mods: HashMap<usize, RangeModifier>,
    /// Start of every selector, keyed by the address of its inner
    /// `VectorSelector` struct: code handed only that struct (an instant
    /// selector's evaluation) can still position its annotations.
    selector_starts: HashMap<usize, usize>,
    /// Binary nodes written with a trim operator, keyed by the address of
    /// their `BinaryExpr`.
    trims: HashMap<usize, Trim>,
}

impl Positions {
    /// Computes the start of every node of `expr` in `src`, and attaches
    /// the modifiers and trim operators the rewrite took out.
    pub fn compute(
        src: &str,
        expr: &Expr,
        mods: &[(usize, RangeModifier)],
        trims: &[(usize, Trim)],
    ) -> Positions {
        let toks = tokenize(src);
        let mut w = Walker {
            src,
            toks: &toks,
            cursor: 0,
            starts: HashMap::new(),
            selectors: Vec::new(),
            trim_ops: trims,
            trims: HashMap::new(),
        };
        w.walk(expr);
        // A modifier belongs to the last selector that starts before it.
        let mut modifiers = HashMap::new();
        let mut selector_mods = HashMap::new();
        for &(at, m) in mods {
            if let Some(&(_, k, inner)) = w
                .selectors
                .iter()
                .filter(|(s, _, _)| *s < at)
                .max_by_key(|(s, _, _)| *s)
            {
                modifiers.insert(k, m);
                selector_mods.insert(inner, m);
            }
        }
        let selector_starts = w
            .selectors
            .iter()
            .map(|&(start, _, inner)| (inner, start))
            .collect();
        Positions {
            starts: w.starts,
            modifiers,
            selector_mods,
            selector_starts,
            trims: w.trims,
        }
    }

    /// The trim operator binary node `b` was written with, if any.
    pub fn trim(&self, b: &promql_parser::parser::BinaryExpr) -> Option<Trim> {
        self.trims.get(&(b as *const _ as usize)).copied()
    }

    /// How many binary nodes were found to be trim operators.
    pub fn trim_count(&self) -> usize {
        self.trims.len()
    }

    /// The modifier of an instant selector given by its inner struct (which
    /// lives inside an `Expr::VectorSelector` node).
    pub fn modifier_of_selector(
        &self,
        vs: &promql_parser::parser::VectorSelector,
    ) -> Option<RangeModifier> {
        self.selector_mods.get(&(vs as *const _ as usize)).copied()
    }

    /// Start byte of the selector whose inner struct is `vs`, 0 when unknown.
    pub fn selector_start(&self, vs: &promql_parser::parser::VectorSelector) -> usize {
        self.selector_starts
            .get(&(vs as *const _ as usize))
            .copied()
            .unwrap_or(0)
    }

    /// The `anchored`/`smoothed` modifier written after selector `e`, if any.
    pub fn modifier(&self, e: &Expr) -> Option<RangeModifier> {
        self.modifiers.get(&key(e)).copied()
    }

    /// Start byte of `e`, 0 when unknown.
    pub fn start(&self, e: &Expr) -> usize {
        self.starts.get(&key(e)).copied().unwrap_or(0)
    }
}

fn key(e: &Expr) -> usize {
    e as *const Expr as usize
}

struct Walker<'a> {
    src: &'a str,
    toks: &'a [Token],
    cursor: usize,
    starts: HashMap<usize, usize>,
    /// (start, node key, inner selector key) of every selector, for attaching modifiers.
    selectors: Vec<(usize, usize, usize)>,
    /// Where the rewrite put trim operators.
    trim_ops: &'a [(usize, Trim)],
    trims: HashMap<usize, Trim>,
}

impl Walker<'_> {
    fn find(&mut self, pred: impl Fn(&Token, &str) -> bool) -> Option<usize> {
        let idx = (self.cursor..self.toks.len())
            .find(|&i| !self.toks[i].skip && pred(&self.toks[i], self.toks[i].text(self.src)))?;
        self.cursor = idx + 1;
        Some(self.toks[idx].start)
    }

    fn find_ident(&mut self, name: &str) -> Option<usize> {
        self.find(|t, s| t.kind == Kind::Ident && s.eq_ignore_ascii_case(name))
    }

    fn walk(&mut self, e: &Expr) -> usize {
        let start = match e {
            Expr::Aggregate(a) => {
                let op = a.op.to_string();
                let s = self.find_ident(&op);
                if let Some(p) = &a.param {
                    self.walk(p);
                }
                self.walk(&a.expr);
                s
            }
            Expr::Call(c) => {
                let s = self.find_ident(c.func.name);
                for a in &c.args.args {
                    self.walk(a);
                }
                s
            }
            Expr::Binary(b) => {
                let s = self.walk(&b.lhs);
                // The operator is the next live operator token (a word for
                // `and`, `or`, `unless`, `atan2`) after the left operand's.
                let name = b.op.to_string();
                let op = if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    self.find_ident(&name)
                } else {
                    self.find(|t, _| t.kind == Kind::Op)
                };
                if let Some(op) = op
                    && let Some(&(_, trim)) = self.trim_ops.iter().find(|(at, _)| *at == op)
                {
                    self.trims.insert(b as *const _ as usize, trim);
                }
                self.walk(&b.rhs);
                Some(s)
            }
            Expr::Paren(p) => {
                let s = self.find(|t, _| t.kind == Kind::LParen);
                self.walk(&p.expr);
                s
            }
            Expr::Unary(u) => {
                let s = self.find(|t, s| t.kind == Kind::Op && (s == "-" || s == "+"));
                self.walk(&u.expr);
                s
            }
            Expr::Subquery(sq) => Some(self.walk(&sq.expr)),
            Expr::NumberLiteral(_) => self.number(),
            Expr::StringLiteral(_) => self.find(|t, _| t.kind == Kind::Str),
            Expr::VectorSelector(vs) => self.selector(vs.name.as_deref()),
            Expr::MatrixSelector(ms) => self.selector(ms.vs.name.as_deref()),
            Expr::Extension(_) => None,
        };
        let start = start.unwrap_or(0);
        match e {
            Expr::VectorSelector(vs) => {
                self.selectors
                    .push((start, key(e), vs as *const _ as usize))
            }
            Expr::MatrixSelector(ms) => {
                self.selectors
                    .push((start, key(e), &ms.vs as *const _ as usize))
            }
            _ => {}
        }
        self.starts.insert(key(e), start);
        start
    }

    /// Start of a number literal. The parser folds unary signs written
    /// right before a number into the literal (`-1.1`), and Prometheus then
    /// positions the literal at its first sign; a sign already taken by
    /// another node (a binary operator, an explicit unary node) is not the
    /// literal's.
    fn number(&mut self) -> Option<usize> {
        let from = self.cursor;
        let mut start = self.find(|t, _| t.kind == Kind::Number)?;
        let mut k = self.cursor.saturating_sub(1);
        while k > from {
            let prev = &self.toks[k - 1];
            if prev.skip || prev.kind != Kind::Op || !matches!(prev.text(self.src), "-" | "+") {
                break;
            }
            start = prev.start;
            k -= 1;
        }
        Some(start)
    }

    fn selector(&mut self, name: Option<&str>) -> Option<usize> {
        match name {
            Some(n) => {
                let n = n.to_string();
                // A quoted name (`{"a.b"}`) starts at its brace.
                self.find(|t, s| (t.kind == Kind::Ident && s == n) || t.kind == Kind::LBrace)
            }
            None => self.find(|t, _| t.kind == Kind::LBrace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn starts_of_args(q: &str) -> Vec<usize> {
        let e = parse(q).unwrap();
        let p = Positions::compute(q, &e, &[], &[]);
        match &e {
            Expr::Call(c) => c.args.args.iter().map(|a| p.start(a)).collect(),
            Expr::Aggregate(a) => vec![p.start(&a.expr)],
            other => vec![p.start(other)],
        }
    }

    #[test]
    fn function_arguments() {
        assert_eq!(starts_of_args("rate(x[5m])"), [5]);
        assert_eq!(
            starts_of_args("histogram_quantile(0.9, sum by (le) (b))"),
            [19, 24]
        );
        assert_eq!(starts_of_args("sum(sort(series))"), [4]);
        assert_eq!(starts_of_args("count(limit_ratio(1.1, x) and x)"), [6]);
    }

    #[test]
    fn signed_number_literals_start_at_their_sign() {
        assert_eq!(starts_of_args("clamp_min(x, -1.1)"), [10, 13]);
        assert_eq!(
            starts_of_args("histogram_fraction(-Inf, +Inf, h)"),
            [19, 25, 31]
        );
        assert_eq!(starts_of_args("1 - 2"), [0]);
        let q = "x - -2";
        let e = parse(q).unwrap();
        let p = Positions::compute(q, &e, &[], &[]);
        let Expr::Binary(b) = &e else {
            panic!("not binary")
        };
        assert_eq!(p.start(&b.rhs), 4);
    }

    #[test]
    fn selector_start_by_inner_struct() {
        let q = "sort(metric)";
        let e = parse(q).unwrap();
        let p = Positions::compute(q, &e, &[], &[]);
        let Expr::Call(c) = &e else {
            panic!("not a call")
        };
        let Expr::VectorSelector(vs) = &*c.args.args[0] else {
            panic!("not a selector")
        };
        assert_eq!(p.selector_start(vs), 5);
    }
}

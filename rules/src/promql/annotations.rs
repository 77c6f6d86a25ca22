//! Warnings and infos a query raises, deduplicated and positioned the way
//! Prometheus renders them: `PromQL warning: <msg> (<line>:<col>)`.

use super::Annotations;
use super::parse::lexer::line_col;

/// The annotations of one query while it runs.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    warnings: Vec<String>,
    infos: Vec<String>,
}

impl Collector {
    /// Adds a warning about the node starting at byte `pos` of `src`.
    pub fn warn(&mut self, src: &str, pos: usize, msg: &str) {
        let (l, c) = line_col(src, pos);
        let s = format!("PromQL warning: {msg} ({l}:{c})");
        if !self.warnings.contains(&s) {
            self.warnings.push(s);
        }
    }

    /// Adds an info about the node starting at byte `pos` of `src`.
    pub fn info(&mut self, src: &str, pos: usize, msg: &str) {
        let (l, c) = line_col(src, pos);
        let s = format!("PromQL info: {msg} ({l}:{c})");
        if !self.infos.contains(&s) {
            self.infos.push(s);
        }
    }

    /// The collected annotations.
    pub fn finish(self) -> Annotations {
        Annotations {
            warnings: self.warnings,
            infos: self.infos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_with_position_and_deduplicated() {
        let mut c = Collector::default();
        c.warn("sum(sort(x))", 4, "sort is ineffective");
        c.warn("sum(sort(x))", 4, "sort is ineffective");
        c.info("rate(x[1m])", 5, "metric might not be a counter");
        let a = c.finish();
        assert_eq!(a.warnings, ["PromQL warning: sort is ineffective (1:5)"]);
        assert_eq!(
            a.infos,
            ["PromQL info: metric might not be a counter (1:6)"]
        );
    }
}

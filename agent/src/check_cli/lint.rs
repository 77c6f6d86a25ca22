//! `--lint` and `--lint-fatal`, read and reported as promtool does.

use warden_rules::rulefmt::DuplicateRule;

/// Which lints run, and whether a lint problem fails the command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LintSettings {
    /// `duplicate-rules`: rules writing the same name and labels.
    pub duplicate_rules: bool,
    /// `--lint-fatal`: lint problems exit with status 3.
    pub fatal: bool,
}

impl LintSettings {
    /// Reads promtool's `--lint` value: a comma-separated list of `all`,
    /// `duplicate-rules` and `none`. An unknown name is not an error in
    /// promtool, only a warning, so scripts written for it keep working;
    /// the warnings are returned for the caller to print.
    pub fn parse(value: &str, fatal: bool) -> (LintSettings, Vec<String>) {
        let mut settings = LintSettings {
            duplicate_rules: false,
            fatal,
        };
        let mut warnings = Vec::new();
        for option in value.split(',') {
            match option {
                "all" | "duplicate-rules" => settings.duplicate_rules = true,
                "none" => {}
                other => warnings.push(format!("WARNING: unknown lint option {other}")),
            }
        }
        (settings, warnings)
    }
}

/// promtool's wording of the duplicate-rules lint: one message, several
/// lines, the labels indented by a tab.
pub fn duplicates_message(duplicates: &[DuplicateRule]) -> String {
    let mut m = format!("lint error {} duplicate rule(s) found.\n", duplicates.len());
    for d in duplicates {
        m.push_str(&format!("Metric: {}\nLabel(s):\n", d.name));
        for (name, value) in &d.labels {
            m.push_str(&format!("\t{name}: {value}\n"));
        }
    }
    m.push_str("Might cause inconsistency while recording expressions");
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_lists_read_as_promtool_reads_them() {
        let (s, w) = LintSettings::parse("duplicate-rules", false);
        assert!(s.duplicate_rules && w.is_empty());
        let (s, w) = LintSettings::parse("none", true);
        assert!(!s.duplicate_rules && s.fatal && w.is_empty());
        let (s, w) = LintSettings::parse("all,none", false);
        assert!(s.duplicate_rules && w.is_empty());
        let (s, w) = LintSettings::parse("bogus", false);
        assert!(!s.duplicate_rules);
        assert_eq!(w, ["WARNING: unknown lint option bogus"]);
    }

    #[test]
    fn duplicates_are_worded_as_promtool_words_them() {
        let d = [
            DuplicateRule {
                name: "A".into(),
                labels: vec![],
            },
            DuplicateRule {
                name: "x:y".into(),
                labels: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            },
        ];
        assert_eq!(
            duplicates_message(&d),
            "lint error 2 duplicate rule(s) found.\nMetric: A\nLabel(s):\nMetric: x:y\nLabel(s):\n\ta: 1\n\tb: 2\nMight cause inconsistency while recording expressions"
        );
    }
}

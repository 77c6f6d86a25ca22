//! Reads every rule a configuration asks for: the enabled stock packs, then
//! the files `rule_files` names, in that order.
//!
//! Loading is all or nothing: every file is parsed and validated, every
//! problem is collected with its file, line and column, and only a set with
//! no problem at all is handed on. That is what lets a reload with a broken
//! file leave the running rules untouched. Besides what the rule-file
//! reader checks, alerting rules' label and annotation templates must
//! parse, as promtool requires: a template that cannot work is refused at
//! load, not discovered when the alert fires.

use warden_rules::rulefmt::{self, LoadOptions, RuleError, RuleFile, RuleKind};
use warden_rules::template;

use super::packs;
use crate::config::Config;

/// Why the rules of a configuration could not be loaded: one line per
/// problem, each `file:line:column: what`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct RuleLoadError {
    /// The problems, file by file.
    pub problems: Vec<String>,
}

/// Loads the packs and rule files of `cfg`; every group of every file, or
/// every problem found.
pub fn load(cfg: &Config) -> Result<Vec<RuleFile>, RuleLoadError> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for &pack in &cfg.rule_packs {
        let name = packs::file_name(pack);
        match rulefmt::parse(&name, packs::text(pack), LoadOptions::default()) {
            Ok(f) => accept(f, &mut files, &mut problems),
            Err(e) => problems.extend(e.errors.iter().map(describe)),
        }
    }
    match cfg.rule_file_paths() {
        Ok(paths) => {
            for path in paths {
                match rulefmt::load(&path, LoadOptions::default()) {
                    Ok(f) => accept(f, &mut files, &mut problems),
                    Err(e) => problems.extend(e.errors.iter().map(describe)),
                }
            }
        }
        Err(e) => problems.push(e),
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(RuleLoadError { problems })
    }
}

/// Keeps a parsed file whose templates parse; reports those that do not.
fn accept(file: RuleFile, files: &mut Vec<RuleFile>, problems: &mut Vec<String>) {
    let before = problems.len();
    for g in &file.groups {
        for (i, rule) in g.rules.iter().enumerate() {
            let RuleKind::Alerting {
                alert, annotations, ..
            } = &rule.kind
            else {
                continue;
            };
            // Prometheus names the template after the alert in its messages.
            let name = format!("__alert_{alert}");
            let texts = rule
                .labels
                .iter()
                .map(|(k, v)| ("label", k, v))
                .chain(annotations.iter().map(|(k, v)| ("annotation", k, v)));
            for (what, key, text) in texts {
                if let Err(e) = template::check(&name, text) {
                    problems.push(describe(&RuleError {
                        file: file.path.clone(),
                        position: Some(rule.position),
                        context: Some(format!("group {:?}, rule {}, {alert:?}", g.name, i + 1)),
                        message: format!("{what} {key:?}: {e}"),
                    }));
                }
            }
        }
    }
    if problems.len() == before {
        files.push(file);
    }
}

/// `file:line:column: [context: ]message`, the shape of every other error
/// warden reports about its input.
fn describe(e: &RuleError) -> String {
    let mut s = e.file.clone();
    if let Some(p) = e.position {
        s.push_str(&format!(":{}:{}", p.line, p.column));
    }
    s.push_str(": ");
    if let Some(c) = &e.context {
        s.push_str(c);
        s.push_str(": ");
    }
    s.push_str(&e.message);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RuleFilePattern, RulePack};

    fn config(dir: &std::path::Path, patterns: &[&str], packs: &[RulePack]) -> Config {
        let mut c = Config::default();
        c.rule_files = patterns
            .iter()
            .map(|p| RuleFilePattern::parse(p).unwrap())
            .collect();
        c.rule_packs = packs.to_vec();
        c.base_dir = dir.to_path_buf();
        c
    }

    #[test]
    fn the_embedded_default_loads_every_pack_templates_included() {
        let cfg = crate::config::load_default().unwrap();
        let files = load(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["pack:host.yml", "pack:warden.yml", "pack:leak.yml"]);
    }

    #[test]
    fn packs_then_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yml"),
            "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: vector(1)\n",
        )
        .unwrap();
        let files = load(&config(dir.path(), &["*.yml"], &[RulePack::Warden])).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "pack:warden.yml");
        assert!(files[1].path.ends_with("a.yml"));
    }

    #[test]
    fn every_problem_of_every_file_is_reported_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bad1.yml"),
            "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad2.yml"),
            "groups:\n  - name: g\n    rulez: []\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad3.yml"),
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: '{{ $labels.x'\n",
        )
        .unwrap();
        let e = load(&config(
            dir.path(),
            &["bad1.yml", "bad2.yml", "bad3.yml", "gone.yml"],
            &[],
        ))
        .unwrap_err();
        assert_eq!(e.problems.len(), 4, "{e}");
        assert!(e.problems[0].contains("bad1.yml:5:"), "{e}");
        assert!(e.problems[1].contains("bad2.yml:3:"), "{e}");
        assert!(
            e.problems[2].contains("bad3.yml:7:20:")
                && e.problems[2].contains("annotation \"summary\": template: __alert_A"),
            "{e}"
        );
        assert!(e.problems[3].contains("gone.yml"), "{e}");
    }
}

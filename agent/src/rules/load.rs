//! Reads every rule a configuration asks for: the enabled stock packs, then
//! the files `rule_files` names, in that order.
//!
//! Loading is all or nothing: every file is parsed and validated, every
//! problem is collected with its file, line and column, and only a set with
//! no problem at all is handed on. That is what lets a reload with a broken
//! file leave the running rules untouched.

use warden_rules::rulefmt::{self, LoadOptions, RuleError, RuleFile};

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
            Ok(f) => files.push(f),
            Err(e) => problems.extend(e.errors.iter().map(describe)),
        }
    }
    match cfg.rule_file_paths() {
        Ok(paths) => {
            for path in paths {
                match rulefmt::load(&path, LoadOptions::default()) {
                    Ok(f) => files.push(f),
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
        Config {
            rule_files: patterns
                .iter()
                .map(|p| RuleFilePattern::parse(p).unwrap())
                .collect(),
            rule_packs: packs.to_vec(),
            base_dir: dir.to_path_buf(),
            ..Config::default()
        }
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
        let e = load(&config(
            dir.path(),
            &["bad1.yml", "bad2.yml", "gone.yml"],
            &[],
        ))
        .unwrap_err();
        assert_eq!(e.problems.len(), 3, "{e}");
        assert!(e.problems[0].contains("bad1.yml:5:"), "{e}");
        assert!(e.problems[1].contains("bad2.yml:3:"), "{e}");
        assert!(e.problems[2].contains("gone.yml"), "{e}");
    }
}

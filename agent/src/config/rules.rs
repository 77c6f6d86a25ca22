//! The configuration of rule evaluation: `rule_files` (as in
//! `prometheus.yml`), warden's `rule_packs`, and the external URL alerts
//! link back to.
//!
//! Each value is checked while it is parsed, so a bad pattern, an unknown
//! pack or a malformed URL is reported at its own line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// One entry of `rule_files`: a path or a glob, relative to the directory of
/// the configuration file. As in Prometheus, `*` may appear only in the last
/// path element (`rules/*.yml`, not `*/alerts.yml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFilePattern(pub String);

impl RuleFilePattern {
    /// Checks a pattern the way Prometheus's configuration loader does.
    pub fn parse(s: &str) -> Result<RuleFilePattern, String> {
        let valid = match s.find('*') {
            None => true,
            Some(i) => !s[i..].contains('/'),
        };
        if !valid {
            return Err(format!(
                "invalid rule file path {s:?} (a `*` may appear only in the last path element)"
            ));
        }
        glob::Pattern::new(s).map_err(|e| format!("invalid rule file path {s:?}: {}", e.msg))?;
        Ok(RuleFilePattern(s.to_string()))
    }

    /// The files the pattern names now, sorted, resolved against `base`
    /// (the configuration file's directory). A pattern that matches nothing
    /// is not an error, as in Prometheus; a plain path names its file even
    /// if it does not exist, so that loading it reports the missing file.
    pub fn expand(&self, base: &Path) -> Result<Vec<PathBuf>, String> {
        let full = base.join(&self.0);
        if !has_glob_meta(&self.0) {
            return Ok(vec![full]);
        }
        let pattern = full.to_string_lossy().into_owned();
        let paths = glob::glob(&pattern)
            .map_err(|e| format!("invalid rule file path {:?}: {}", self.0, e.msg))?;
        let mut out = Vec::new();
        for p in paths {
            match p {
                Ok(p) if p.is_file() => out.push(p),
                Ok(_) => {}
                Err(e) => return Err(format!("rule file path {:?}: {e}", self.0)),
            }
        }
        out.sort();
        Ok(out)
    }
}

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl<'de> Deserialize<'de> for RuleFilePattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RuleFilePattern::parse(&s).map_err(de::Error::custom)
    }
}

/// A stock rule pack compiled into the binary (`rules/packs/<name>.yml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RulePack {
    /// Host health: CPU, memory, disks, filesystems, network (node_exporter names).
    Host,
    /// warden watching itself: collectors, store, rule evaluation.
    Warden,
    /// Memory leaks and limits, from the leak detector's series.
    Leak,
}

impl RulePack {
    /// The pack's name, as written in `rule_packs`.
    pub fn name(self) -> &'static str {
        match self {
            RulePack::Host => "host",
            RulePack::Warden => "warden",
            RulePack::Leak => "leak",
        }
    }
}

/// `rule_packs`: each pack at most once.
pub(super) fn unique_packs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RulePack>, D::Error> {
    let packs = Option::<Vec<RulePack>>::deserialize(d)?.unwrap_or_default();
    for (i, p) in packs.iter().enumerate() {
        if packs[..i].contains(p) {
            return Err(de::Error::custom(format!(
                "rule pack {:?} is listed twice",
                p.name()
            )));
        }
    }
    Ok(packs)
}

/// The URL under which warden is reached from outside (behind a proxy, say):
/// alerts' generator URLs and templates' `$externalURL` start with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUrl(pub String);

impl ExternalUrl {
    /// Checks and normalises a URL as Prometheus's `--web.external-url`:
    /// absolute http(s), no surrounding quotes, trailing `/` of the path
    /// dropped (`http://example.com/warden/` → `http://example.com/warden`).
    pub fn parse(s: &str) -> Result<ExternalUrl, String> {
        if s.starts_with(['"', '\'']) || s.ends_with(['"', '\'']) {
            return Err("external URL must not begin or end with quotes".into());
        }
        let mut u = url::Url::parse(s).map_err(|e| format!("external URL {s:?}: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") || !u.has_host() {
            return Err(format!(
                "external URL {s:?}: expected an absolute http:// or https:// URL"
            ));
        }
        let path = u.path().trim_end_matches('/').to_string();
        u.set_path(&path);
        Ok(ExternalUrl(u.as_str().trim_end_matches('/').to_string()))
    }

    /// Prometheus's default when no external URL is set:
    /// `http://<hostname>:<listen port>`.
    pub fn from_listen_address(listen: &str) -> ExternalUrl {
        let port = listen.rsplit_once(':').map_or("9659", |(_, p)| p);
        let host = hostname().unwrap_or_else(|| "localhost".to_string());
        ExternalUrl(format!("http://{host}:{port}"))
    }
}

impl std::fmt::Display for ExternalUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExternalUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ExternalUrl::parse(&s).map_err(de::Error::custom)
    }
}

/// The machine's host name, as Go's `os.Hostname` reads it on Linux.
fn hostname() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = raw.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_only_in_the_last_element() {
        assert!(RuleFilePattern::parse("rules/*.yml").is_ok());
        assert!(RuleFilePattern::parse("/etc/warden/alerts.yml").is_ok());
        let e = RuleFilePattern::parse("*/alerts.yml").unwrap_err();
        assert!(e.contains("invalid rule file path"), "{e}");
    }

    #[test]
    fn globs_expand_sorted_relative_to_the_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("r")).unwrap();
        for f in ["b.yml", "a.yml", "c.txt"] {
            std::fs::write(dir.path().join("r").join(f), "groups: []\n").unwrap();
        }
        let got = RuleFilePattern::parse("r/*.yml")
            .unwrap()
            .expand(dir.path())
            .unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.yml", "b.yml"]);
        let none = RuleFilePattern::parse("nothing/*.yml")
            .unwrap()
            .expand(dir.path())
            .unwrap();
        assert!(none.is_empty());
        let plain = RuleFilePattern::parse("missing.yml")
            .unwrap()
            .expand(dir.path())
            .unwrap();
        assert_eq!(plain, vec![dir.path().join("missing.yml")]);
    }

    #[test]
    fn external_urls_as_prometheus_normalises_them() {
        assert_eq!(
            ExternalUrl::parse("http://example.com:9090/").unwrap().0,
            "http://example.com:9090"
        );
        assert_eq!(
            ExternalUrl::parse("https://example.com/warden/").unwrap().0,
            "https://example.com/warden"
        );
        assert!(ExternalUrl::parse("\"http://x/\"").is_err());
        assert!(ExternalUrl::parse("example.com").is_err());
        assert!(ExternalUrl::parse("ftp://example.com").is_err());
        let d = ExternalUrl::from_listen_address("127.0.0.1:9659");
        assert!(d.0.starts_with("http://") && d.0.ends_with(":9659"), "{d}");
    }
}

//! `warden.yml`: the one configuration file.
//!
//! Everything about YAML stays inside this module: [`load`] reads a file,
//! [`parse`] reads text, and both return a [`Config`] or a [`ConfigError`]
//! that names the file, line and column and says what was expected. The YAML
//! library is strict (duplicate keys and unknown keys are errors, as in
//! Prometheus) and never leaks out of here, so it can be replaced without
//! touching the rest of the binary.
//!
//! Sections that later versions will implement (`scrape_configs`,
//! `alerting`, ...) are refused with a "not supported yet"
//! error rather than silently ignored, so nobody believes an alert rule is
//! being evaluated when it is not.

mod leak;
mod rules;
mod source;
mod units;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};

pub use leak::{LeakDetectionConfig, SELF_GROUP, Selector};
pub use rules::{ExternalUrl, RuleFilePattern, RulePack};
pub use source::ConfigSource;
pub use units::{ByteSize, PromDuration, format_duration, parse_bytes, parse_duration};

/// The embedded default configuration, used when no `--config.file` is given.
pub const DEFAULT_YAML: &str = include_str!("default.yml");

/// The name the embedded default goes by in error messages.
pub const DEFAULT_SOURCE: &str = "<embedded default warden.yml>";

/// The default listen address: loopback only, on port 9659 (see
/// `docs/configuration.md` for why this port).
pub const DEFAULT_LISTEN_ADDRESS: &str = "127.0.0.1:9659";

/// Why a configuration could not be used. Its `Display` is the message a
/// person sees: `file:line:column: what is wrong`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read configuration: {source}")]
    Read {
        /// The file that was asked for.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{}", render_invalid(file, *line, *column, message))]
    Invalid {
        /// The file (or [`DEFAULT_SOURCE`]).
        file: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when known.
        column: Option<u64>,
        /// What is wrong and what was expected.
        message: String,
    },
}

fn render_invalid(file: &str, line: Option<u64>, column: Option<u64>, message: &str) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}: {message}"),
        (Some(l), None) => format!("{file}:{l}: {message}"),
        _ => format!("{file}: {message}"),
    }
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    let mut cfg = parse(&file, &text)?;
    cfg.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(cfg)
}

/// The embedded default configuration.
pub fn load_default() -> Result<Config, ConfigError> {
    parse(DEFAULT_SOURCE, DEFAULT_YAML)
}

/// Parses configuration text; `file` names it in error messages.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    // An empty file is an empty configuration, as in Prometheus.
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let raw: Option<Config> = serde_saphyr::from_str(text).map_err(|e| {
        let loc = e.location();
        let message = e.without_snippet().to_string();
        ConfigError::Invalid {
            file: file.to_string(),
            line: loc.map(|l| l.line()),
            column: loc.map(|l| l.column()),
            message: strip_position(&message),
        }
    })?;
    let cfg = raw.unwrap_or_default();
    cfg.validate().map_err(|message| ConfigError::Invalid {
        file: file.to_string(),
        line: None,
        column: None,
        message,
    })?;
    Ok(cfg)
}

/// The YAML library may append its own "at line X column Y" (the position
/// already leads our message) or advice about its own options (which are not
/// the user's to set); both are dropped.
fn strip_position(message: &str) -> String {
    let m = message.trim();
    let m = m
        .split_once(", set DuplicateKeyPolicy")
        .map_or(m, |(head, _)| head);
    match m.rfind(" at line ") {
        Some(i) if m[i..].contains("column") => m[..i].trim_end_matches(',').to_string(),
        _ => m.to_string(),
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults shared by every section (Prometheus's `global`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub global: GlobalConfig,
    /// The built-in collectors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub collectors: CollectorsConfig,
    /// Where and how long samples are kept.
    #[serde(default, deserialize_with = "null_as_default")]
    pub storage: StorageConfig,
    /// The HTTP server.
    #[serde(default, deserialize_with = "null_as_default")]
    pub web: WebConfig,
    /// Prometheus rule files to evaluate (paths or globs, relative to the
    /// configuration file's directory).
    #[serde(default, deserialize_with = "null_as_default")]
    pub rule_files: Vec<RuleFilePattern>,
    /// Stock rule packs compiled into warden, evaluated besides `rule_files`.
    #[serde(default, deserialize_with = "rules::unique_packs")]
    pub rule_packs: Vec<RulePack>,
    /// The directory `rule_files` are relative to: the configuration
    /// file's (the working directory for the embedded default).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Live leak and growth-trend detection.
    #[serde(default, deserialize_with = "null_as_default")]
    pub leak_detection: LeakDetectionConfig,

    // Sections of later versions: refused with a clear error.
    #[serde(
        default,
        rename = "scrape_configs",
        deserialize_with = "not_yet::scrape_configs"
    )]
    _scrape_configs: Option<()>,
    #[serde(
        default,
        rename = "scrape_config_files",
        deserialize_with = "not_yet::scrape_config_files"
    )]
    _scrape_config_files: Option<()>,
    #[serde(default, rename = "alerting", deserialize_with = "not_yet::alerting")]
    _alerting: Option<()>,
    #[serde(
        default,
        rename = "remote_write",
        deserialize_with = "not_yet::remote_write"
    )]
    _remote_write: Option<()>,
    #[serde(
        default,
        rename = "remote_read",
        deserialize_with = "not_yet::remote_read"
    )]
    _remote_read: Option<()>,
    #[serde(default, rename = "notify", deserialize_with = "not_yet::notify")]
    _notify: Option<()>,
    #[serde(default, rename = "playbooks", deserialize_with = "not_yet::playbooks")]
    _playbooks: Option<()>,
    #[serde(default, rename = "probes", deserialize_with = "not_yet::probes")]
    _probes: Option<()>,
    #[serde(default, rename = "databases", deserialize_with = "not_yet::databases")]
    _databases: Option<()>,
}

/// Refusals for the sections later versions implement. Each names its
/// section, so the message says exactly what to remove.
mod not_yet {
    use serde::Deserializer;
    use serde::de::Error;

    macro_rules! refuse {
        ($($name:ident),* $(,)?) => {$(
            pub(super) fn $name<'de, D: Deserializer<'de>>(_: D) -> Result<Option<()>, D::Error> {
                Err(D::Error::custom(concat!(
                    "section `", stringify!($name),
                    "` is not supported yet by this version of warden; remove it"
                )))
            }
        )*};
    }

    refuse!(
        scrape_configs,
        scrape_config_files,
        alerting,
        remote_write,
        remote_read,
        notify,
        playbooks,
        probes,
        databases,
    );
}

/// Lets `section:` with nothing under it mean "all defaults", as an empty
/// section does in `prometheus.yml`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A duration that must be greater than zero.
fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<PromDuration, D::Error> {
    let v = PromDuration::deserialize(d)?;
    if v.0.is_zero() {
        return Err(de::Error::custom("duration must be greater than 0"));
    }
    Ok(v)
}

fn positive_duration_opt<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<PromDuration>, D::Error> {
    match Option::<PromDuration>::deserialize(d)? {
        Some(v) if v.0.is_zero() => Err(de::Error::custom("duration must be greater than 0")),
        other => Ok(other),
    }
}

impl Config {
    /// Checks that span several keys (the per-key checks happen while parsing,
    /// where the line and column are known).
    fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::BTreeSet::new();
        for g in &self.collectors.process.groups {
            if !names.insert(g.name.as_str()) {
                return Err(format!(
                    "collectors.process.groups: duplicate group name {:?}",
                    g.name
                ));
            }
        }
        self.leak_detection
            .validate(&self.collectors.process.groups)?;
        Ok(())
    }

    /// The host collector's interval (its own, else `global.scrape_interval`).
    pub fn host_interval(&self) -> Duration {
        self.collectors
            .host
            .interval
            .unwrap_or(self.global.scrape_interval)
            .get()
    }

    /// The rule files `rule_files` names now, in configuration order, each
    /// glob's matches sorted; a file named twice is loaded once.
    pub fn rule_file_paths(&self) -> Result<Vec<PathBuf>, String> {
        let mut out: Vec<PathBuf> = Vec::new();
        for pattern in &self.rule_files {
            for p in pattern.expand(&self.base_dir)? {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    /// The process collector's interval (its own, else `global.scrape_interval`).
    pub fn process_interval(&self) -> Duration {
        self.collectors
            .process
            .interval
            .unwrap_or(self.global.scrape_interval)
            .get()
    }
}

/// Prometheus's `global` section (the keys warden uses so far).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlobalConfig {
    /// Default collection interval (Prometheus default: 1m).
    #[serde(deserialize_with = "positive_duration")]
    pub scrape_interval: PromDuration,
    /// Default rule evaluation interval (Prometheus default: 1m).
    #[serde(deserialize_with = "positive_duration")]
    pub evaluation_interval: PromDuration,
    /// How far in the past rule queries look by default, so that late
    /// samples are in (Prometheus default: 0).
    pub rule_query_offset: PromDuration,
    /// Labels added to alerts sent out (and, once it exists, remote write);
    /// templates see them as `$externalLabels`. Names must be valid
    /// Prometheus label names.
    pub external_labels: BTreeMap<LabelName, String>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: PromDuration(Duration::from_secs(60)),
            evaluation_interval: PromDuration(Duration::from_secs(60)),
            rule_query_offset: PromDuration(Duration::ZERO),
            external_labels: BTreeMap::new(),
        }
    }
}

/// A label name in Prometheus's classic character set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelName(pub String);

impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if !warden_tsdb::labels::is_valid_label_name(&s) {
            return Err(de::Error::custom(format!(
                "{s:?} is not a valid label name (expected [a-zA-Z_][a-zA-Z0-9_]*)"
            )));
        }
        if s.starts_with("__") {
            return Err(de::Error::custom(format!(
                "label name {s:?} is reserved (names starting with __ are internal)"
            )));
        }
        Ok(LabelName(s))
    }
}

/// The built-in collectors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorsConfig {
    /// Host metrics with node_exporter's names.
    #[serde(deserialize_with = "null_as_default")]
    pub host: HostCollectorConfig,
    /// Per-process metrics for groups of processes, and for warden itself.
    #[serde(deserialize_with = "null_as_default")]
    pub process: ProcessCollectorConfig,
}

/// The host collector (node_exporter's metrics).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostCollectorConfig {
    /// Whether it runs.
    pub enabled: bool,
    /// How often it collects (default: `global.scrape_interval`).
    #[serde(deserialize_with = "positive_duration_opt")]
    pub interval: Option<PromDuration>,
    /// Where procfs is mounted (a container reading its host's uses `/host/proc`).
    pub proc_path: PathBuf,
    /// Where sysfs is mounted.
    pub sys_path: PathBuf,
    /// The root of the filesystems to report (`/host/root` in a container).
    pub rootfs_path: PathBuf,
}

impl Default for HostCollectorConfig {
    fn default() -> Self {
        HostCollectorConfig {
            enabled: true,
            interval: None,
            proc_path: PathBuf::from("/proc"),
            sys_path: PathBuf::from("/sys"),
            rootfs_path: PathBuf::from("/"),
        }
    }
}

/// The process collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessCollectorConfig {
    /// Whether it runs at all.
    pub enabled: bool,
    /// How often it collects (default: `global.scrape_interval`).
    #[serde(deserialize_with = "positive_duration_opt")]
    pub interval: Option<PromDuration>,
    /// Whether warden reports its own `process_*` metrics.
    #[serde(rename = "self")]
    pub self_metrics: bool,
    /// Named groups of processes to watch.
    #[serde(deserialize_with = "null_as_default")]
    pub groups: Vec<ProcessGroup>,
}

impl Default for ProcessCollectorConfig {
    fn default() -> Self {
        ProcessCollectorConfig {
            enabled: true,
            interval: None,
            self_metrics: true,
            groups: Vec::new(),
        }
    }
}

/// One named group of processes. Every selector that is set must match; a
/// process belongs to the first group that matches it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawProcessGroup")]
pub struct ProcessGroup {
    /// The group's name (the `groupname` label).
    pub name: String,
    /// Process names (`/proc/PID/comm`, exact match); any of them matches.
    pub comm: Vec<String>,
    /// A regular expression (Go RE2 syntax) that must find a match in the
    /// command line (arguments joined by spaces).
    pub cmdline: Option<String>,
    /// A file holding the PID of the group's main process.
    pub pidfile: Option<PathBuf>,
    /// A cgroup path; every process in it belongs to the group.
    pub cgroup: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcessGroup {
    name: String,
    #[serde(default)]
    comm: Vec<String>,
    #[serde(default)]
    cmdline: Option<String>,
    #[serde(default)]
    pidfile: Option<PathBuf>,
    #[serde(default)]
    cgroup: Option<String>,
}

impl TryFrom<RawProcessGroup> for ProcessGroup {
    type Error = String;

    fn try_from(r: RawProcessGroup) -> Result<Self, String> {
        if r.name.is_empty() {
            return Err("process group `name` must not be empty".into());
        }
        if r.comm.is_empty() && r.cmdline.is_none() && r.pidfile.is_none() && r.cgroup.is_none() {
            return Err(format!(
                "process group {:?} selects nothing (expected at least one of comm, cmdline, pidfile, cgroup)",
                r.name
            ));
        }
        if let Some(re) = &r.cmdline
            && let Err(e) = compile_go_regex(re)
        {
            return Err(format!(
                "process group {:?}: cmdline {re:?} is not a valid regular expression: {e}",
                r.name
            ));
        }
        Ok(ProcessGroup {
            name: r.name,
            comm: r.comm,
            cmdline: r.cmdline,
            pidfile: r.pidfile,
            cgroup: r.cgroup,
        })
    }
}

/// Compiles a regular expression written in Go's RE2 syntax (as in
/// Prometheus and process-exporter configurations), unanchored.
pub fn compile_go_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&warden_tsdb::matcher::translate_go_regex(pattern))
}

/// The local store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The data directory (WAL and checkpoints).
    pub path: PathBuf,
    /// How long samples are kept. 24h, not Prometheus's 15d: warden keeps
    /// its recent history in memory for rules and leak detection, and
    /// long-term storage is Prometheus's job (scrape or remote-write it).
    #[serde(deserialize_with = "positive_duration")]
    pub retention_time: PromDuration,
    /// Size limit of the data directory (`0` or absent: none).
    pub retention_size: Option<ByteSize>,
    /// When the WAL is forced to disk.
    pub wal_fsync: WalFsync,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("./data"),
            retention_time: PromDuration(Duration::from_secs(24 * 3600)),
            retention_size: None,
            wal_fsync: WalFsync::Interval(Duration::from_secs(10)),
        }
    }
}

/// When the WAL is fsynced: after every commit, on an interval, or never
/// (left to the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFsync {
    /// After every commit: nothing committed is lost, even on power loss.
    Always,
    /// At most this often: a power loss costs at most this much.
    Interval(Duration),
    /// Never explicitly; a process crash loses nothing, a power loss may.
    Never,
}

impl fmt::Display for WalFsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalFsync::Always => f.write_str("always"),
            WalFsync::Never => f.write_str("never"),
            WalFsync::Interval(d) => f.write_str(&format_duration(*d)),
        }
    }
}

impl<'de> Deserialize<'de> for WalFsync {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "always" => Ok(WalFsync::Always),
            "never" => Ok(WalFsync::Never),
            other => match parse_duration(other) {
                Ok(d) if !d.is_zero() => Ok(WalFsync::Interval(d)),
                _ => Err(de::Error::custom(format!(
                    "wal_fsync {other:?}: expected `always`, `never` or a duration greater than 0 such as 10s"
                ))),
            },
        }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// `host:port` to listen on; `:port` means every interface.
    pub listen_address: ListenAddress,
    /// The URL warden is reached under from outside (Prometheus's
    /// `--web.external-url`); default `http://<hostname>:<port>`.
    pub external_url: Option<ExternalUrl>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen_address: ListenAddress(DEFAULT_LISTEN_ADDRESS.to_string()),
            external_url: None,
        }
    }
}

impl WebConfig {
    /// The external URL: the configured one, else Prometheus's default
    /// built from the host name and the listen port.
    pub fn external_url(&self) -> ExternalUrl {
        self.external_url
            .clone()
            .unwrap_or_else(|| ExternalUrl::from_listen_address(&self.listen_address.0))
    }
}

/// A `host:port` listen address, checked for a port; `:9659` is normalised
/// to `0.0.0.0:9659` as Go's listener reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddress(pub String);

impl ListenAddress {
    /// Checks and normalises a listen address.
    pub fn parse(s: &str) -> Result<ListenAddress, String> {
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(format!(
                "listen address {s:?} has no port (expected host:port, e.g. 127.0.0.1:9659)"
            ));
        };
        if port.parse::<u16>().is_err() {
            return Err(format!(
                "listen address {s:?}: {port:?} is not a port number (expected host:port)"
            ));
        }
        if host.is_empty() {
            return Ok(ListenAddress(format!("0.0.0.0:{port}")));
        }
        Ok(ListenAddress(s.to_string()))
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ListenAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ListenAddress::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests;

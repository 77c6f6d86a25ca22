//! Command-line interface: `warden <subcommand> [flags]`.
//!
//! Flag names follow Prometheus (`--config.file`, `--web.listen-address`,
//! `--log.level`, `--log.format`) so that muscle memory and existing unit
//! files carry over. Every subcommand is one variant of [`Command`] with its
//! own argument struct; adding `warden query` or `warden check` later is one
//! variant, one struct and one match arm in `main.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// warden: a Prometheus-compatible monitoring agent and alert evaluator.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None)]
pub struct Cli {
    /// Logging flags, accepted by every subcommand.
    #[command(flatten)]
    pub log: LogArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent: collect, store, and serve /metrics and the query API.
    Run(RunArgs),
    /// Ask a running warden, or any Prometheus-compatible API, a PromQL query.
    Query(crate::remote_query::QueryArgs),
    /// PromQL tools.
    #[command(subcommand)]
    Promql(PromqlCommand),
    /// Leak-detection tools.
    #[command(subcommand)]
    Leak(LeakCommand),
    /// Check rule and configuration files, as promtool does.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Unit testing, as `promtool test`.
    #[command(subcommand)]
    Test(TestCommand),
}

/// `warden check ...`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check Prometheus rule files.
    Rules(crate::check_cli::CheckRulesArgs),
    /// Check a warden configuration file and the rule files it names.
    Config(crate::check_cli::CheckConfigArgs),
}

/// `warden test ...`
#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run rule unit tests written for `promtool test rules`.
    Rules(crate::test_rules_cli::TestRulesArgs),
}

/// `warden promql ...`
#[derive(Debug, Subcommand)]
pub enum PromqlCommand {
    /// Run Prometheus's promqltest scripts against warden's engine.
    Test(crate::promql_cli::PromqlTestArgs),
}

/// `warden leak ...`
#[derive(Debug, Subcommand)]
pub enum LeakCommand {
    /// Replay a recorded memory series through the leak detector.
    Analyze(crate::leak_cli::LeakAnalyzeArgs),
}

/// Flags of `warden run`. A flag given here wins over the same setting in
/// the configuration file.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Configuration file (default: the embedded default configuration).
    #[arg(long = "config.file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Address to listen on for HTTP (overrides web.listen_address).
    #[arg(long = "web.listen-address", value_name = "ADDR")]
    pub listen_address: Option<String>,
    /// Data directory (overrides storage.path).
    #[arg(long = "storage.path", value_name = "DIR")]
    pub storage_path: Option<PathBuf>,
    /// Serve `POST`/`PUT /-/reload` (as Prometheus, off unless asked for:
    /// anyone who can reach the port could trigger reloads).
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,
    /// The URL warden is reached under from outside, for alerts' links and
    /// templates (overrides web.external_url).
    #[arg(long = "web.external-url", value_name = "URL")]
    pub external_url: Option<String>,
    /// Longest outage after which a restored alert's `for` still counts
    /// the time before the outage (Prometheus's flag of the same name).
    #[arg(
        long = "rules.alert.for-outage-tolerance",
        value_name = "DURATION",
        default_value = "1h",
        value_parser = flag_duration
    )]
    pub for_outage_tolerance: Duration,
    /// Minimum time between two sends of the same firing alert.
    #[arg(
        long = "rules.alert.resend-delay",
        value_name = "DURATION",
        default_value = "1m",
        value_parser = flag_duration
    )]
    pub resend_delay: Duration,
}

/// Duration flags are written the Prometheus way (`90s`, `1h30m`).
fn flag_duration(s: &str) -> Result<Duration, String> {
    crate::config::parse_duration(s)
}

/// How and how much to log.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only log messages with the given severity or above.
    #[arg(long = "log.level", value_enum, default_value_t = LogLevel::Info, global = true)]
    pub level: LogLevel,
    /// Output format of log messages.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt, global = true)]
    pub format: LogFormat,
}

/// Log severities, as Prometheus names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything, including per-collection errors.
    Debug,
    /// Start, stop and notable events.
    Info,
    /// Problems warden works around.
    Warn,
    /// Problems that lose data or stop a component.
    Error,
}

/// Log line formats, as Prometheus names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `time=... level=info msg="..." key=value`.
    Logfmt,
    /// One JSON object per line.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn prometheus_style_flags_parse() {
        let cli = Cli::try_parse_from([
            "warden",
            "run",
            "--config.file",
            "w.yml",
            "--web.listen-address=127.0.0.1:1",
            "--storage.path",
            "d",
            "--log.level=debug",
            "--log.format",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.log.level, LogLevel::Debug);
        assert_eq!(cli.log.format, LogFormat::Json);
        let Command::Run(run) = cli.command else {
            panic!("expected the run subcommand");
        };
        assert_eq!(run.config_file, Some(PathBuf::from("w.yml")));
        assert_eq!(run.listen_address.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(run.storage_path, Some(PathBuf::from("d")));
        assert_eq!(run.for_outage_tolerance, Duration::from_secs(3600));
        assert_eq!(run.resend_delay, Duration::from_secs(60));
    }

    #[test]
    fn rule_flags_take_prometheus_durations() {
        let cli = Cli::try_parse_from([
            "warden",
            "run",
            "--rules.alert.for-outage-tolerance=2h30m",
            "--rules.alert.resend-delay",
            "90s",
            "--web.external-url=https://example.com/warden/",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("expected the run subcommand");
        };
        assert_eq!(run.for_outage_tolerance, Duration::from_secs(9000));
        assert_eq!(run.resend_delay, Duration::from_secs(90));
        assert_eq!(
            run.external_url.as_deref(),
            Some("https://example.com/warden/")
        );
        assert!(Cli::try_parse_from(["warden", "run", "--rules.alert.resend-delay=soon"]).is_err());
    }

    #[test]
    fn bad_log_level_is_refused() {
        assert!(Cli::try_parse_from(["warden", "run", "--log.level=loud"]).is_err());
    }
}

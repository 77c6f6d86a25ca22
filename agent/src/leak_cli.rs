//! `warden leak analyze`: runs the leak detector over a recorded series as
//! it would have run live, one evaluation per step, using only the samples
//! before each evaluation. The series comes from a CSV file (`t_seconds,
//! rss_bytes`) or from any Prometheus-compatible API ("would it have caught
//! last week's leak?").

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use warden_rules::trend::{self, TrendConfig};

use crate::remote_query::{self, Output};

/// Flags of `warden leak analyze`.
#[derive(Debug, Clone, clap::Args)]
pub struct LeakAnalyzeArgs {
    /// A recorded series: `t_seconds,rss_bytes` rows after a header line.
    #[arg(value_name = "FILE.csv", required_unless_present = "query")]
    pub file: Option<PathBuf>,
    /// The memory limit the series grows toward (bytes, or with a unit: 512MiB, 2GB).
    #[arg(long, value_parser = parse_limit)]
    pub limit: f64,
    /// How often the detector evaluates.
    #[arg(long, default_value = "1m", value_parser = parse_step)]
    pub step: Duration,
    /// Window the detector looks back over at each evaluation.
    #[arg(long, default_value = "6h", value_parser = parse_step)]
    pub window: Duration,
    /// `table` prints when a leak would have been flagged; `json` prints one
    /// object per evaluation step.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Base URL of a Prometheus-compatible API to read the series from.
    #[arg(long, default_value = crate::DEFAULT_QUERY_URL)]
    pub url: String,
    /// PromQL selecting exactly one series (for example a process group's RSS).
    #[arg(long, conflicts_with = "file", requires_all = ["start", "end"])]
    pub query: Option<String>,
    /// Start of the series to read (Unix seconds or RFC 3339).
    #[arg(long)]
    pub start: Option<String>,
    /// End of the series to read.
    #[arg(long)]
    pub end: Option<String>,
    /// Resolution to read the series at.
    #[arg(long, default_value = "15s")]
    pub resolution: String,
}

fn parse_limit(s: &str) -> Result<f64, String> {
    if let Ok(v) = s.parse::<f64>()
        && v > 0.0
        && v.is_finite()
    {
        return Ok(v);
    }
    crate::config::parse_bytes(s).map(|b| b as f64)
}

fn parse_step(s: &str) -> Result<Duration, String> {
    crate::config::parse_duration(s)
}

/// Runs the analysis and prints it; exit status 2 for unusable input.
pub async fn run(args: &LeakAnalyzeArgs) -> ExitCode {
    let rows = match load_rows(args).await {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let config = TrendConfig {
        window: args.window,
        ..TrendConfig::default()
    };
    let results = trend::replay(&rows, args.limit, args.step, config);
    match args.output {
        Output::Json => {
            let stdout = std::io::stdout();
            if let Err(e) = trend::write_json_lines(&results, stdout.lock()) {
                eprintln!("error: writing the results: {e}");
                return ExitCode::FAILURE;
            }
        }
        Output::Table => print!("{}", trend::summarize(&results, args.limit)),
    }
    ExitCode::SUCCESS
}

async fn load_rows(args: &LeakAnalyzeArgs) -> Result<Vec<(f64, f64)>, String> {
    if let Some(path) = &args.file {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return trend::parse_csv(&text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let (Some(query), Some(start), Some(end)) = (&args.query, &args.start, &args.end) else {
        return Err("give a CSV file, or --query with --start and --end".into());
    };
    let range = remote_query::QueryArgs {
        expr: query.clone(),
        time: None,
        start: Some(start.clone()),
        end: Some(end.clone()),
        step: Some(args.resolution.clone()),
        url: args.url.clone(),
        output: Output::Json,
        timeout: Duration::from_secs(120),
    };
    let body = remote_query::fetch(&range)
        .await
        .map_err(|e| e.to_string())?;
    let result = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    match result.as_slice() {
        [series] => Ok(series["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p[0].as_f64()?, p[1].as_str()?.parse::<f64>().ok()?)))
            .collect()),
        [] => Err(format!("{query}: no series in that time range")),
        many => Err(format!(
            "{query}: selects {} series; narrow it to exactly one",
            many.len()
        )),
    }
}

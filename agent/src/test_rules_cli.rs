//! `warden test rules FILE...`: runs rule unit tests written for
//! `promtool test rules`, with promtool's flags, output and exit status,
//! so CI jobs switch tools by changing the command name only.

use std::path::PathBuf;
use std::process::ExitCode;

use warden_rules::unittest::{self, UnitTestOptions};

/// Flags of `warden test rules`.
#[derive(Debug, Clone, clap::Args)]
pub struct TestRulesArgs {
    /// Unit-test files in promtool's format.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Run only the test groups whose name matches this regular
    /// expression; may be given more than once.
    #[arg(long = "run", value_name = "REGEX")]
    pub run: Vec<String>,
    /// Print differing alerts as a coloured JSON difference.
    #[arg(long)]
    pub diff: bool,
    /// Ignore fields in rule files that the rule format does not know.
    #[arg(long = "ignore-unknown-fields")]
    pub ignore_unknown_fields: bool,
}

/// Runs the files; exit status 0 when every test passed, 1 otherwise,
/// 2 for an invalid `--run` expression.
pub fn run(args: &TestRulesArgs) -> ExitCode {
    let run = match unittest::run_filter(&args.run) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: invalid --run expression: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = UnitTestOptions {
        run,
        diff: args.diff,
        ignore_unknown_fields: args.ignore_unknown_fields,
    };
    let passed = unittest::run_files_split(
        &args.files,
        &opts,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

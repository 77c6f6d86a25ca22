//! Log output: logfmt (Prometheus's default) or JSON, to stderr.
//!
//! Prometheus writes `time=... level=info source=... msg="..." key=value`;
//! SREs grep and parse that, so warden's default lines have the same shape.
//! tracing-subscriber has no logfmt formatter, hence the small one here.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogFormat, LogLevel};

/// Installs the global logger. warden's own crates log at `level`; libraries
/// (hyper, axum) only from `warn` up, so `--log.level=debug` stays readable.
pub fn init(level: LogLevel, format: LogFormat) {
    let lvl = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let directives =
        format!("warn,warden={lvl},warden_tsdb={lvl},warden_exporters={lvl},warden_rules={lvl}");
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first logger; that is not an error.
    let _ = match format {
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}

/// Formats events as logfmt: `time=<RFC 3339> level=<lvl> source=<module> msg="..." k=v`.
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        w.write_str("time=")?;
        SystemTime.format_time(&mut w)?;
        let level = match *meta.level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        write!(w, " level={level} source={}", meta.target())?;
        let mut v = LogfmtVisitor::default();
        event.record(&mut v);
        if let Some(msg) = &v.message {
            w.write_str(" msg=")?;
            write_value(&mut w, msg)?;
        }
        w.write_str(&v.fields)?;
        writeln!(w)
    }
}

#[derive(Default)]
struct LogfmtVisitor {
    message: Option<String>,
    fields: String,
}

impl LogfmtVisitor {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
            return;
        }
        self.fields.push(' ');
        self.fields.push_str(field.name());
        self.fields.push('=');
        let _ = write_value(&mut self.fields, value);
    }
}

impl Visit for LogfmtVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

/// Writes a logfmt value, quoting it when it is empty or holds a space,
/// `=`, a quote or a control character.
fn write_value(w: &mut impl fmt::Write, v: &str) -> fmt::Result {
    let needs_quotes = v.is_empty()
        || v.chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control());
    if !needs_quotes {
        return w.write_str(v);
    }
    w.write_char('"')?;
    for c in v.chars() {
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\n' => w.write_str("\\n")?,
            '\t' => w.write_str("\\t")?,
            c if c.is_control() => write!(w, "\\u{:04x}", c as u32)?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(v: &str) -> String {
        let mut s = String::new();
        write_value(&mut s, v).unwrap();
        s
    }

    #[test]
    fn logfmt_values_are_quoted_only_when_needed() {
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("two words"), "\"two words\"");
        assert_eq!(quoted("a=b"), "\"a=b\"");
        assert_eq!(quoted("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
    }
}

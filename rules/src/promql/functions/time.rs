//! Calendar functions (UTC): day_of_month, day_of_week, day_of_year,
//! days_in_month, hour, minute, month, year.

use chrono::{DateTime, Datelike, Timelike};
use promql_parser::parser::Expr;
use warden_tsdb::Labels;

use super::eval_vector;
use crate::promql::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Steps, VSeries, Val};

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The calendar field `name` of a Unix time in seconds (truncated like Go).
pub(crate) fn field(name: &str, secs: f64) -> f64 {
    if !secs.is_finite() {
        return f64::NAN;
    }
    let Some(t) = DateTime::from_timestamp(secs as i64, 0) else {
        return f64::NAN;
    };
    f64::from(match name {
        "day_of_month" => t.day(),
        "day_of_week" => t.weekday().num_days_from_sunday(),
        "day_of_year" => t.ordinal(),
        "hour" => t.hour(),
        "minute" => t.minute(),
        "month" => t.month(),
        "year" => return f64::from(t.year()),
        _ => match t.month() {
            2 if is_leap(t.year()) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        },
    })
}

/// Evaluates a calendar function: of the step time without argument,
/// of each sample value (a Unix time) otherwise.
pub(crate) fn date_function(
    ev: &mut Evaluator<'_>,
    name: &str,
    args: &[&Expr],
    steps: &Steps,
) -> Result<Val, PromqlError> {
    if args.is_empty() {
        return Ok(Val::Vector(vec![VSeries {
            labels: Labels::empty(),
            drop_name: false,
            vals: (0..steps.n)
                .map(|i| Some(field(name, (steps.t(i) / 1000) as f64)))
                .collect(),
            hists: Vec::new(),
        }]));
    }
    let mut v = eval_vector(ev, args[0], steps)?;
    for s in &mut v {
        s.drop_name = true;
        // Histogram samples are ignored.
        s.hists.clear();
        for x in s.vals.iter_mut().flatten() {
            *x = field(name, *x);
        }
    }
    v.retain(|s| s.vals.iter().any(Option::is_some));
    Ok(Val::Vector(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(field("year", t), 2024.0);
        assert_eq!(field("month", t), 2.0);
        assert_eq!(field("days_in_month", t), 29.0);
        assert_eq!(field("hour", t), 13.0);
        assert_eq!(field("minute", t), 45.0);
        assert_eq!(field("day_of_week", t), 4.0);
        assert_eq!(field("day_of_year", t), 60.0);
    }
}

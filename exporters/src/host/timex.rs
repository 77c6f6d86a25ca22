//! `node_timex_*` from the `adjtimex(2)` system call (a read-only query,
//! through libc), with node_exporter 1.5's names, units and arithmetic:
//! offsets and jitter in seconds (nanoseconds when the kernel's STA_NANO
//! status bit is set, else microseconds), frequencies from the kernel's
//! 16-bit fractional ppm, and `sync_status` 0 when the call returns
//! TIME_ERROR. These feed the usual clock-skew alerts.

use warden_tsdb::MetricType;

use super::util::Sink;
use crate::collector::CollectError;

const TIME_ERROR: i32 = 5;
const STA_NANO: i32 = 0x2000;
const PPM16FRAC: f64 = 1_000_000.0 * 65_536.0;
const MICRO: f64 = 1_000_000.0;
const NANO: f64 = 1_000_000_000.0;

/// Writes the timex families.
pub(crate) fn collect(sink: &mut Sink<'_>) -> Result<(), CollectError> {
    // SAFETY: a zeroed timex with modes = 0 asks adjtimex only to read the
    // kernel's clock state into the struct we own; nothing is changed.
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid, exclusively borrowed timex for the call.
    let state = unsafe { libc::adjtimex(&mut t) };
    if state < 0 {
        return Err(CollectError::Other(format!(
            "adjtimex: {}",
            std::io::Error::last_os_error()
        )));
    }
    let divisor = if t.status & STA_NANO != 0 {
        NANO
    } else {
        MICRO
    };
    use MetricType::{Counter, Gauge};
    let series: [(&str, MetricType, &str, f64); 17] = [
        (
            "node_timex_sync_status",
            Gauge,
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
            if state == TIME_ERROR { 0.0 } else { 1.0 },
        ),
        (
            "node_timex_offset_seconds",
            Gauge,
            "Time offset in between local system and reference clock.",
            t.offset as f64 / divisor,
        ),
        (
            "node_timex_frequency_adjustment_ratio",
            Gauge,
            "Local clock frequency adjustment.",
            1.0 + t.freq as f64 / PPM16FRAC,
        ),
        (
            "node_timex_maxerror_seconds",
            Gauge,
            "Maximum error in seconds.",
            t.maxerror as f64 / MICRO,
        ),
        (
            "node_timex_estimated_error_seconds",
            Gauge,
            "Estimated error in seconds.",
            t.esterror as f64 / MICRO,
        ),
        (
            "node_timex_status",
            Gauge,
            "Value of the status array bits.",
            f64::from(t.status),
        ),
        (
            "node_timex_loop_time_constant",
            Gauge,
            "Phase-locked loop time constant.",
            t.constant as f64,
        ),
        (
            "node_timex_tick_seconds",
            Gauge,
            "Seconds between clock ticks.",
            t.tick as f64 / MICRO,
        ),
        (
            "node_timex_pps_frequency_hertz",
            Gauge,
            "Pulse per second frequency.",
            t.ppsfreq as f64 / PPM16FRAC,
        ),
        (
            "node_timex_pps_jitter_seconds",
            Gauge,
            "Pulse per second jitter.",
            t.jitter as f64 / divisor,
        ),
        (
            "node_timex_pps_shift_seconds",
            Gauge,
            "Pulse per second interval duration.",
            f64::from(t.shift),
        ),
        (
            "node_timex_pps_stability_hertz",
            Gauge,
            "Pulse per second stability, average of recent frequency changes.",
            t.stabil as f64 / PPM16FRAC,
        ),
        (
            "node_timex_pps_jitter_total",
            Counter,
            "Pulse per second count of jitter limit exceeded events.",
            t.jitcnt as f64,
        ),
        (
            "node_timex_pps_calibration_total",
            Counter,
            "Pulse per second count of calibration intervals.",
            t.calcnt as f64,
        ),
        (
            "node_timex_pps_error_total",
            Counter,
            "Pulse per second count of calibration errors.",
            t.errcnt as f64,
        ),
        (
            "node_timex_pps_stability_exceeded_total",
            Counter,
            "Pulse per second count of stability limit exceeded events.",
            t.stbcnt as f64,
        ),
        (
            "node_timex_tai_offset_seconds",
            Gauge,
            "International Atomic Time (TAI) offset.",
            f64::from(t.tai),
        ),
    ];
    for (name, kind, help, v) in series {
        sink.single(name, kind, help, v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::util::LabelCache;
    use crate::host::util::testing::MemAppender;

    #[test]
    fn reads_the_kernel_clock_state() {
        let mut app = MemAppender::default();
        let mut cache = LabelCache::default();
        let mut sink = Sink::new(&mut app, 1, &mut cache);
        collect(&mut sink).unwrap();
        assert_eq!(app.samples.len(), 17);
        // The kernel tick is 1/USER_HZ-ish and never zero.
        assert!(app.value("node_timex_tick_seconds").unwrap() > 0.0);
        let sync = app.value("node_timex_sync_status").unwrap();
        assert!(sync == 0.0 || sync == 1.0);
        assert_eq!(
            app.metadata["node_timex_pps_error_total"].kind,
            MetricType::Counter
        );
    }
}

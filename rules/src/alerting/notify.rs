//! Which alerts need sending, and in what shape (Prometheus's
//! `needsSending`, `sendAlerts` and its notifier's alert conversion).

use super::{Alert, AlertState, OutgoingAlert};

/// Whether `alert` must be (re)sent at `ts_ms`: pending alerts never are; a
/// resolution not yet sent always is; otherwise once `resend_delay_ms` has
/// passed since the last send.
pub(crate) fn needs_sending(alert: &Alert, ts_ms: i64, resend_delay_ms: i64) -> bool {
    if alert.state == AlertState::Pending {
        return false;
    }
    let last_sent = alert.last_sent_at_ms;
    if let Some(resolved) = alert.resolved_at_ms
        && last_sent.is_none_or(|s| resolved > s)
    {
        return true;
    }
    match last_sent {
        None => true,
        Some(s) => s.saturating_add(resend_delay_ms) < ts_ms,
    }
}

/// Records a send at `ts_ms`: the notification holds for four times the
/// larger of the group interval and the resend delay (room for two missed
/// evaluations or failed sends, as in Prometheus).
pub(crate) fn mark_sent(alert: &mut Alert, ts_ms: i64, interval_ms: i64, resend_delay_ms: i64) {
    alert.last_sent_at_ms = Some(ts_ms);
    let delta = interval_ms.max(resend_delay_ms);
    alert.valid_until_ms = Some(ts_ms.saturating_add(delta.saturating_mul(4)));
}

/// The Alertmanager form of `alert`: `startsAt` is the firing time,
/// `endsAt` the resolution time or, while firing, how long this
/// notification holds.
pub(crate) fn to_outgoing(alert: &Alert, generator_url: &str) -> OutgoingAlert {
    OutgoingAlert {
        labels: alert.labels.clone(),
        annotations: alert.annotations.clone(),
        starts_at_ms: alert.fired_at_ms.unwrap_or(alert.active_at_ms),
        ends_at_ms: alert.resolved_at_ms.or(alert.valid_until_ms),
        generator_url: generator_url.to_string(),
    }
}

/// Prometheus's generator URL: the external URL followed by the query UI's
/// table link for `expr` (`/graph?g0.expr=…&g0.tab=1`, the expression
/// escaped as Go's `url.QueryEscape` does).
pub fn generator_url(external_url: &str, expr: &str) -> String {
    let mut out = String::with_capacity(external_url.len() + expr.len() + 24);
    out.push_str(external_url);
    out.push_str("/graph?g0.expr=");
    query_escape(expr, &mut out);
    out.push_str("&g0.tab=1");
    out
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, every
/// other byte is `%XX` in upper-case hex.
fn query_escape(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
}

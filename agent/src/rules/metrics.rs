//! warden's rule-evaluation metrics, mirroring Prometheus's
//! `prometheus_rule_*` families name for name (`warden_rule_*`), each
//! labelled `rule_group="<file>;<group>"` as Prometheus labels them, so the
//! Prometheus mixin's rule-health alerts and dashboards translate one to
//! one. They live in warden's registry, so they are served on `/metrics`
//! and written into the store by the self collector, where rules (the
//! `warden` pack) can query them.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type GroupLabel = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The `warden_rule_*` families.
pub struct RuleMetrics {
    iterations: Family<GroupLabel, Counter>,
    missed: Family<GroupLabel, Counter>,
    last_duration: Family<GroupLabel, FloatGauge>,
    last_evaluation: Family<GroupLabel, FloatGauge>,
    last_samples: Family<GroupLabel, Gauge>,
    rules: Family<GroupLabel, Gauge>,
    interval: Family<GroupLabel, FloatGauge>,
    evaluations: Family<GroupLabel, Counter>,
    failures: Family<GroupLabel, Counter>,
    console_dropped: Counter,
}

impl std::fmt::Debug for RuleMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RuleMetrics")
    }
}

/// What one evaluation of a group did, for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct Iteration {
    /// The evaluation timestamp, ms.
    pub timestamp_ms: i64,
    /// How long it took, seconds.
    pub duration_seconds: f64,
    /// Samples the rules wrote.
    pub samples: u64,
    /// Rules evaluated.
    pub rules: u64,
    /// Rules that failed.
    pub failed_rules: u64,
}

impl RuleMetrics {
    /// Registers every family in `registry`.
    pub fn register(registry: &mut Registry) -> RuleMetrics {
        let m = RuleMetrics {
            iterations: Family::default(),
            missed: Family::default(),
            last_duration: Family::default(),
            last_evaluation: Family::default(),
            last_samples: Family::default(),
            rules: Family::default(),
            interval: Family::default(),
            evaluations: Family::default(),
            failures: Family::default(),
            console_dropped: Counter::default(),
        };
        registry.register(
            "warden_rule_group_iterations",
            "The total number of scheduled iterations of rule groups",
            m.iterations.clone(),
        );
        registry.register(
            "warden_rule_group_iterations_missed",
            "The total number of rule group evaluations missed due to slow rule group evaluation",
            m.missed.clone(),
        );
        registry.register(
            "warden_rule_group_last_duration_seconds",
            "The duration of the last rule group evaluation",
            m.last_duration.clone(),
        );
        registry.register(
            "warden_rule_group_last_evaluation_timestamp_seconds",
            "The timestamp of the last rule group evaluation in seconds",
            m.last_evaluation.clone(),
        );
        registry.register(
            "warden_rule_group_last_evaluation_samples",
            "The number of samples returned during the last rule group evaluation",
            m.last_samples.clone(),
        );
        registry.register(
            "warden_rule_group_rules",
            "The number of rules",
            m.rules.clone(),
        );
        registry.register(
            "warden_rule_group_interval_seconds",
            "The interval of a rule group",
            m.interval.clone(),
        );
        registry.register(
            "warden_rule_evaluations",
            "The total number of rule evaluations",
            m.evaluations.clone(),
        );
        registry.register(
            "warden_rule_evaluation_failures",
            "The total number of rule evaluation failures",
            m.failures.clone(),
        );
        registry.register(
            "warden_console_alerts_dropped",
            "Alerts not logged to the console because its queue was full",
            m.console_dropped.clone(),
        );
        m
    }

    /// A group starts (or restarts after a reload): its static figures, and
    /// its counters at zero if they do not exist yet.
    pub fn group_started(&self, key: &str, rules: usize, interval_seconds: f64) {
        let l = label(key);
        self.rules
            .get_or_create(&l)
            .set(i64::try_from(rules).unwrap_or(i64::MAX));
        self.interval.get_or_create(&l).set(interval_seconds);
        drop(self.iterations.get_or_create(&l));
        drop(self.missed.get_or_create(&l));
        drop(self.evaluations.get_or_create(&l));
        drop(self.failures.get_or_create(&l));
    }

    /// Records one evaluation.
    pub fn iteration(&self, key: &str, it: Iteration) {
        let l = label(key);
        self.iterations.get_or_create(&l).inc();
        self.last_duration
            .get_or_create(&l)
            .set(it.duration_seconds);
        self.last_evaluation
            .get_or_create(&l)
            .set(it.timestamp_ms as f64 / 1000.0);
        self.last_samples
            .get_or_create(&l)
            .set(i64::try_from(it.samples).unwrap_or(i64::MAX));
        self.evaluations.get_or_create(&l).inc_by(it.rules);
        self.failures.get_or_create(&l).inc_by(it.failed_rules);
    }

    /// Counts iterations that could not run because the one before was
    /// still running (they are scheduled iterations too, as in Prometheus).
    pub fn missed(&self, key: &str, n: u64) {
        let l = label(key);
        self.missed.get_or_create(&l).inc_by(n);
        self.iterations.get_or_create(&l).inc_by(n);
    }

    /// Forgets a group a reload removed.
    pub fn remove(&self, key: &str) {
        let l = label(key);
        self.iterations.remove(&l);
        self.missed.remove(&l);
        self.last_duration.remove(&l);
        self.last_evaluation.remove(&l);
        self.last_samples.remove(&l);
        self.rules.remove(&l);
        self.interval.remove(&l);
        self.evaluations.remove(&l);
        self.failures.remove(&l);
    }

    /// Counts alerts the console sink dropped.
    pub fn console_dropped(&self, n: u64) {
        self.console_dropped.inc_by(n);
    }
}

fn label(key: &str) -> GroupLabel {
    vec![("rule_group".to_string(), key.to_string())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_mirror_prometheus_and_removal_forgets_a_group() {
        let mut registry = Registry::default();
        let m = RuleMetrics::register(&mut registry);
        m.group_started("a.yml;g", 3, 15.0);
        m.iteration(
            "a.yml;g",
            Iteration {
                timestamp_ms: 1_500,
                duration_seconds: 0.25,
                samples: 7,
                rules: 3,
                failed_rules: 1,
            },
        );
        m.missed("a.yml;g", 2);
        m.group_started("b.yml;h", 1, 60.0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for want in [
            "warden_rule_group_iterations_total{rule_group=\"a.yml;g\"} 3",
            "warden_rule_group_iterations_missed_total{rule_group=\"a.yml;g\"} 2",
            "warden_rule_group_last_duration_seconds{rule_group=\"a.yml;g\"} 0.25",
            "warden_rule_group_last_evaluation_timestamp_seconds{rule_group=\"a.yml;g\"} 1.5",
            "warden_rule_group_last_evaluation_samples{rule_group=\"a.yml;g\"} 7",
            "warden_rule_group_rules{rule_group=\"a.yml;g\"} 3",
            "warden_rule_group_interval_seconds{rule_group=\"a.yml;g\"} 15.0",
            "warden_rule_evaluations_total{rule_group=\"a.yml;g\"} 3",
            "warden_rule_evaluation_failures_total{rule_group=\"a.yml;g\"} 1",
            "warden_rule_group_iterations_total{rule_group=\"b.yml;h\"} 0",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        m.remove("a.yml;g");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(!text.contains("a.yml;g"), "{text}");
        assert!(text.contains("b.yml;h"), "{text}");
    }
}

//! Per-query limits: the deadline and the in-memory sample budget.
//!
//! Both fail only the query that hits them, with Prometheus's error kinds.

use std::time::Instant;

use super::PromqlError;

/// The budget of one query.
#[derive(Debug)]
pub(crate) struct Limits {
    deadline: Option<Instant>,
    max_samples: usize,
    samples: usize,
}

impl Limits {
    /// A budget ending at `deadline` (none when the timeout overflows the clock).
    pub fn new(deadline: Option<Instant>, max_samples: usize) -> Limits {
        Limits {
            deadline,
            max_samples,
            samples: 0,
        }
    }

    /// Fails with [`PromqlError::Timeout`] once the deadline has passed.
    pub fn check_time(&self) -> Result<(), PromqlError> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(PromqlError::Timeout("query execution".into())),
            _ => Ok(()),
        }
    }

    /// Accounts for `n` more samples held in memory.
    pub fn add(&mut self, n: usize) -> Result<(), PromqlError> {
        self.samples = self.samples.saturating_add(n);
        if self.samples > self.max_samples {
            return Err(PromqlError::TooManySamples("query execution".into()));
        }
        Ok(())
    }

    /// Releases `n` samples that are no longer held.
    pub fn release(&mut self, n: usize) {
        self.samples = self.samples.saturating_sub(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sample_budget() {
        let mut l = Limits::new(None, 10);
        assert!(l.add(10).is_ok());
        assert_eq!(
            l.add(1),
            Err(PromqlError::TooManySamples("query execution".into()))
        );
        l.release(5);
        assert!(l.add(4).is_ok());
    }

    #[test]
    fn past_deadline_times_out() {
        let past = Instant::now().checked_sub(Duration::from_millis(1));
        let l = Limits::new(past, 10);
        assert!(matches!(l.check_time(), Err(PromqlError::Timeout(_))));
    }
}

//! The failure budget: a circuit breaker per client.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// Where the breaker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` in a row so far.
    Closed { failures: u32 },
    /// Calls fail fast until `until`.
    Open { until: Instant },
    /// One probe call is out; the others fail fast until it answers.
    HalfOpen,
}

/// Opens after `threshold` failures in a row, stays open for `cooldown`, then lets one
/// probe through: its success closes the breaker, its failure opens it again.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Ok` when a call may go out now; `Err(wait)` while open.
    pub(crate) fn allow(&self) -> Result<(), Duration> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen;
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
            State::HalfOpen => Err(self.cooldown),
        }
    }

    /// Records a call that answered.
    pub(crate) fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// Records a failed call; `true` when this opened the breaker.
    pub(crate) fn failure(&self) -> bool {
        let mut state = self.lock();
        let open = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::Open { .. } => false,
            State::Closed { .. } | State::HalfOpen => true,
        };
        if open {
            *state = State::Open {
                until: Instant::now() + self.cooldown,
            };
        }
        open
    }

    /// Whether calls currently fail fast.
    pub(crate) fn is_open(&self) -> bool {
        matches!(*self.lock(), State::Open { until } if Instant::now() < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_probes_after_the_cooldown() {
        let breaker = Breaker::new(3, Duration::from_millis(50));
        assert!(!breaker.failure() && !breaker.failure());
        breaker.success();
        assert!(!breaker.failure() && !breaker.failure());
        assert!(breaker.failure(), "the third failure in a row opens it");
        assert!(breaker.is_open() && breaker.allow().is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow().is_ok(), "one probe after the cooldown");
        assert!(breaker.allow().is_err(), "only one");
        assert!(breaker.failure(), "a failed probe opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(breaker.allow().is_ok());
        breaker.success();
        assert!(breaker.allow().is_ok() && breaker.allow().is_ok());
    }
}

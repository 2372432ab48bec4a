//! Simulator time, the only input that moves traffic and balance.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Source of the time elapsed since the simulator started.
pub trait Clock: Send + Sync {
    fn elapsed(&self) -> Duration;
}

/// Wall-clock time measured with a monotonic [`Instant`].
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    started: Instant,
}

impl SystemClock {
    /// Creates a clock that starts at zero now.
    pub fn start() -> SystemClock {
        SystemClock {
            started: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A clock that moves only through [`ManualClock::advance`] and
/// [`ManualClock::set`], for deterministic tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// Creates a clock that stays at zero until advanced.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `step`.
    pub fn advance(&self, step: Duration) {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(PoisonError::into_inner);
        *elapsed = elapsed.saturating_add(step);
    }

    /// Sets the elapsed time to `elapsed`, forward or back.
    pub fn set(&self, elapsed: Duration) {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner) = elapsed;
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

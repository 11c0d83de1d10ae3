//! Durations a user writes (`10s`, `3m`, `1h30m`), bounded by what the runtime can hold.
//!
//! humantime accepts `18446744073709551615s`, but `Instant::now() + d` panics well below that,
//! and a panic after step 1 of a scenario loses step 1's result. Every duration the tools read
//! goes through [`parse`] or [`check`], so an absurd one is a usage error naming its flag or
//! field before any work starts.

use std::time::Duration;

/// The longest duration accepted anywhere: a century, of humantime's 365.25-day years, so
/// `100years` itself is accepted. `Instant` plus this, even a thousand times over, stays far
/// inside what the clock can represent.
pub const MAX: Duration = Duration::from_secs(100 * 31_557_600);

/// Why a duration was refused; the message reads after the flag or field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{0:?} is not a duration (e.g. 10s, 3m, 1h30m)")]
    Syntax(String),
    #[error("{0:?} is longer than the longest duration supported (100 years)")]
    TooLong(String),
}

/// Parses `text` as a humantime duration of at most [`MAX`].
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| DurationError::Syntax(text.to_owned()))?;
    check(d).map_err(|_| DurationError::TooLong(text.to_owned()))
}

/// `d` if it is at most [`MAX`].
pub fn check(d: Duration) -> Result<Duration, DurationError> {
    if d > MAX {
        return Err(DurationError::TooLong(
            humantime::format_duration(d).to_string(),
        ));
    }
    Ok(d)
}

/// `secs` as a duration, if it is a finite, non-negative number of seconds of at most [`MAX`]
/// (`Duration::from_secs_f64` panics otherwise).
pub fn from_secs_f64(secs: f64) -> Option<Duration> {
    (secs.is_finite() && (0.0..=MAX.as_secs_f64()).contains(&secs))
        .then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{DurationError, MAX, from_secs_f64, parse};

    #[test]
    fn the_bound_is_a_usage_error_and_the_clock_holds_it() {
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 10s "), Ok(Duration::from_secs(10)));
        assert_eq!(parse("100years"), Ok(MAX));
        for text in ["18446744073709551615s", "101years", "99999999999h"] {
            assert_eq!(parse(text), Err(DurationError::TooLong(text.into())));
        }
        assert_eq!(parse("soon"), Err(DurationError::Syntax("soon".into())));
        assert!(Instant::now().checked_add(MAX * 1000).is_some());
        assert!(tokio_like_deadline_fits(MAX));
        assert_eq!(from_secs_f64(1.5), Some(Duration::from_millis(1500)));
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e300] {
            assert_eq!(from_secs_f64(bad), None, "{bad}");
        }
    }

    /// The sum tokio and the tools form: now plus the bound plus a grace.
    fn tokio_like_deadline_fits(d: Duration) -> bool {
        Instant::now()
            .checked_add(d)
            .and_then(|t| t.checked_add(Duration::from_secs(3600)))
            .is_some()
    }
}

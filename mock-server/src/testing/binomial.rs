//! The one bound on a random count in the test suites: a binomial count within so many
//! standard deviations of its mean.

/// Asserts that `hits` out of `n` trials is within `sigmas` standard deviations of `n * p`.
#[track_caller]
pub fn assert_binomial(what: &str, hits: u64, n: u64, p: f64, sigmas: f64) {
    let expected = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    // A probability of exactly 0 or 1 has no spread: the count must be exact. Otherwise allow
    // at least one, as a count is a whole number.
    let tolerance = if sd == 0.0 {
        0.0
    } else {
        (sigmas * sd).max(1.0)
    };
    assert!(
        (hits as f64 - expected).abs() <= tolerance,
        "{what}: {hits} of {n}, expected {expected:.1} ± {tolerance:.1} (p = {p}, {sigmas} sd)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_within_the_band_passes() {
        assert_binomial("fair", 50, 100, 0.5, 4.0);
        assert_binomial("certain", 100, 100, 1.0, 4.0);
    }

    #[test]
    #[should_panic(expected = "certain: 99 of 100")]
    fn a_certain_count_must_be_exact() {
        assert_binomial("certain", 99, 100, 1.0, 4.0);
    }
}

//! Percentiles from histogram buckets, computed the way Prometheus's `histogram_quantile` does,
//! so a p99 on the console is the p99 a Grafana panel over `/metrics` would draw.

/// The `q` quantile (0..=1) of the observations counted in cumulative `buckets`
/// (`(upper bound, count of observations <= bound)`, ascending, the last one `+Inf`).
///
/// As Prometheus: the rank `q * total` is located in its bucket and interpolated linearly
/// between the bucket's bounds (the first bucket's lower bound is 0 when its upper bound is
/// positive); a rank in the `+Inf` bucket gives the highest finite bound. `None` when nothing
/// was observed, where Prometheus returns NaN.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total.is_nan() || total <= 0.0 || buckets.len() < 2 || !q.is_finite() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let rank = q * total;
    // Prometheus searches for the first bucket whose count reaches the rank.
    let b = buckets
        .iter()
        .position(|&(_, count)| count >= rank)
        .unwrap_or(buckets.len() - 1);
    if b == buckets.len() - 1 {
        return Some(buckets[buckets.len() - 2].0);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return Some(buckets[0].0);
    }
    let (lower, below) = if b == 0 { (0.0, 0.0) } else { buckets[b - 1] };
    let (upper, count) = buckets[b];
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below) / in_bucket))
}

#[cfg(test)]
mod tests {
    use super::histogram_quantile;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn interpolates_inside_the_bucket_like_prometheus() {
        // 100 observations: 50 <= 100, 40 in (100, 200], 10 in (200, 500].
        let b = [(100.0, 50.0), (200.0, 90.0), (500.0, 100.0), (INF, 100.0)];
        assert_eq!(histogram_quantile(0.5, &b), Some(100.0));
        assert_eq!(histogram_quantile(0.25, &b), Some(50.0));
        assert_eq!(histogram_quantile(0.7, &b), Some(150.0));
        assert_eq!(histogram_quantile(0.99, &b), Some(470.0));
    }

    #[test]
    fn a_rank_in_the_inf_bucket_gives_the_highest_finite_bound() {
        let b = [(5000.0, 90.0), (10000.0, 95.0), (INF, 100.0)];
        assert_eq!(histogram_quantile(0.99, &b), Some(10000.0));
    }

    #[test]
    fn empty_histograms_have_no_quantile() {
        assert_eq!(histogram_quantile(0.99, &[(1.0, 0.0), (INF, 0.0)]), None);
        assert_eq!(histogram_quantile(0.99, &[]), None);
    }

    #[test]
    fn the_chat_breach_shape_passes_5000_ms() {
        // challenge6: chat latency uniform in 3000..8000 ms, counted in the chat buckets.
        let bounds = [4000.0, 5000.0, 10000.0, INF];
        let n = 1000.0;
        let counts = [0.2 * n, 0.4 * n, n, n];
        let b: Vec<_> = bounds.into_iter().zip(counts).collect();
        let p99 = histogram_quantile(0.99, &b).unwrap();
        assert!(p99 > 5000.0 && p99 < 10000.0, "{p99}");
    }

    proptest! {
        /// A quantile always lies within the buckets' finite range and never falls as q rises.
        #[test]
        fn quantiles_are_bounded_and_monotone(
            counts in prop::collection::vec(0u32..50, 4),
            q1 in 0.0f64..=1.0, q2 in 0.0f64..=1.0,
        ) {
            let bounds = [1.0, 10.0, 100.0, INF];
            let mut acc = 0.0;
            let b: Vec<(f64, f64)> = bounds.iter().zip(&counts).map(|(&ub, &c)| {
                acc += f64::from(c);
                (ub, acc)
            }).collect();
            let (lo, hi) = if q1 <= q2 { (q1, q2) } else { (q2, q1) };
            match (histogram_quantile(lo, &b), histogram_quantile(hi, &b)) {
                (Some(a), Some(z)) => {
                    prop_assert!((0.0..=100.0).contains(&a) && (0.0..=100.0).contains(&z));
                    prop_assert!(a <= z, "q{lo} = {a} > q{hi} = {z}");
                }
                (None, None) => prop_assert_eq!(acc, 0.0),
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

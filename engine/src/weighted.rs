//! Traffic by weight, one way for every mode. `split` is the one meaning of `--split` (hey mode,
//! `journey`) and of a timeline step's `split`: Cloud Run's rule. `Weighted::pick` is the one
//! weighted pick, for the load's targets and a journey's tasks and targets: cumulative weights
//! and a binary search, no allocation and no floating point per pick.

use rand::Rng;

/// Entries with integer weights; `pick` draws entry i with probability weight_i / total.
#[derive(Debug, Clone)]
pub struct Weighted {
    cumulative: Vec<u64>,
}

impl Weighted {
    /// Plans guarantee at least one entry and a total above 0 (a lone entry may weigh 0).
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Weighted {
        let mut sum = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                sum += u64::from(w);
                sum
            })
            .collect();
        Weighted { cumulative }
    }

    /// A lone entry is picked without drawing a number (hey mode's usual single target).
    #[inline]
    pub fn pick(&self, rng: &mut impl Rng) -> usize {
        match self.cumulative.as_slice() {
            [] | [_] => 0,
            [.., total] => {
                let x = rng.random_range(0..*total);
                self.cumulative.partition_point(|&c| c <= x)
            }
        }
    }
}

/// Why a split cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    /// The weights given sum to 100% or more, leaving nothing for the target at this index,
    /// which was given none.
    NothingLeft(usize),
    /// Every weight is 0.
    AllZero,
    /// The weights given sum to more than `hundred`: percentages cannot.
    OverHundred,
}

/// The first name given twice, if any: a repeated `--split` name is a mistake, not an override.
pub fn repeated<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = std::collections::BTreeSet::new();
    names.into_iter().find(|n| !seen.insert(*n))
}

/// The weights of targets split by Cloud Run's rule (`--to-tags next=10` leaves 90% to the
/// rest): `given[i]` is target i's weight if one was given. None given: equal weights. All
/// given: relative weights. Some given: they are shares of `hundred` (100 for percentages), and
/// the others share what is left evenly, the first ones one more when it does not divide.
/// Weights given that sum to more than `hundred` are refused: they cannot be percentages.
pub fn split(given: &[Option<u32>], hundred: u32) -> Result<Vec<u32>, SplitError> {
    let weights = if given.iter().all(Option::is_none) {
        vec![1; given.len()]
    } else {
        let sum: u64 = given.iter().flatten().map(|&w| u64::from(w)).sum();
        if sum > u64::from(hundred) {
            return Err(SplitError::OverHundred);
        }
        let missing = given.iter().filter(|w| w.is_none()).count() as u32;
        if let Some(first) = given.iter().position(Option::is_none) {
            if sum >= u64::from(hundred) {
                return Err(SplitError::NothingLeft(first));
            }
        }
        // Only read when some weight is missing, and then sum < hundred.
        let left = u64::from(hundred).saturating_sub(sum) as u32;
        let share = left.checked_div(missing).unwrap_or(0);
        let extra = left.checked_rem(missing).unwrap_or(0);
        let mut nth = 0;
        given
            .iter()
            .map(|w| {
                w.unwrap_or_else(|| {
                    nth += 1;
                    share + u32::from(nth <= extra)
                })
            })
            .collect()
    };
    if weights.iter().all(|&w| w == 0) {
        return Err(SplitError::AllZero);
    }
    Ok(weights)
}

/// What is wrong with a command's `--split NAME=WEIGHT` flags: the one wording of these mistakes
/// for hey mode and journeys, which carry it as their plan errors' `Split` variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitFlagError {
    /// A name given twice.
    #[error("--split {0} is given twice")]
    Repeated(String),
    /// A name that is not one of the targets.
    #[error("--split {0} names {0:?}, which is not a --target")]
    Unknown(String),
    /// A weight that is not a whole number >= 0.
    #[error("--split {name}={value}: weight must be a whole number >= 0")]
    BadWeight { name: String, value: String },
    /// A target given no weight when the others leave it nothing.
    #[error(
        "--split weights given to some targets sum to 100 or more, leaving nothing for {0:?}: give it a weight"
    )]
    MissingWeight(String),
    /// Every weight is 0.
    #[error("all --split weights are 0")]
    AllZero,
    /// The weights given sum to more than 100.
    #[error("--split weights sum to over 100: they are percentages")]
    OverHundred,
}

/// The weights `--split NAME=WEIGHT` flags give the `named` targets (`(name, url)`), by
/// [`split`]'s rule in percentages: the one reading of `--split` for hey mode and journeys.
pub fn split_flags(
    named: &[(String, String)],
    splits: &[(String, String)],
) -> Result<Vec<u32>, SplitFlagError> {
    if let Some(name) = repeated(splits.iter().map(|(n, _)| n.as_str())) {
        return Err(SplitFlagError::Repeated(name.to_owned()));
    }
    if let Some((name, _)) = splits
        .iter()
        .find(|(s, _)| !named.iter().any(|(n, _)| n == s))
    {
        return Err(SplitFlagError::Unknown(name.clone()));
    }
    let given: Vec<Option<u32>> = named
        .iter()
        .map(|(name, _)| {
            splits
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| {
                    v.parse::<u32>().map_err(|_| SplitFlagError::BadWeight {
                        name: name.clone(),
                        value: v.clone(),
                    })
                })
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    split(&given, 100).map_err(|e| match e {
        SplitError::NothingLeft(i) => SplitFlagError::MissingWeight(named[i].0.clone()),
        SplitError::AllZero => SplitFlagError::AllZero,
        SplitError::OverHundred => SplitFlagError::OverHundred,
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::{SplitError, Weighted, split};

    #[test]
    fn cloud_runs_rule() {
        assert_eq!(split(&[None, None], 100), Ok(vec![1, 1]));
        assert_eq!(split(&[Some(3), Some(1)], 100), Ok(vec![3, 1]));
        assert_eq!(split(&[None, Some(10)], 100), Ok(vec![90, 10]));
        assert_eq!(split(&[None, Some(10), None], 100), Ok(vec![45, 10, 45]));
        assert_eq!(split(&[None, Some(1), None], 100), Ok(vec![50, 1, 49]));
        assert_eq!(
            split(&[None, Some(10_000)], 100_000),
            Ok(vec![90_000, 10_000])
        );
        assert_eq!(
            split(&[None, Some(100)], 100),
            Err(SplitError::NothingLeft(0))
        );
        assert_eq!(split(&[Some(0), Some(0)], 100), Err(SplitError::AllZero));
        assert_eq!(
            split(&[Some(60), Some(60)], 100),
            Err(SplitError::OverHundred)
        );
        assert_eq!(super::repeated(["a", "b", "a"]), Some("a"));
        assert_eq!(super::repeated(["a", "b"]), None);
    }

    #[test]
    fn shares_follow_the_weights_and_zero_is_never_picked() {
        let w = Weighted::new([0, 1, 3]);
        let mut rng = SmallRng::seed_from_u64(7);
        let n = 40_000;
        let mut counts = [0u64; 3];
        for _ in 0..n {
            counts[w.pick(&mut rng)] += 1;
        }
        assert_eq!(counts[0], 0);
        // Binomial(n, 0.25): sd = sqrt(n p (1-p)) ~ 87; allow 5 sd.
        let sd = (n as f64 * 0.25 * 0.75).sqrt();
        assert!(
            (counts[1] as f64 - n as f64 * 0.25).abs() < 5.0 * sd,
            "{counts:?}"
        );
        assert_eq!(Weighted::new([0]).pick(&mut rng), 0);
    }
}

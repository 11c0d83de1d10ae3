//! Durations in Prometheus' own notation (`5m`, `1h`, `3d`, `1h12m`), and the one time-compression
//! transformation every generated window, interval and test time goes through.
//!
//! We parse and print Prometheus' syntax ourselves rather than use `humantime`: the rule files must
//! contain exactly what PromQL accepts, and `humantime` prints `1day 12h`, which PromQL rejects.

use std::fmt;

/// A whole number of milliseconds, printed the way Prometheus writes durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(u64);

/// Units from the largest down, as printed; years and weeks are left out because they read worse
/// in rule names (`1w` prints as `7d`).
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Units from the largest down, as read: Prometheus also accepts years (365 days) and weeks.
const READ_UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("{0:?} is not a duration: write it as Prometheus does, e.g. 5m, 1h, 3d or 1h30m")]
    Syntax(String),
    #[error("{0:?} is zero; a window must be longer than that")]
    Zero(String),
    #[error("{0:?} is too long")]
    Overflow(String),
}

impl PromDuration {
    /// Allowed in a rule file (`for: 0s`, `offset 0s`), never as a window.
    pub const ZERO: Self = Self(0);

    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        Self(s * 1000)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// Parses `1d`, `6h`, `1h30m`, `250ms` (also `1w`, `1y`): units in decreasing order, each at
    /// most once. Zero is refused: this reads windows.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        match Self::parse_rule(text)? {
            Self::ZERO => Err(DurationError::Zero(text.to_owned())),
            d => Ok(d),
        }
    }

    /// Parses a duration as a Prometheus rule file or PromQL writes it, zero included (`0s`, and
    /// `0` as Prometheus' own parser takes it).
    pub fn parse_rule(text: &str) -> Result<Self, DurationError> {
        let syntax = || DurationError::Syntax(text.to_owned());
        if text == "0" {
            return Ok(Self::ZERO);
        }
        let mut rest = text;
        let mut total: u64 = 0;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(syntax());
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| DurationError::Overflow(text.to_owned()))?;
            rest = &rest[digits..];
            // "ms" must be tried before "m": both start with the same letter.
            let (index, (unit, factor)) = READ_UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .filter(|(_, (unit, _))| rest.starts_with(unit))
                .max_by_key(|(_, (unit, _))| unit.len())
                .ok_or_else(syntax)?;
            rest = &rest[unit.len()..];
            next_unit = index + 1;
            total = number
                .checked_mul(*factor)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(|| DurationError::Overflow(text.to_owned()))?;
        }
        if text.is_empty() {
            return Err(syntax());
        }
        Ok(Self(total))
    }

    /// Divides by the compression factor; `None` when the result would not be a whole number of
    /// milliseconds, so a compressed rule file never rounds a window silently.
    pub fn compress(self, by: Compression) -> Option<Self> {
        let factor = u64::from(by.factor());
        (self.0 % factor == 0).then(|| Self(self.0 / factor))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, factor) in UNITS {
            if rest >= factor {
                write!(f, "{}{unit}", rest / factor)?;
                rest %= factor;
            }
        }
        Ok(())
    }
}

/// How many times faster than real time the compressed rules run: every window, evaluation
/// interval and test time is divided by this one factor. With 60, an hour of real burn takes a
/// minute, so the Workbook's 1h/5m page alert watches 1m/5s windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compression(u32);

impl Compression {
    /// Real time: the rules that production Prometheus servers load.
    pub const NONE: Self = Self(1);
    /// The factor of the checked-in compressed rules, used by the end-to-end test and the local stack.
    pub const E2E: Self = Self(60);

    /// `None` for zero, which would stretch nothing into infinity.
    pub const fn new(factor: u32) -> Option<Self> {
        if factor == 0 {
            None
        } else {
            Some(Self(factor))
        }
    }

    pub const fn factor(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_prometheus_notation() {
        for (text, ms) in [
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("3d", 259_200_000),
            ("1h12m", 4_320_000),
            ("250ms", 250),
            ("1m5s", 65_000),
        ] {
            let d = PromDuration::parse(text).unwrap();
            assert_eq!(d.as_millis(), ms, "{text}");
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(PromDuration::parse("24h").unwrap().to_string(), "1d");
        for (text, days) in [("1w", 7), ("2y", 730), ("1y2w3d", 382)] {
            assert_eq!(
                PromDuration::parse(text).unwrap(),
                PromDuration::from_secs(days * 86_400),
                "{text}"
            );
        }
        assert_eq!(PromDuration::parse_rule("0s"), Ok(PromDuration::ZERO));
        assert_eq!(PromDuration::parse_rule("0"), Ok(PromDuration::ZERO));
        assert!(PromDuration::parse_rule("1w1y").is_err());
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for bad in ["", "5", "m", "5 m", "1m1h", "1h1h", "-5m", "1.5h", "5min"] {
            assert!(
                matches!(PromDuration::parse(bad), Err(DurationError::Syntax(_))),
                "{bad:?} parsed"
            );
        }
        assert!(matches!(
            PromDuration::parse("0s"),
            Err(DurationError::Zero(_))
        ));
        assert!(matches!(
            PromDuration::parse("99999999999999999999d"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn compression_keeps_whole_milliseconds() {
        let by60 = Compression::E2E;
        assert_eq!(
            PromDuration::parse("3d")
                .unwrap()
                .compress(by60)
                .unwrap()
                .to_string(),
            "1h12m"
        );
        assert_eq!(
            PromDuration::parse("5m")
                .unwrap()
                .compress(by60)
                .unwrap()
                .to_string(),
            "5s"
        );
        assert_eq!(PromDuration::from_millis(7).compress(by60), None);
        assert_eq!(Compression::new(0), None);
    }

    proptest! {
        #[test]
        fn printing_then_parsing_is_identity(ms in 1u64..10_000_000_000_000) {
            let d = PromDuration::from_millis(ms);
            prop_assert_eq!(PromDuration::parse(&d.to_string()), Ok(d));
        }
    }
}

//! The durations of a PromQL expression, found by a small lexer: range selectors `[5m]`,
//! subqueries `[1h:5m]` and `[1h:]`, and `offset 5m` / `offset -5m`. String literals (`"..."`,
//! `'...'`, backticks), comments and label matchers are skipped, so `{le="[5m]"}` or a metric
//! named `my_offset` is never read as a duration. Each duration comes back with its byte range,
//! so the caller can replace exactly those bytes and leave the rest of the expression as it was.

use std::ops::Range;

use crate::duration::PromDuration;

/// Where a duration sits in PromQL or in a rule file; the floor a compressed one must keep
/// depends on it (see [`super::Resolution`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `x[5m]`.
    Range,
    /// The `1h` of `x[1h:5m]`.
    SubqueryRange,
    /// The `5m` of `x[1h:5m]`.
    SubqueryStep,
    /// `offset 5m`, or the magnitude of `offset -5m`.
    Offset,
    /// A rule's `for:`.
    For,
    /// A rule's `keep_firing_for:`.
    KeepFiringFor,
    /// A group's `interval:`.
    Interval,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Range => "range",
            Kind::SubqueryRange => "subquery range",
            Kind::SubqueryStep => "subquery step",
            Kind::Offset => "offset",
            Kind::For => "for",
            Kind::KeepFiringFor => "keep_firing_for",
            Kind::Interval => "interval",
        })
    }
}

/// One duration of an expression: its bytes in the expression, what it is, and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub range: Range<usize>,
    pub kind: Kind,
    pub value: PromDuration,
}

/// Why an expression's durations could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("a string starting at byte {at} never ends")]
    UnterminatedString { at: usize },
    #[error(
        "an @ modifier (byte {at}) pins a fixed time, which a time-compressed rehearsal cannot move"
    )]
    At { at: usize },
    #[error("{text:?} is neither a range [5m] nor a subquery [1h:5m]")]
    Bracket { text: String },
    #[error("{text:?} is not a duration (write it as Prometheus does, e.g. 5m, 1h30m)")]
    Duration { text: String },
}

/// Every duration of `expr`, in order.
pub fn durations(expr: &str) -> Result<Vec<Token>, ExprError> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut braces = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => i = line_end(b, i),
            q @ (b'"' | b'\'' | b'`') => i = string_end(b, i, q)?,
            b'{' => {
                braces += 1;
                i += 1;
            }
            b'}' => {
                braces = braces.saturating_sub(1);
                i += 1;
            }
            b'@' => return Err(ExprError::At { at: i }),
            b'[' => i = bracket(expr, i, &mut out)?,
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let end = i + word_len(&b[i..]);
                // Inside braces `offset` can only be a label name.
                i = if braces == 0 && expr[i..end].eq_ignore_ascii_case("offset") {
                    offset(expr, end, &mut out)?
                } else {
                    end
                };
            }
            // A number (`0.5`, `1e3`, `0x1f`) is read whole, so its letters are not a word.
            c if c.is_ascii_digit() || c == b'.' => {
                i += b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.' || **c == b'_')
                    .count();
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| from + p)
}

/// The index just past the string opened by `quote` at `from`; backticks have no escapes.
fn string_end(b: &[u8], from: usize, quote: u8) -> Result<usize, ExprError> {
    let mut i = from + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if quote != b'`' => i += 2,
            c if c == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(ExprError::UnterminatedString { at: from })
}

/// Identifier characters (metric, label and function names, keywords).
fn word_len(b: &[u8]) -> usize {
    b.iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b':')
        .count()
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// A duration-looking token at `from` (digits and unit letters), parsed; `None` if there is no
/// digit there.
fn duration_at(expr: &str, from: usize) -> Result<Option<(Range<usize>, PromDuration)>, ExprError> {
    let b = expr.as_bytes();
    if !b.get(from).is_some_and(u8::is_ascii_digit) {
        return Ok(None);
    }
    let end = from
        + b[from..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
    let text = &expr[from..end];
    let value = PromDuration::parse_rule(text).map_err(|_| ExprError::Duration {
        text: text.to_owned(),
    })?;
    Ok(Some((from..end, value)))
}

/// `[d]`, `[d:]` or `[d:d]` at `open`; returns the index past `]`.
fn bracket(expr: &str, open: usize, out: &mut Vec<Token>) -> Result<usize, ExprError> {
    let b = expr.as_bytes();
    let bad = || {
        let close = b[open..]
            .iter()
            .position(|&c| c == b']')
            .map_or(b.len(), |p| open + p + 1);
        ExprError::Bracket {
            text: expr[open..close.min(open + 40)].to_owned(),
        }
    };
    let i = skip_space(b, open + 1);
    let (range, value) = duration_at(expr, i)?.ok_or_else(bad)?;
    let i = skip_space(b, range.end);
    match b.get(i) {
        Some(b']') => {
            out.push(Token {
                range,
                kind: Kind::Range,
                value,
            });
            Ok(i + 1)
        }
        Some(b':') => {
            out.push(Token {
                range,
                kind: Kind::SubqueryRange,
                value,
            });
            let i = skip_space(b, i + 1);
            let i = match duration_at(expr, i)? {
                Some((range, value)) => {
                    let end = range.end;
                    out.push(Token {
                        range,
                        kind: Kind::SubqueryStep,
                        value,
                    });
                    skip_space(b, end)
                }
                None => i,
            };
            match b.get(i) {
                Some(b']') => Ok(i + 1),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// After the keyword `offset` (ending at `from`): an optional sign and a duration. Anything else
/// means the word was a name (`by (offset)`), and reading goes on from `from`.
fn offset(expr: &str, from: usize, out: &mut Vec<Token>) -> Result<usize, ExprError> {
    let b = expr.as_bytes();
    let mut i = skip_space(b, from);
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i = skip_space(b, i + 1);
    }
    match duration_at(expr, i)? {
        Some((range, value)) => {
            let end = range.end;
            out.push(Token {
                range,
                kind: Kind::Offset,
                value,
            });
            Ok(end)
        }
        None => Ok(from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(expr: &str) -> Vec<(Kind, &str)> {
        durations(expr)
            .unwrap()
            .into_iter()
            .map(|t| (t.kind, &expr[t.range]))
            .collect()
    }

    #[test]
    fn finds_every_kind_of_duration() {
        assert_eq!(
            found(
                "max_over_time(rate(x[5m])[1h:30s]) / avg_over_time(y[1d:]) offset -1w \
                 + z OFFSET 1h30m"
            ),
            [
                (Kind::Range, "5m"),
                (Kind::SubqueryRange, "1h"),
                (Kind::SubqueryStep, "30s"),
                (Kind::SubqueryRange, "1d"),
                (Kind::Offset, "1w"),
                (Kind::Offset, "1h30m"),
            ]
        );
        assert_eq!(
            found("x[ 5m ]  offset   500ms"),
            [(Kind::Range, "5m"), (Kind::Offset, "500ms")]
        );
    }

    #[test]
    fn strings_comments_and_names_are_not_durations() {
        for expr in [
            r#"x{le="[5m]"}"#,
            r#"x{a='offset 5m'}"#,
            "x{a=`[1h:5m]`}",
            r#"x{a="\"[5m]"}"#,
            "x # rate(y[5m])",
            "sum by (offset) (my_offset_5m)",
            "ratio_rate5m > 14.4 * 0.001",
            r#"x{offset="1"}"#,
            "1e5m",
        ] {
            assert_eq!(found(expr), [], "{expr}");
        }
        assert_eq!(
            found("x{a=\"]\"}[5m] # [1h]\n offset 1m"),
            [(Kind::Range, "5m"), (Kind::Offset, "1m")]
        );
    }

    #[test]
    fn refuses_what_it_cannot_compress() {
        assert_eq!(durations("x @ 1609746000"), Err(ExprError::At { at: 2 }));
        assert_eq!(durations("x[5m] @ end()"), Err(ExprError::At { at: 6 }));
        assert!(matches!(
            durations(r#"x{a="b}"#),
            Err(ExprError::UnterminatedString { at: 4 })
        ));
        assert!(matches!(
            durations("x[$__range]"),
            Err(ExprError::Bracket { .. })
        ));
        assert!(matches!(
            durations("x[5min]"),
            Err(ExprError::Duration { .. })
        ));
        assert!(matches!(durations("x[5m"), Err(ExprError::Bracket { .. })));
    }
}

//! Series selectors as the spec writes them (`metric{label="value", code!~"5.."}`): checked here so a
//! typo in the spec is refused with a clear message before it becomes a rule that matches nothing.
//!
//! Only the instant-vector selector subset of PromQL is accepted, because the generator wraps each
//! selector in `rate(...[window])` itself.

use std::fmt;

/// A checked selector; `Display` prints it back in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl Selector {
    /// Parses `name` or `name{l1="v1", l2=~"v2"}`; the reason names what was wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let name_len = text
            .char_indices()
            .find(|&(i, c)| !is_name_char(c, i == 0, true))
            .map_or(text.len(), |(i, _)| i);
        if name_len == 0 {
            return Err("it must start with a metric name".into());
        }
        let metric = text[..name_len].to_owned();
        let rest = text[name_len..].trim_start();
        let matchers = if rest.is_empty() {
            Vec::new()
        } else {
            let inner = rest
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .ok_or("after the metric name only a {label=\"value\"} list may follow")?;
            parse_matchers(inner)?
        };
        Ok(Self { metric, matchers })
    }

    /// True when every matcher is `=`: such a selector names exactly one series, which is what a
    /// promtool test's `input_series` needs.
    pub fn is_exact(&self) -> bool {
        self.matchers.iter().all(|m| m.op == MatchOp::Equal)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            // PromQL string escapes are Go's, which JSON's are a subset of.
            let quoted = serde_json::to_string(&m.value).map_err(|_| fmt::Error)?;
            write!(f, "{}{}{}", m.label, m.op.as_str(), quoted)?;
        }
        f.write_str("}")
    }
}

fn is_name_char(c: char, first: bool, colon_ok: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (colon_ok && c == ':') || (!first && c.is_ascii_digit())
}

fn parse_matchers(mut rest: &str) -> Result<Vec<Matcher>, String> {
    let mut matchers = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(matchers);
        }
        let label_len = rest
            .char_indices()
            .find(|&(i, c)| !is_name_char(c, i == 0, false))
            .map_or(rest.len(), |(i, _)| i);
        if label_len == 0 {
            return Err(format!("expected a label name at {rest:?}"));
        }
        let label = rest[..label_len].to_owned();
        rest = rest[label_len..].trim_start();
        let op = [
            MatchOp::Regex,
            MatchOp::NotRegex,
            MatchOp::NotEqual,
            MatchOp::Equal,
        ]
        .into_iter()
        .find(|op| rest.starts_with(op.as_str()))
        .ok_or_else(|| format!("label {label} needs one of = != =~ !~"))?;
        rest = rest[op.as_str().len()..].trim_start();
        let (value, after) = parse_quoted(rest)
            .ok_or_else(|| format!("the value of label {label} must be a double-quoted string"))?;
        if label == "__name__" {
            return Err("give the metric name before the braces, not as __name__".into());
        }
        if matchers.iter().any(|m: &Matcher| m.label == label) {
            return Err(format!("label {label} is matched twice"));
        }
        matchers.push(Matcher { label, op, value });
        rest = after.trim_start();
        match rest.strip_prefix(',') {
            Some(r) => rest = r,
            None if rest.is_empty() => return Ok(matchers),
            None => return Err(format!("expected a comma before {rest:?}")),
        }
    }
}

/// Reads one double-quoted string with JSON/Go escapes; returns it and what follows.
fn parse_quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    let end = body.char_indices().find_map(|(i, c)| {
        let done = c == '"' && !escaped;
        escaped = c == '\\' && !escaped;
        done.then_some(i)
    })?;
    let value: String = serde_json::from_str(&text[..end + 2]).ok()?;
    Some((value, &body[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_prints_the_specs_selectors() {
        for text in [
            "movieguru_chat_latency_milliseconds_count",
            r#"movieguru_chat_latency_milliseconds_bucket{le="5000"}"#,
            r#"movieguru_chat_outcome_counter_total{Outcome=~"Engaged|Acknowledged"}"#,
            r#"http_requests_total{code!~"5..", route!="/phase"}"#,
            r#"x{a="quote \" and backslash \\"}"#,
        ] {
            let s = Selector::parse(text).unwrap();
            assert_eq!(s.to_string(), text);
        }
        let spaced = Selector::parse(r#" x { a = "1" , b != "2" , } "#).unwrap();
        assert_eq!(spaced.to_string(), r#"x{a="1", b!="2"}"#);
    }

    #[test]
    fn exact_means_every_matcher_is_equality() {
        assert!(Selector::parse(r#"x{a="1"}"#).unwrap().is_exact());
        assert!(!Selector::parse(r#"x{a=~"1"}"#).unwrap().is_exact());
    }

    #[test]
    fn refuses_broken_selectors_with_a_reason() {
        for (text, reason) in [
            ("", "metric name"),
            ("{a=\"1\"}", "metric name"),
            ("rate(x[5m])", "only a {label"),
            ("x{a=1}", "double-quoted"),
            ("x{a~\"1\"}", "needs one of"),
            ("x{a=\"1\" b=\"2\"}", "comma"),
            ("x{a=\"1\", a=\"2\"}", "twice"),
            ("x{__name__=\"y\"}", "before the braces"),
            ("x{a=\"1\"", "only a {label"),
            ("x{a=\"unterminated}", "double-quoted"),
        ] {
            let err = Selector::parse(text).unwrap_err();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }
}

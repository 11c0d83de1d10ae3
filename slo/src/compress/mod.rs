//! Any Prometheus rule file made N times faster, for rehearsals: [`compress_rules`] divides
//! every duration the file's timing depends on by the [`Compression`] factor, as [`crate::rules`]
//! does for the rules it generates.
//!
//! Divided: range selectors `[5m]`, subquery ranges and steps `[1h:5m]` (and `[1h:]`, whose
//! step is the evaluation interval), `offset 5m` and `offset -5m`, each rule's `for:` and
//! `keep_firing_for:`, and each group's `interval:`. Durations are read in Prometheus' notation
//! (`1h30m`, `90s`, `1d`, `1w`, `1y`, `500ms`) and the changed ones written as [`PromDuration`]
//! prints them (`1w` / 60 is `2h48m`). Not divided: numbers that stand for seconds
//! (`predict_linear(v[1h], 3600)`, `time() - x > 300`), which PromQL cannot tell from other
//! numbers; names, labels and annotations. The expression is read by a small lexer
//! ([`promql`]) that skips strings and comments, so `{le="[5m]"}` stays as written, and only a
//! duration's own bytes change.
//!
//! Refused, naming the group and the rule: an `@` modifier (a fixed time cannot be compressed),
//! a duration the factor does not divide into whole milliseconds, and a compressed duration
//! finer than the rehearsal's Prometheus resolves ([`Resolution`]): a range (of a selector or a
//! subquery) must span two scrape intervals, so `rate()` has two samples; a `for:` or
//! `keep_firing_for:` other than zero one evaluation interval of its group; a group `interval:` or
//! subquery step [`Resolution::FASTEST`]. A zero duration stays zero.
//!
//! The file is edited in place, so comments, quoting and layout survive. Where a value cannot be
//! mapped back to its bytes (an expression with escapes in a quoted string, an anchor), the whole
//! file is written anew by yaml-rust2's emitter instead: same content, but comments are lost and
//! strings re-quoted. Either way the result is read back and must equal the intended rules.

mod promql;
mod yaml;

use std::fmt;

use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

use crate::duration::{Compression, PromDuration};
pub use promql::{ExprError, Kind};
use yaml::Node;

/// How often the Prometheus of a rehearsal at a given time scale scrapes and evaluates: a
/// production Prometheus' 15 s divided by the scale, so a range holds as many samples as it does
/// in production, kept between [`Self::FASTEST`] and [`Self::SLOWEST`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub scrape: PromDuration,
    /// The global evaluation interval, for groups without their own `interval:`.
    pub evaluation: PromDuration,
}

impl Resolution {
    /// The scrape interval the scaled one mirrors: Prometheus' example configuration's.
    pub const REAL_SCRAPE: PromDuration = PromDuration::from_secs(15);
    /// Never slower than this: a slower scrape only makes a rehearsal see things later.
    pub const SLOWEST: PromDuration = PromDuration::from_secs(1);
    /// Never faster: Debian's Prometheus 2.42 scrapes and evaluates every 50 ms steadily on a
    /// small machine (2 cores); at 20 ms and below it misses ticks.
    pub const FASTEST: PromDuration = PromDuration::from_millis(50);

    /// The intervals of a rehearsal compressed by `by`: 1 s up to 15x, 250 ms at 60x, 50 ms from
    /// 300x on.
    pub fn for_scale(by: Compression) -> Self {
        let factor = u64::from(by.factor());
        let ms = (Self::REAL_SCRAPE.as_millis() + factor / 2) / factor;
        let ms = ms.clamp(Self::FASTEST.as_millis(), Self::SLOWEST.as_millis());
        let every = PromDuration::from_millis(ms);
        Self {
            scrape: every,
            evaluation: every,
        }
    }

    /// The shortest compressed duration of `kind` in a group evaluated every `group`, and why.
    pub fn floor(&self, kind: Kind, group: PromDuration) -> Option<(PromDuration, &'static str)> {
        match kind {
            Kind::Range | Kind::SubqueryRange => Some((
                PromDuration::from_millis(2 * self.scrape.as_millis()),
                "two scrape intervals, so rate() has two samples",
            )),
            Kind::For | Kind::KeepFiringFor => {
                Some((group, "one evaluation interval of its group"))
            }
            Kind::SubqueryStep | Kind::Interval => Some((
                Self::FASTEST,
                "the fastest evaluation the rehearsal's Prometheus keeps up with",
            )),
            Kind::Offset => None,
        }
    }
}

/// A group, or a rule of a group, as errors name them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub group: String,
    /// `alert "Name"` or `record "name"`.
    pub rule: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group {:?}", self.group)?;
        match &self.rule {
            Some(rule) => write!(f, ", {rule}"),
            None => Ok(()),
        }
    }
}

/// One duration of a rule file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub place: Place,
    pub kind: Kind,
    pub value: PromDuration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressError {
    #[error("not YAML: {0}")]
    Yaml(String),
    #[error("{at}: {what}")]
    Shape { at: String, what: &'static str },
    #[error("{place}: expr: {error}")]
    Expr { place: Place, error: ExprError },
    #[error("{place}: {kind}: {text:?} is not a duration (write it as Prometheus does, e.g. 5m)")]
    Field {
        place: Place,
        kind: Kind,
        text: String,
    },
    #[error("{place}: {kind} {duration} cannot be divided by {factor} into whole milliseconds")]
    Indivisible {
        place: Place,
        kind: Kind,
        duration: PromDuration,
        factor: u32,
    },
    #[error(
        "{place}: {kind} {duration} becomes {compressed} at {factor}x, under {floor} ({why}); \
         use a lower time scale"
    )]
    TooShort {
        place: Place,
        kind: Kind,
        duration: PromDuration,
        compressed: PromDuration,
        factor: u32,
        floor: PromDuration,
        why: &'static str,
    },
    #[error("the compressed file does not read back as intended (a bug in slo::compress): {0}")]
    Internal(String),
}

/// The rule file `text` with every duration divided by `by` (see the module doc).
pub fn compress_rules(text: &str, by: Compression) -> Result<String, CompressError> {
    let resolution = Resolution::for_scale(by);
    let docs = yaml::parse(text).map_err(|e| CompressError::Yaml(e.to_string()))?;
    let mut expected =
        YamlLoader::load_from_str(text).map_err(|e| CompressError::Yaml(e.to_string()))?;
    // (source byte range, replacement) for the in-place edit; `None` once one cannot be mapped.
    let mut edits = Some(Vec::new());
    let mut group_eval = resolution.evaluation;
    let mut group_at = None;
    for field in fields(&docs)? {
        if group_at != Some((field.path.doc, field.path.group)) {
            group_at = Some((field.path.doc, field.path.group));
            group_eval = resolution.evaluation;
        }
        let Some(value) = field.value() else { continue };
        let mut pieces = Vec::new();
        for token in field.tokens(value)? {
            if token.value == PromDuration::ZERO {
                continue;
            }
            let compressed =
                token
                    .value
                    .compress(by)
                    .ok_or_else(|| CompressError::Indivisible {
                        place: field.place.clone(),
                        kind: token.kind,
                        duration: token.value,
                        factor: by.factor(),
                    })?;
            if let Some((floor, why)) = resolution.floor(token.kind, group_eval)
                && compressed < floor
            {
                return Err(CompressError::TooShort {
                    place: field.place.clone(),
                    kind: token.kind,
                    duration: token.value,
                    compressed,
                    factor: by.factor(),
                    floor,
                    why,
                });
            }
            if token.kind == Kind::Interval {
                group_eval = compressed;
            }
            if compressed != token.value {
                pieces.push((token.range, compressed.to_string()));
            }
        }
        if pieces.is_empty() {
            continue;
        }
        let mut new_value = value.to_owned();
        for (range, new) in pieces.iter().rev() {
            new_value.replace_range(range.clone(), new);
        }
        if !set(&mut expected, &field.path, new_value) {
            return Err(CompressError::Internal(format!(
                "{} not found",
                field.place
            )));
        }
        edits = edits.and_then(|mut edits: Vec<_>| {
            let Node::Scalar(scalar) = field.node else {
                return None;
            };
            for (range, new) in pieces {
                edits.push((yaml::locate(text, scalar, range)?, new));
            }
            Some(edits)
        });
    }
    if let Some(mut edits) = edits {
        edits.sort_by_key(|(range, _)| range.start);
        let mut out = text.to_owned();
        for (range, new) in edits.iter().rev() {
            out.replace_range(range.clone(), new);
        }
        if YamlLoader::load_from_str(&out).is_ok_and(|docs| docs == expected) {
            return Ok(out);
        }
    }
    let mut out = String::new();
    for doc in &expected {
        let mut emitter = YamlEmitter::new(&mut out);
        emitter.multiline_strings(true);
        emitter
            .dump(doc)
            .map_err(|e| CompressError::Internal(e.to_string()))?;
        out.push('\n');
    }
    match YamlLoader::load_from_str(&out) {
        Ok(docs) if docs == expected => Ok(out),
        _ => Err(CompressError::Internal("the rewritten file differs".into())),
    }
}

/// Every duration of the rule file `text`, in file order (a group's `interval:` before its
/// rules, a rule's expression before its `for:`); zero ones included.
pub fn durations(text: &str) -> Result<Vec<Found>, CompressError> {
    let docs = yaml::parse(text).map_err(|e| CompressError::Yaml(e.to_string()))?;
    let mut out = Vec::new();
    for field in fields(&docs)? {
        let Some(value) = field.value() else { continue };
        for token in field.tokens(value)? {
            out.push(Found {
                place: field.place.clone(),
                kind: token.kind,
                value: token.value,
            });
        }
    }
    Ok(out)
}

/// Where a field is: document, group and rule index, key.
struct Path {
    doc: usize,
    group: usize,
    rule: Option<usize>,
    key: &'static str,
}

/// A field whose value holds durations.
struct Field<'a> {
    place: Place,
    /// `None` for `expr`, else the kind of the one duration it is.
    kind: Option<Kind>,
    node: &'a Node,
    path: Path,
}

impl Field<'_> {
    fn value(&self) -> Option<&str> {
        self.node.text()
    }

    fn tokens(&self, value: &str) -> Result<Vec<promql::Token>, CompressError> {
        match self.kind {
            None => promql::durations(value).map_err(|error| CompressError::Expr {
                place: self.place.clone(),
                error,
            }),
            Some(kind) => {
                let bad = || CompressError::Field {
                    place: self.place.clone(),
                    kind,
                    text: value.to_owned(),
                };
                let d = PromDuration::parse_rule(value.trim()).map_err(|_| bad())?;
                let start = value.len() - value.trim_start().len();
                Ok(vec![promql::Token {
                    range: start..start + value.trim().len(),
                    kind,
                    value: d,
                }])
            }
        }
    }
}

/// The fields of every group and rule, in file order; the shape Prometheus' `rulefmt` reads.
fn fields(docs: &[Node]) -> Result<Vec<Field<'_>>, CompressError> {
    let shape = |at: String, what| CompressError::Shape { at, what };
    let mut out = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        let groups = match doc {
            Node::Map(_) => doc.get("groups"),
            Node::Scalar(_) if doc.text().is_none() => None,
            _ => return Err(shape("the file".into(), "is not a mapping with `groups:`")),
        };
        let groups = match groups {
            None => continue,
            Some(g) if g.text().is_none() && matches!(g, Node::Scalar(_)) => continue,
            Some(Node::Seq(groups)) => groups,
            Some(_) => return Err(shape("groups".into(), "is not a list")),
        };
        for (g, group) in groups.iter().enumerate() {
            if !matches!(group, Node::Map(_)) {
                return Err(shape(format!("groups[{g}]"), "is not a mapping"));
            }
            let name = group
                .get("name")
                .and_then(Node::text)
                .unwrap_or("?")
                .to_owned();
            let in_group = Place {
                group: name,
                rule: None,
            };
            if let Some(node) = group.get("interval") {
                out.push(Field {
                    place: in_group.clone(),
                    kind: Some(Kind::Interval),
                    node,
                    path: Path {
                        doc: d,
                        group: g,
                        rule: None,
                        key: "interval",
                    },
                });
            }
            let rules = match group.get("rules") {
                None => continue,
                Some(Node::Seq(rules)) => rules,
                Some(r) if r.text().is_none() && matches!(r, Node::Scalar(_)) => continue,
                Some(_) => return Err(shape(format!("groups[{g}].rules"), "is not a list")),
            };
            for (r, rule) in rules.iter().enumerate() {
                if !matches!(rule, Node::Map(_)) {
                    return Err(shape(format!("groups[{g}].rules[{r}]"), "is not a mapping"));
                }
                let named = |kind: &str| {
                    rule.get(kind)
                        .and_then(Node::text)
                        .map(|n| format!("{kind} {n:?}"))
                };
                let place = Place {
                    group: in_group.group.clone(),
                    rule: named("alert")
                        .or_else(|| named("record"))
                        .or(Some(format!("rule {r}"))),
                };
                for (key, kind) in [
                    ("expr", None),
                    ("for", Some(Kind::For)),
                    ("keep_firing_for", Some(Kind::KeepFiringFor)),
                ] {
                    match rule.get(key) {
                        None => {}
                        Some(node @ Node::Scalar(_)) => out.push(Field {
                            place: place.clone(),
                            kind,
                            node,
                            path: Path {
                                doc: d,
                                group: g,
                                rule: Some(r),
                                key,
                            },
                        }),
                        Some(_) => {
                            return Err(shape(
                                format!("{place}: {key}"),
                                "is not a string (an alias *name here is not supported)",
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Sets the field at `path` of the loaded documents to `value`, keeping its place in the mapping.
fn set(docs: &mut [Yaml], path: &Path, value: String) -> bool {
    fn at<'a>(y: &'a mut Yaml, key: &str) -> Option<&'a mut Yaml> {
        match y {
            Yaml::Hash(h) => h.get_mut(&Yaml::String(key.to_owned())),
            _ => None,
        }
    }
    fn nth(y: &mut Yaml, i: usize) -> Option<&mut Yaml> {
        match y {
            Yaml::Array(a) => a.get_mut(i),
            _ => None,
        }
    }
    let group = docs
        .get_mut(path.doc)
        .and_then(|doc| at(doc, "groups"))
        .and_then(|groups| nth(groups, path.group));
    let owner = match path.rule {
        None => group,
        Some(r) => group
            .and_then(|g| at(g, "rules"))
            .and_then(|rules| nth(rules, r)),
    };
    match owner.and_then(|o| at(o, path.key)) {
        Some(field) => {
            *field = Yaml::String(value);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BY60: Compression = Compression::E2E;

    const FILE: &str = r#"# a team's rules
groups:
  - name: api   # evaluated often
    interval: 30s
    rules:
      - alert: Slow
        expr: |
          max_over_time(rate(x{le="[5m]", a='offset 1h'}[10m:1m])[1h:]) offset -1w
            > 1 # not [1d]
        for: 5m
        keep_firing_for: 2m
        labels:
          window: "[5m]"
      - record: r
        expr: "sum(rate(y[1h30m] offset 0s))"
"#;

    #[test]
    fn divides_every_duration_and_nothing_else() {
        let out = compress_rules(FILE, BY60).unwrap();
        assert_eq!(
            out,
            FILE.replace("interval: 30s", "interval: 500ms")
                .replace("[10m:1m]", "[10s:1s]")
                .replace("[1h:]", "[1m:]")
                .replace("offset -1w", "offset -2h48m")
                .replace("for: 5m", "for: 5s")
                .replace("for: 2m", "for: 2s")
                .replace("[1h30m]", "[1m30s]")
        );
        assert_eq!(compress_rules(FILE, Compression::NONE).unwrap(), FILE);
    }

    #[test]
    fn escapes_fall_back_to_a_rewritten_file_with_the_same_content() {
        let text = "groups:\n- name: g\n  rules:\n  - record: r\n    expr: \"x{a=\\\"[5m]\\\"}[5m]\" # c\n";
        let out = compress_rules(text, BY60).unwrap();
        assert!(!out.contains("# c"), "{out}");
        let docs = YamlLoader::load_from_str(&out).unwrap();
        assert_eq!(
            docs[0]["groups"][0]["rules"][0]["expr"].as_str(),
            Some(r#"x{a="[5m]"}[5s]"#)
        );
    }

    #[test]
    fn refusals_name_the_group_and_rule() {
        let rule = |expr: &str, extra: &str| {
            format!(
                "groups:\n  - name: g\n{extra}    rules:\n      - alert: A\n        expr: {expr}\n"
            )
        };
        let err = |text: &str| compress_rules(text, BY60).unwrap_err().to_string();
        assert_eq!(
            err(&rule("x @ 100", "")),
            "group \"g\", alert \"A\": expr: an @ modifier (byte 2) pins a fixed time, which a \
             time-compressed rehearsal cannot move"
        );
        assert_eq!(
            err(&rule("rate(x[1s])", "")),
            "group \"g\", alert \"A\": range 1s cannot be divided by 60 into whole milliseconds"
        );
        // 250 ms scrapes at 60x: a range needs 500 ms.
        assert!(
            err(&rule("rate(x[24s])", "")).starts_with(
                "group \"g\", alert \"A\": range 24s becomes 400ms at 60x, under 500ms"
            ),
            "{}",
            err(&rule("rate(x[24s])", ""))
        );
        assert!(err(&rule("x", "    interval: 1s\n")).contains("group \"g\": interval 1s"));
        assert!(
            err(&rule("x\n        for: 6s", "    interval: 1m\n"))
                .contains("for 6s becomes 100ms at 60x, under 1s")
        );
        assert!(err("groups: 3\n").contains("groups: is not a list"));
    }

    #[test]
    fn intervals_follow_the_scale_within_bounds() {
        let at = |n| {
            Resolution::for_scale(Compression::new(n).unwrap())
                .scrape
                .to_string()
        };
        assert_eq!(at(1), "1s");
        assert_eq!(at(15), "1s");
        assert_eq!(at(60), "250ms");
        assert_eq!(at(100), "150ms");
        assert_eq!(at(300), "50ms");
        assert_eq!(at(1000), "50ms");
    }

    proptest! {
        /// Any divisible duration, written any way Prometheus allows, comes out divided.
        #[test]
        fn every_duration_kind_comes_out_divided(
            ms in prop::collection::vec(1u64..1_000_000, 3),
            factor in 1u32..400,
        ) {
            let by = Compression::new(factor).unwrap();
            let scale = u64::from(factor);
            // Multiples of the factor and of 500 ms stay divisible and above every floor.
            let d: Vec<PromDuration> = ms.iter().map(|m| PromDuration::from_millis(m * 500 * scale)).collect();
            let text = format!(
                "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[{}]) offset {} and y[{}:{}]\n        for: {}\n",
                d[0], d[1], d[2], d[0], d[1]
            );
            let before = durations(&text).unwrap();
            let after = durations(&compress_rules(&text, by).unwrap()).unwrap();
            prop_assert_eq!(before.len(), 5);
            for (b, a) in before.iter().zip(&after) {
                prop_assert_eq!(b.kind, a.kind);
                prop_assert_eq!(b.value.as_millis(), a.value.as_millis() * scale);
            }
        }
    }
}

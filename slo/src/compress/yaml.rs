//! A YAML file read as a tree whose scalars remember where they start in the text, and the map
//! from a scalar's value back to its bytes, so a few tokens inside a value can be replaced in
//! place and everything else (comments, quoting, layout) stays as written.
//!
//! The map is only claimed where it can be checked: outside whitespace, every byte of the value
//! must be the very byte found in the text, and a run of whitespace in the value must meet one in
//! the text (a folded line, a block's indentation). Escapes (`\"`, `''`) break that, and the
//! caller then falls back to writing the whole file anew.

use std::ops::Range;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A node of the file.
#[derive(Debug)]
pub enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// `*name`: refers to a node elsewhere; never edited in place.
    Alias,
}

#[derive(Debug)]
pub struct Scalar {
    pub value: String,
    pub style: TScalarStyle,
    /// Byte offset of the scalar's first character (its quote; a block's first content byte).
    pub at: usize,
    /// It carries `&name` (or a tag), so the text at `at` may not be the scalar itself.
    pub decorated: bool,
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Node::Scalar(s) if s.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar's text, `None` for a YAML null (`~`, `null`, nothing).
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar(s)
                if s.style == TScalarStyle::Plain
                    && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL") =>
            {
                None
            }
            Node::Scalar(s) => Some(&s.value),
            _ => None,
        }
    }
}

/// Every document of `text`.
pub fn parse(text: &str) -> Result<Vec<Node>, yaml_rust2::ScanError> {
    let mut builder = Builder {
        offsets: text
            .char_indices()
            .map(|(b, _)| b)
            .chain([text.len()])
            .collect(),
        stack: Vec::new(),
        docs: Vec::new(),
    };
    Parser::new_from_str(text).load(&mut builder, true)?;
    Ok(builder.docs)
}

struct Builder {
    /// Byte offset of each char: the parser's markers count chars.
    offsets: Vec<usize>,
    /// Open sequences and mappings (a mapping's keys and values alternate).
    stack: Vec<(bool, Vec<Node>)>,
    docs: Vec<Node>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some((_, items)) => items.push(node),
            None => self.docs.push(node),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let at = self
                    .offsets
                    .get(mark.index())
                    .copied()
                    .unwrap_or(usize::MAX);
                self.push(Node::Scalar(Scalar {
                    value,
                    style,
                    at,
                    decorated: anchor != 0 || tag.is_some(),
                }));
            }
            Event::Alias(_) => self.push(Node::Alias),
            Event::SequenceStart(..) => self.stack.push((false, Vec::new())),
            Event::MappingStart(..) => self.stack.push((true, Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((is_map, items)) = self.stack.pop() {
                    self.push(if is_map {
                        let mut pairs = Vec::new();
                        let mut items = items.into_iter();
                        while let (Some(k), Some(v)) = (items.next(), items.next()) {
                            pairs.push((k, v));
                        }
                        Node::Map(pairs)
                    } else {
                        Node::Seq(items)
                    });
                }
            }
            _ => {}
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where `range` of the scalar's value is in `text`, if the map can be checked (see the module
/// doc). The range must not start or end in whitespace.
pub fn locate(text: &str, scalar: &Scalar, range: Range<usize>) -> Option<Range<usize>> {
    if scalar.decorated || range.is_empty() {
        return None;
    }
    let src = text.as_bytes();
    let value = scalar.value.as_bytes();
    let mut j = scalar.at;
    match scalar.style {
        TScalarStyle::Plain => {}
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
            let quote = if scalar.style == TScalarStyle::SingleQuoted {
                b'\''
            } else {
                b'"'
            };
            if src.get(j) != Some(&quote) {
                return None;
            }
            j += 1;
        }
        // The parser marks a block scalar at its content (past the first line's indentation);
        // the indicator is accepted too, in case a later version marks that.
        TScalarStyle::Literal | TScalarStyle::Folded => {
            if matches!(src.get(j), Some(b'|' | b'>')) {
                j += src[j..].iter().position(|&c| c == b'\n')? + 1;
                while src.get(j).is_some_and(|&c| c == b' ')
                    && value.first().is_none_or(|&c| c != b' ')
                {
                    j += 1;
                }
            }
        }
    }
    let mut start = None;
    let mut i = 0;
    while i < range.end {
        if i == range.start {
            start = Some(j);
        }
        if is_space(value[i]) {
            if !src.get(j).copied().is_some_and(is_space) {
                return None;
            }
            while i < value.len() && is_space(value[i]) {
                i += 1;
            }
            while src.get(j).copied().is_some_and(is_space) {
                j += 1;
            }
            if i > range.start && start.is_none() {
                return None;
            }
        } else {
            if src.get(j) != Some(&value[i]) {
                return None;
            }
            i += 1;
            j += 1;
        }
    }
    let start = start?;
    (text.get(start..j)? == scalar.value.get(range)?).then_some(start..j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr_of(text: &str) -> Scalar {
        let docs = parse(text).unwrap();
        match docs[0].get("expr") {
            Some(Node::Scalar(s)) => Scalar {
                value: s.value.clone(),
                style: s.style,
                at: s.at,
                decorated: s.decorated,
            },
            other => panic!("{other:?}"),
        }
    }

    /// Where `needle` (its first occurrence in the value) starts in the text.
    fn where_is(text: &str, needle: &str) -> Option<usize> {
        let s = expr_of(text);
        let from = s.value.find(needle).unwrap();
        locate(text, &s, from..from + needle.len()).map(|r| r.start)
    }

    #[test]
    fn locates_tokens_in_every_unescaped_style() {
        for text in [
            "expr: rate(x[5m]) > 1\n",
            "expr: 'rate(x[5m]) > 1'\n",
            "expr: \"rate(x[5m]) > 1\"\n",
            "expr: |\n  sum(y)\n    / rate(x[5m]) > 1\n",
            "expr: |-  # a comment\n    rate(x[5m]) > 1\nother: 1\n",
            "expr: >\n  sum(y)\n  / rate(x[5m])\n",
            "expr: sum(y)\n  /\n  rate(x[5m])\n",
            "{expr: 'rate(x[5m])', b: 1}\n",
        ] {
            assert_eq!(
                where_is(text, "5m"),
                text.find("5m"),
                "{text} at {}",
                expr_of(text).at
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_check() {
        for text in [
            "expr: \"x{a=\\\"b\\\"}[5m]\"\n",
            "expr: 'x{a=''b''}[5m]'\n",
            "expr: &e x[5m]\n",
            "expr: !!str x[5m]\n",
        ] {
            assert_eq!(where_is(text, "5m"), None, "{text}");
        }
    }
}

//! Strict JSON: a document that names a key twice in one object is refused.
//!
//! serde_json keeps the last of a repeated key, so `{"good":100,"good":0}` (meant as a
//! rollback) would silently mean `{"good":0}`. Every JSON document the tools accept from a
//! user or a client goes through [`from_slice`], which first walks the document once and
//! names the first repeated key with its path, then parses it as usual.

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};

/// Parses `bytes` as `T`, refusing a key repeated in any object at any depth.
/// The error reads like serde_json's own: `duplicate key "good" at $.weights`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Unique { path: "$" }.deserialize(&mut de)?;
    de.end()?;
    serde_json::from_slice(bytes)
}

/// [`from_slice`] for text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    from_slice(text.as_bytes())
}

/// Walks one value, checking each object's keys; `path` names where it is, for the message.
struct Unique<'p> {
    path: &'p str,
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}.{key}", self.path);
            if !seen.insert(key) {
                let (parent, key) = path.rsplit_once('.').unwrap_or(("$", &path));
                return Err(de::Error::custom(format_args!(
                    "duplicate key \"{key}\" at {parent}"
                )));
            }
            map.next_value_seed(Unique { path: &path })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path = format!("{}[{i}]", self.path);
            if seq.next_element_seed(Unique { path: &path })?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::from_slice;

    #[test]
    fn a_repeated_key_is_refused_at_any_depth_and_named() {
        for (doc, says) in [
            (
                &br#"{"good":100,"good":0}"#[..],
                "duplicate key \"good\" at $",
            ),
            (br#"{"a":{"b":1,"b":2}}"#, "duplicate key \"b\" at $.a"),
            (
                br#"{"a":[{"x":1},{"y":1,"y":1}]}"#,
                "duplicate key \"y\" at $.a[1]",
            ),
            (br#"{"a\u0062":1,"ab":2}"#, "duplicate key \"ab\" at $"),
        ] {
            let e = from_slice::<Value>(doc).unwrap_err().to_string();
            assert!(e.contains(says), "{e:?} should say {says:?}");
        }
    }

    #[test]
    fn unique_keys_and_trailing_garbage_behave_as_serde_json() {
        let v: Value = from_slice(br#"{"good":100,"canary":0,"n":[{"good":1}]}"#).unwrap();
        assert_eq!(v["canary"], 0);
        assert_eq!(v["n"][0]["good"], 1);
        assert!(from_slice::<Value>(b"{} x").is_err());
        assert!(from_slice::<Value>(b"{").is_err());
        // Deep nesting stops at serde_json's recursion limit rather than the stack.
        let deep = "[".repeat(100_000);
        assert!(from_slice::<Value>(deep.as_bytes()).is_err());
    }
}

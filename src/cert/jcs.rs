//! JSON for signed documents: RFC 8785 (JCS) canonical bytes, a strict parser and the one
//! file layout ringcoach writes.
//!
//! Canonicalisation is `serde_jcs` (numbers as ECMAScript writes them, object keys sorted by
//! their UTF-16 code units); the tests pin it to the RFC's own examples. The parser refuses
//! what JCS refuses to give a meaning to: duplicate object keys (I-JSON, RFC 7493), lone
//! surrogates and numbers outside IEEE 754 doubles (serde_json refuses those two already).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::CertError;

/// The RFC 8785 canonical form of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, CertError> {
    serde_jcs::to_vec(value).map_err(|e| CertError::Canonical {
        what: "a document".into(),
        reason: e.to_string(),
    })
}

/// Parses JSON the way a verifier must: duplicate keys in any object are an error rather than
/// "the last one wins", so two readers can never see two different documents in one file.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Strict::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v.0)
}

/// The bytes of a signed file: the canonical form of `value` laid out by [`layout`], plus a
/// final newline. A pure function of the content, so a verifier can demand these exact bytes.
pub fn to_file_bytes(value: &Value) -> Result<Vec<u8>, CertError> {
    let mut out = layout(&canonicalize(value)?);
    out.push(b'\n');
    Ok(out)
}

/// Indents canonical JSON for people: two spaces per level, `": "` after keys, empty objects
/// and arrays as `{}` and `[]`. Only whitespace outside strings is added (canonical JSON has
/// none and no raw control characters inside strings), so the content is unchanged.
pub fn layout(canonical: &[u8]) -> Vec<u8> {
    fn newline(out: &mut Vec<u8>, depth: usize) {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    }
    let mut out = Vec::with_capacity(canonical.len() + canonical.len() / 4);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut i = 0;
    while i < canonical.len() {
        let b = canonical[i];
        i += 1;
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                out.push(b);
                if canonical.get(i) == Some(&close) {
                    out.push(close);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
    out
}

/// The offset of the first byte where `found` differs from `expected`.
pub fn first_difference(expected: &[u8], found: &[u8]) -> usize {
    expected
        .iter()
        .zip(found)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(found.len()))
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
        Number::from_f64(v)
            .map(|n| Strict(Value::Number(n)))
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Strict(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_indents_and_keeps_strings() {
        let v = json!({"b": [1, {}, []], "a": "x:{,}[\"]\\", "c": {"d": null}});
        let text = String::from_utf8(to_file_bytes(&v).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": \"x:{,}[\\\"]\\\\\",\n  \"b\": [\n    1,\n    {},\n    []\n  ],\n  \"c\": {\n    \"d\": null\n  }\n}\n"
        );
        // The layout parses back to the same value.
        assert_eq!(parse_strict(text.as_bytes()).unwrap(), v);
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(parse_strict(br#"{"a":1,"a":1}"#)
            .unwrap_err()
            .contains("duplicate key"));
        assert!(parse_strict(br#"{"x":[{"k":1,"k":2}]}"#).is_err());
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
        assert!(parse_strict(br#""\ud800""#).is_err());
        assert!(parse_strict(b"1e400").is_err());
    }
}

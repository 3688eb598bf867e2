//! JSON read as written: a body that names a field twice is refused, naming it.
//!
//! A JSON reader keeps the last of two equal keys, so `{"state": "STARTED", …, "state":
//! "SUCCEEDED"}` would turn one malformed start into a finish. [`CheckedJson`] reads the same
//! value a plain reader would, and notes the first key it met twice (with its path, such as
//! `detail.state`), so that the event is refused rather than half-read.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::events::{EventError, error};

/// A JSON document, with the first key it named twice, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedJson {
    value: Value,
    duplicate_key: Option<String>,
}

impl CheckedJson {
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The document, unless it names a key twice (the error names it, as `detail.state`).
    pub fn into_value(self) -> Result<Value, EventError> {
        match self.duplicate_key {
            None => Ok(self.value),
            Some(path) => Err(error(&path, "appears twice: a JSON object must name each field once")),
        }
    }
}

impl<'de> Deserialize<'de> for CheckedJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let duplicate = RefCell::new(None);
        let value = ValueSeed { path: String::new(), duplicate: &duplicate }.deserialize(deserializer)?;
        Ok(Self { value, duplicate_key: duplicate.into_inner() })
    }
}

/// Reads one value at `path`, noting the first duplicate key in `duplicate`.
struct ValueSeed<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }
    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let seed =
                ValueSeed { path: format!("{}[{}]", self.path, items.len()), duplicate: self.duplicate };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            let value = map.next_value_seed(ValueSeed { path: path.clone(), duplicate: self.duplicate })?;
            if object.insert(key, value).is_some() {
                self.duplicate.borrow_mut().get_or_insert(path);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Result<Value, EventError> {
        CheckedJson::from_slice(text.as_bytes()).unwrap().into_value()
    }

    #[test]
    fn a_document_naming_each_key_once_reads_as_a_plain_reader_reads_it() {
        let text =
            r#"{"a": 1, "b": [1.5, -2, "x", null, true, {"c": {}}], "d": {"e": 18446744073709551615}}"#;
        assert_eq!(checked(text).unwrap(), serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn a_key_named_twice_is_refused_naming_its_path() {
        let error = checked(r#"{"detail": {"state": "STARTED", "task_type": "etl", "state": "SUCCEEDED"}}"#)
            .unwrap_err();
        assert_eq!(error.field, "detail.state");
        assert!(error.problem.contains("appears twice"), "{}", error.problem);
        assert_eq!(
            checked(r#"{"eventType": "START", "eventType": "COMPLETE"}"#).unwrap_err().field,
            "eventType"
        );
        assert_eq!(checked(r#"{"runs": [{"id": 1}, {"id": 2, "id": 3}]}"#).unwrap_err().field, "runs[1].id");
    }

    #[test]
    fn equal_keys_in_different_objects_are_not_duplicates() {
        assert!(checked(r#"{"a": {"id": 1}, "b": {"id": 1}, "id": 2}"#).is_ok());
    }
}

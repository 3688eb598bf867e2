//! Reading typed values out of DynamoDB items, with errors that name the attribute.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use overrun_core::ports::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// DynamoDB numbers hold at most 38 significant digits; exact moments must fit.
pub fn exact_n(value: u128, key: &str) -> Result<AttributeValue, StoreError> {
    let text = value.to_string();
    if text.len() > 38 {
        return Err(StoreError::BadItem {
            key: key.to_owned(),
            problem: format!("{text} has more than the 38 digits a DynamoDB number holds"),
        });
    }
    Ok(AttributeValue::N(text))
}

pub fn key_of(item: &Item, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| match item.get(*name) {
            Some(AttributeValue::S(v)) => v.clone(),
            Some(AttributeValue::N(v)) => v.clone(),
            _ => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

pub struct ItemReader<'a> {
    item: &'a Item,
    key: String,
}

impl<'a> ItemReader<'a> {
    pub fn new(item: &'a Item, key_names: &[&str]) -> Self {
        Self { item, key: key_of(item, key_names) }
    }

    fn bad(&self, problem: String) -> StoreError {
        StoreError::BadItem { key: self.key.clone(), problem }
    }

    pub fn string(&self, name: &str) -> Result<&'a str, StoreError> {
        self.optional_string(name)?.ok_or_else(|| self.bad(format!("attribute {name} is missing")))
    }

    pub fn optional_string(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(other) => Err(self.bad(format!("attribute {name} should be a string, found {other:?}"))),
        }
    }

    pub fn number<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.optional_number(name)?.ok_or_else(|| self.bad(format!("attribute {name} is missing")))
    }

    pub fn optional_number<T: FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(text)) => text
                .parse()
                .map(Some)
                .map_err(|_| self.bad(format!("attribute {name} = {text} is not a valid number here"))),
            Some(other) => Err(self.bad(format!("attribute {name} should be a number, found {other:?}"))),
        }
    }

    /// A list of numbers; an absent attribute is an empty list.
    pub fn number_list<T: FromStr>(&self, name: &str) -> Result<Vec<T>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .enumerate()
                .map(|(i, value)| match value {
                    AttributeValue::N(text) => text.parse().map_err(|_| {
                        self.bad(format!("attribute {name}[{i}] = {text} is not a valid number here"))
                    }),
                    other => {
                        Err(self.bad(format!("attribute {name}[{i}] should be a number, found {other:?}")))
                    }
                })
                .collect(),
            Some(other) => {
                Err(self.bad(format!("attribute {name} should be a list of numbers, found {other:?}")))
            }
        }
    }

    /// A map attribute, read as an item of its own whose errors name `key.name`.
    pub fn optional_map(&self, name: &str) -> Result<Option<ItemReader<'a>>, StoreError> {
        match self.item.get(name) {
            None => Ok(None),
            Some(AttributeValue::M(map)) => {
                Ok(Some(ItemReader { item: map, key: format!("{}.{name}", self.key) }))
            }
            Some(other) => Err(self.bad(format!("attribute {name} should be a map, found {other:?}"))),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.item.contains_key(name)
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn invalid(&self, problem: impl std::fmt::Display) -> StoreError {
        self.bad(problem.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_name_the_item_and_attribute_on_errors() {
        let item: Item = HashMap::from([
            ("task_type".to_string(), s("etl")),
            ("run_id".to_string(), s("r1")),
            ("start_ms".to_string(), s("soon")),
        ]);
        let reader = ItemReader::new(&item, &["task_type", "run_id"]);
        assert_eq!(reader.string("task_type").unwrap(), "etl");
        let error = reader.number::<i64>("start_ms").unwrap_err().to_string();
        assert!(error.contains("etl/r1") && error.contains("start_ms should be a number"), "{error}");
        let error = reader.number::<i64>("end_ms").unwrap_err().to_string();
        assert!(error.contains("end_ms is missing"), "{error}");
    }

    #[test]
    fn number_lists_read_every_element_and_name_a_bad_one_by_index() {
        let item: Item = HashMap::from([
            ("pk".to_string(), s("DAY#2025-01-30")),
            ("good".to_string(), AttributeValue::L(vec![n(5), n(7)])),
            ("bad".to_string(), AttributeValue::L(vec![n(5), s("x")])),
        ]);
        let reader = ItemReader::new(&item, &["pk"]);
        assert_eq!(reader.number_list::<u64>("good").unwrap(), vec![5, 7]);
        assert_eq!(reader.number_list::<u64>("absent").unwrap(), Vec::<u64>::new());
        let error = reader.number_list::<u64>("bad").unwrap_err().to_string();
        assert!(error.contains("DAY#2025-01-30") && error.contains("bad[1] should be a number"), "{error}");
    }

    #[test]
    fn numbers_beyond_38_digits_are_refused() {
        assert!(exact_n(10u128.pow(37), "k").is_ok());
        assert!(exact_n(u128::MAX, "k").is_err());
    }
}

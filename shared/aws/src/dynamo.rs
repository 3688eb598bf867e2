//! Small helpers shared by the DynamoDB adapters: paginated queries, batch reads and writes
//! within DynamoDB's limits with retries of what it leaves unprocessed.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{KeysAndAttributes, WriteRequest};

use crate::counters::Counters;
use crate::error::{AwsError, service};
use crate::items::Item;
use overrun_core::ports::{Listing, StoreError, StoreErrorKind};

/// BatchGetItem takes at most 100 keys a call.
pub const BATCH_GET_LIMIT: usize = 100;
/// BatchWriteItem takes at most 25 requests a call.
pub const BATCH_WRITE_LIMIT: usize = 25;
const RETRIES: u32 = 8;

/// Whether an SDK error is DynamoDB's "condition not met" (a lost claim, an existing item).
pub fn is_conditional_failure<E>(error: &SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(25 * 2u64.pow(attempt.min(6)))
}

/// Every page of a query.
pub async fn query_all(query: QueryFluentBuilder, counters: &Counters) -> Result<Vec<Item>, AwsError> {
    let mut items = Vec::new();
    let mut start_key = None;
    loop {
        counters.request();
        let page =
            query.clone().set_exclusive_start_key(start_key).send().await.map_err(|e| service("Query", e))?;
        let page_items = page.items.unwrap_or_default();
        counters.read(page_items.len());
        items.extend(page_items);
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start_key = Some(key),
            _ => return Ok(items),
        }
    }
}

/// Gets items by key, 100 keys a request, retrying unprocessed keys with backoff.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    counters: &Counters,
) -> Result<Vec<Item>, AwsError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(BATCH_GET_LIMIT) {
        let mut pending = chunk.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            counters.request();
            let request = KeysAndAttributes::builder().set_keys(Some(pending)).build()?;
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| service("BatchGetItem", e))?;
            let items = output.responses.and_then(|mut r| r.remove(table)).unwrap_or_default();
            counters.read(items.len());
            found.extend(items);
            pending =
                output.unprocessed_keys.and_then(|mut u| u.remove(table)).map(|k| k.keys).unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt > RETRIES {
                    return Err(AwsError::failed(
                        "BatchGetItem",
                        StoreErrorKind::Throttled,
                        format!("{} keys still unprocessed after {RETRIES} retries", pending.len()),
                    ));
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
    Ok(found)
}

/// Writes requests 25 a call, retrying unprocessed items with backoff.
pub async fn batch_write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
    counters: &Counters,
) -> Result<(), AwsError> {
    for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
        let mut pending = chunk.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            counters.request();
            let output = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| service("BatchWriteItem", e))?;
            pending = output.unprocessed_items.and_then(|mut u| u.remove(table)).unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt > RETRIES {
                    return Err(AwsError::failed(
                        "BatchWriteItem",
                        StoreErrorKind::Throttled,
                        format!("{} items still unprocessed after {RETRIES} retries", pending.len()),
                    ));
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
    Ok(())
}

/// Parses every item, keeping the good ones and an error for each malformed one.
pub fn parse_all<T>(items: &[Item], parse: impl Fn(&Item) -> Result<T, StoreError>) -> Listing<T> {
    let mut listing = Listing::default();
    for item in items {
        listing.push(parse(item));
    }
    listing
}

/// The outcome of a conditional write: `true` when it applied, `false` when its condition did
/// not hold (a claim someone else holds, a run that finished meanwhile).
pub fn applied<T, E>(operation: &'static str, result: Result<T, SdkError<E>>) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_conditional_failure(&error) => Ok(false),
        Err(error) => Err(service(operation, error).into()),
    }
}

pub fn item(
    pairs: impl IntoIterator<Item = (&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<HashMap<_, _>>()
}

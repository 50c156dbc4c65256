//! The item store on DynamoDB. Every read is strongly consistent (the port promises
//! read-your-writes); conditions compile to condition expressions; transactions are one
//! `TransactWriteItems`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update as DynamoUpdate,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use fittrack_platform::ports::store::key_of;
use fittrack_platform::ports::{
    Condition, Cursor, Item, ItemStore, Key, Page, Query, StoreError, Table, Update, WriteOp,
};

use crate::errors::store_error;
use crate::expression::Expression;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tables: HashMap<Table, String>,
}

impl DynamoStore {
    /// `tables` maps each logical table to its physical name.
    pub fn new(client: Client, tables: HashMap<Table, String>) -> Self {
        Self { client, tables }
    }

    fn table(&self, table: Table) -> Result<String, StoreError> {
        self.tables
            .get(&table)
            .cloned()
            .ok_or_else(|| StoreError::Invalid(format!("no physical table for {}", table.name())))
    }
}

fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
        ("sk".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn to_attrs(item: &Item) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(item).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_attrs(attrs: HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    serde_dynamo::from_item(attrs).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Cursor: base64url of the JSON object of LastEvaluatedKey (all our key attributes are strings).
fn encode_cursor(key: HashMap<String, AttributeValue>) -> Option<Cursor> {
    let plain: HashMap<String, String> =
        key.into_iter().filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.clone()))).collect();
    serde_json::to_vec(&plain).ok().map(|json| Cursor(URL_SAFE_NO_PAD.encode(json)))
}

fn decode_cursor(cursor: &Cursor) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let json = URL_SAFE_NO_PAD.decode(&cursor.0).map_err(|_| StoreError::InvalidCursor)?;
    let plain: HashMap<String, String> = serde_json::from_slice(&json).map_err(|_| StoreError::InvalidCursor)?;
    Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

/// Compiles one transaction operation.
fn transact_item(store: &DynamoStore, op: &WriteOp) -> Result<TransactWriteItem, StoreError> {
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
    let mut expr = Expression::default();
    let item = match op {
        WriteOp::Put { table, item, condition } => {
            let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
            let put = Put::builder()
                .table_name(store.table(*table)?)
                .set_item(Some(to_attrs(item)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(invalid)?;
            TransactWriteItem::builder().put(put).build()
        }
        WriteOp::Update { table, key, update, condition } => {
            let update_expr = expr.update(update)?;
            let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
            let update = DynamoUpdate::builder()
                .table_name(store.table(*table)?)
                .set_key(Some(key_attrs(key)))
                .update_expression(update_expr)
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(invalid)?;
            TransactWriteItem::builder().update(update).build()
        }
        WriteOp::Delete { table, key, condition } => {
            let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
            let delete = Delete::builder()
                .table_name(store.table(*table)?)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(invalid)?;
            TransactWriteItem::builder().delete(delete).build()
        }
        WriteOp::Check { table, key, condition } => {
            let condition = expr.condition(condition)?;
            let check = ConditionCheck::builder()
                .table_name(store.table(*table)?)
                .set_key(Some(key_attrs(key)))
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(invalid)?;
            TransactWriteItem::builder().condition_check(check).build()
        }
    };
    Ok(item)
}

#[async_trait]
impl ItemStore for DynamoStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(self.table(table)?)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        out.item.map(from_attrs).transpose()
    }

    async fn put(&self, table: Table, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        key_of(&item)?;
        let mut expr = Expression::default();
        let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        self.client
            .put_item()
            .table_name(self.table(table)?)
            .set_item(Some(to_attrs(&item)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn update(
        &self,
        table: Table,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let mut expr = Expression::default();
        let update_expr = expr.update(&update)?;
        let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        let out = self
            .client
            .update_item()
            .table_name(self.table(table)?)
            .set_key(Some(key_attrs(key)))
            .update_expression(update_expr)
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(store_error)?;
        from_attrs(out.attributes.unwrap_or_default())
    }

    async fn delete(&self, table: Table, key: &Key, condition: Option<Condition>) -> Result<(), StoreError> {
        let mut expr = Expression::default();
        let condition = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        self.client
            .delete_item()
            .table_name(self.table(table)?)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.validate()?;
        let mut expr = Expression::default();
        let (partition_attr, sort_attr) = match query.index {
            None => ("pk", "sk"),
            Some(index) => (index.partition_attr(), index.sort_attr()),
        };
        let mut key_condition =
            format!("{} = {}", expr.name(partition_attr), expr.value(&query.partition.clone().into())?);
        if let Some(bound) = &query.sort_below {
            key_condition.push_str(&format!(" AND {} < {}", expr.name(sort_attr), expr.value(&bound.clone().into())?));
        }
        if let Some(bound) = &query.sort_from {
            key_condition.push_str(&format!(" AND {} >= {}", expr.name(sort_attr), expr.value(&bound.clone().into())?));
        }
        if let Some(prefix) = &query.sort_prefix {
            key_condition.push_str(&format!(
                " AND begins_with({}, {})",
                expr.name(sort_attr),
                expr.value(&prefix.clone().into())?
            ));
        }
        let out = self
            .client
            .query()
            .table_name(self.table(query.table)?)
            .set_index_name(query.index.map(|i| i.name().to_owned()))
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .scan_index_forward(query.ascending)
            .limit(i32::try_from(query.limit.max(1)).unwrap_or(i32::MAX))
            // Index reads cannot be strongly consistent; the base table's can.
            .consistent_read(query.index.is_none())
            .set_exclusive_start_key(query.cursor.as_ref().map(decode_cursor).transpose()?)
            .send()
            .await
            .map_err(store_error)?;
        let items = out.items.unwrap_or_default().into_iter().map(from_attrs).collect::<Result<_, _>>()?;
        Ok(Page { items, next: out.last_evaluated_key.and_then(encode_cursor) })
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        WriteOp::validate_transaction(&ops)?;
        let items = ops.iter().map(|op| transact_item(self, op)).collect::<Result<Vec<_>, _>>()?;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled.cancellation_reasons();
                    let failed: Vec<usize> = reasons
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                        .map(|(i, _)| i)
                        .collect();
                    if failed.is_empty() {
                        Err(StoreError::Contention)
                    } else {
                        Err(StoreError::TransactionCancelled { failed })
                    }
                }
                other => match other.code() {
                    Some("TransactionConflictException") => Err(StoreError::Contention),
                    Some("ValidationException") => {
                        Err(StoreError::Invalid(other.message().unwrap_or_default().to_owned()))
                    }
                    code => Err(StoreError::Unavailable(format!(
                        "{}: {}",
                        code.unwrap_or("unknown"),
                        other.message().unwrap_or_default()
                    ))),
                },
            },
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // A point read of a key that never exists: the cheapest call the function may already make.
        self.get(Table::Users, &Key::new("HEALTH", "HEALTH")).await.map(|_| ())
    }
}

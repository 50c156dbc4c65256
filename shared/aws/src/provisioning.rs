//! Creates the tables, queues and SES identity that `template.yaml` declares, for local runs and
//! the emulator tests. Table keys and indexes are read from the template itself, so the deployed
//! stack and every test environment cannot drift apart.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

use fittrack_platform::ports::Table;

/// The SAM template, compiled in.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ProvisioningError {
    #[error("template.yaml: {0}")]
    Template(String),
    #[error("AWS: {0}")]
    Aws(String),
}

fn aws<E: std::error::Error + 'static>(e: E) -> ProvisioningError {
    ProvisioningError::Aws(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexDef>,
    #[serde(default)]
    pub time_to_live_specification: Option<TtlDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlDef {
    pub attribute_name: String,
    pub enabled: bool,
}

/// The logical id of each table's resource in the template.
pub fn logical_id(table: Table) -> &'static str {
    match table {
        Table::Users => "UsersTable",
        Table::Points => "PointsTable",
        Table::Tickets => "TicketsTable",
        Table::Leaderboards => "LeaderboardsTable",
        Table::Audit => "AuditTable",
    }
}

/// Reads the definition of every table from the template.
pub fn table_definitions() -> Result<HashMap<Table, TableDefinition>, ProvisioningError> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(TEMPLATE).map_err(|e| ProvisioningError::Template(e.to_string()))?;
    Table::ALL
        .into_iter()
        .map(|table| {
            let id = logical_id(table);
            let properties = doc
                .get("Resources")
                .and_then(|r| r.get(id))
                .filter(|r| r.get("Type").and_then(|t| t.as_str()) == Some("AWS::DynamoDB::Table"))
                .and_then(|r| r.get("Properties"))
                .ok_or_else(|| ProvisioningError::Template(format!("no DynamoDB table resource {id}")))?;
            let definition = serde_yaml_ng::from_value(properties.clone())
                .map_err(|e| ProvisioningError::Template(format!("{id}: {e}")))?;
            Ok((table, definition))
        })
        .collect()
}

fn key_schema(keys: &[KeyDef]) -> Result<Vec<KeySchemaElement>, ProvisioningError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(aws)
        })
        .collect()
}

/// Creates each table that does not exist yet, with its indexes and TTL.
pub async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    names: &HashMap<Table, String>,
) -> Result<(), ProvisioningError> {
    for (table, definition) in table_definitions()? {
        let Some(name) = names.get(&table) else { continue };
        let exists = client.describe_table().table_name(name).send().await.is_ok();
        if exists {
            continue;
        }
        let attributes = definition
            .attribute_definitions
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(aws)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let indexes = definition
            .global_secondary_indexes
            .iter()
            .map(|i| {
                GlobalSecondaryIndex::builder()
                    .index_name(&i.index_name)
                    .set_key_schema(Some(key_schema(&i.key_schema)?))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(aws)
            })
            .collect::<Result<Vec<_>, _>>()?;
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attributes))
            .set_key_schema(Some(key_schema(&definition.key_schema)?))
            .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
            .send()
            .await
            .map_err(aws)?;
        if let Some(ttl) = definition.time_to_live_specification.filter(|t| t.enabled) {
            let spec = TimeToLiveSpecification::builder()
                .attribute_name(ttl.attribute_name)
                .enabled(true)
                .build()
                .map_err(aws)?;
            client.update_time_to_live().table_name(name).time_to_live_specification(spec).send().await.map_err(aws)?;
        }
        tracing::info!(table = name.as_str(), "created table");
    }
    Ok(())
}

/// Creates a queue (with a dead-letter queue after `max_receives`) and returns its URL.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    max_receives: u32,
    visibility_timeout_secs: u32,
) -> Result<String, ProvisioningError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq = client.create_queue().queue_name(format!("{name}-dlq")).send().await.map_err(aws)?;
    let dlq_url = dlq.queue_url.ok_or_else(|| ProvisioningError::Aws("no DLQ URL".into()))?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws)?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| ProvisioningError::Aws("no DLQ ARN".into()))?;
    let redrive =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()}).to_string();
    let queue = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, visibility_timeout_secs.to_string())
        .send()
        .await
        .map_err(aws)?;
    queue.queue_url.ok_or_else(|| ProvisioningError::Aws("no queue URL".into()))
}

/// Registers the sender with SES (verified at once on the emulator; on AWS it needs DNS records).
#[cfg(feature = "ses")]
pub async fn create_email_identity(client: &aws_sdk_sesv2::Client, address: &str) -> Result<(), ProvisioningError> {
    match client.create_email_identity().email_identity(address).send().await {
        Ok(_) => Ok(()),
        Err(e) if aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e) == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(aws(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_defined_in_the_template_with_its_index() {
        let definitions = table_definitions().unwrap();
        for table in Table::ALL {
            let d = &definitions[&table];
            assert_eq!(d.key_schema.iter().map(|k| k.attribute_name.as_str()).collect::<Vec<_>>(), ["pk", "sk"]);
            let indexes: Vec<&str> = d.global_secondary_indexes.iter().map(|i| i.index_name.as_str()).collect();
            // The leaderboards are read by key and sort order alone: an index would only cost writes.
            let expected: &[&str] = if table == Table::Leaderboards { &[] } else { &["gsi1"] };
            assert_eq!(indexes, expected, "{}", table.name());
        }
        assert!(definitions[&Table::Leaderboards].time_to_live_specification.as_ref().is_some_and(|t| t.enabled));
        assert_eq!(
            definitions[&Table::Users].time_to_live_specification.as_ref().unwrap().attribute_name,
            "expires_at"
        );
    }
}

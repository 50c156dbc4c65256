//! The connection items in the users table: a connection (under its user's partition, indexed by
//! when it is next due), the index item that maps a provider's user id back to ours, and their key
//! builders.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use fittrack_domain::UserId;

use fittrack_platform::keys::user_partition;
use fittrack_platform::ports::{Key, Table};
use fittrack_platform::records::Record;

/// The sort-key prefix of a user's connections, in the user's partition.
pub(crate) const CONNECTION_PREFIX: &str = "CONN#";
/// The partition prefix of the items mapping a provider's user id to ours.
const PROVIDER_USER_PREFIX: &str = "TRACKERUSER#";
/// The sort key of the items mapping a provider's user id to ours.
const PROVIDER_USER_SORT_KEY: &str = "TRACKERUSER";
/// The due-index partition prefix; the shard follows.
pub(crate) const DUE_PREFIX: &str = "SYNCDUE#";

/// Due connections are spread over this many index partitions.
pub(crate) const SHARDS: u32 = 8;

/// Whether a connection is being synced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Synced on schedule and on the provider's webhooks.
    #[default]
    Active,
    /// The provider refused our tokens and the refresh: only the user can reconnect it.
    ReauthorizationRequired,
}

/// A user's connection to one tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Connection {
    /// The tracker, e.g. `strava`.
    pub provider: String,
    #[serde(default)]
    #[schema(required = true)]
    pub status: ConnectionStatus,
    /// When the tracker was first connected (kept across reconnections).
    pub connected_at: DateTime<Utc>,
    /// When the last successful sync ran (activities are read up to then); `null` before the first.
    #[schema(required = true)]
    pub last_synced_to: Option<DateTime<Utc>>,
    /// Why the last sync failed; `null` once a sync succeeds.
    #[schema(required = true)]
    pub last_error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ConnectionItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    pub(crate) user_id: UserId,
    #[serde(flatten)]
    pub(crate) connection: Connection,
    /// The provider grant, sealed (see `tokens`); absent for trackers without OAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tokens: Option<String>,
    /// When a webhook last moved the next sync forward (epoch seconds), and how many times it did
    /// on `webhook_day` (the UTC date): kept across the worker's rewrites of the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) webhook_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) webhook_day: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) webhook_count: Option<u32>,
    /// The due-index keys; absent while the connection waits for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gsi1sk: Option<String>,
}

impl Record for ConnectionItem {
    const TABLE: Table = Table::Users;

    fn key(&self) -> Key {
        Key::new(self.pk.clone(), self.sk.clone())
    }
}

/// The attributes of a connection item that conditions and updates name.
impl ConnectionItem {
    pub(crate) const DUE_SORT_KEY: &'static str = "gsi1sk";
    pub(crate) const TOKENS: &'static str = "tokens";
    pub(crate) const WEBHOOK_AT: &'static str = "webhook_at";
    pub(crate) const WEBHOOK_DAY: &'static str = "webhook_day";
    pub(crate) const WEBHOOK_COUNT: &'static str = "webhook_count";
}

/// Maps a provider's user id (as webhooks name the user) to ours.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ProviderUserItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    pub(crate) user_id: UserId,
}

pub(crate) fn connection_key(user: UserId, provider: &str) -> Key {
    Key::new(user_partition(user), format!("{CONNECTION_PREFIX}{provider}"))
}

pub(crate) fn provider_user_key(provider: &str, provider_user_id: &str) -> Key {
    Key::new(format!("{PROVIDER_USER_PREFIX}{provider}#{provider_user_id}"), PROVIDER_USER_SORT_KEY)
}

pub(crate) fn shard_of(user: UserId) -> u32 {
    user.to_string().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % SHARDS
}

pub(crate) fn due_sort_key(due: DateTime<Utc>, user: UserId, provider: &str) -> String {
    format!("{:012}#{user}#{provider}", due.timestamp().max(0))
}

/// The configured interval; one too long for chrono (centuries) falls back to the default.
pub(crate) fn sync_interval(configured: Duration) -> chrono::Duration {
    chrono::Duration::from_std(configured).unwrap_or(chrono::Duration::minutes(15))
}

/// The due time a sort key holds.
pub(crate) fn due_of(sort_key: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(sort_key.split('#').next()?.parse().ok()?, 0)
}

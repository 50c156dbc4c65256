//! Typed helpers per capability on [`TestApp`]: `app.accounts()`, `app.points()` and
//! `app.connections()` send the real request, assert the status a success answers with (with the
//! body in the message when it is another), and read the answer into a type that mirrors the API
//! document.

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use fittrack_domain::points::EntryKind;
use fittrack_domain::profile::Units;
use fittrack_domain::{FitnessLevel, Role, Sex, UsState, UserId};
use fittrack_sync::ConnectionStatus;

use crate::server::{TestApp, unique_ip};

impl TestApp {
    /// Signing in and the caller's account.
    pub fn accounts(&self) -> AccountsClient<'_> {
        AccountsClient { app: self }
    }

    /// Device uploads, the balance, the ledger and the activity totals.
    pub fn points(&self) -> PointsClient<'_> {
        PointsClient { app: self }
    }

    /// Tracker connections.
    pub fn connections(&self) -> ConnectionsClient<'_> {
        ConnectionsClient { app: self }
    }
}

/// Reads an answer that must have the status `expected` into `T`; panics naming the request,
/// the status and the body otherwise.
async fn answer<T: DeserializeOwned>(request: &str, response: reqwest::Response, expected: StatusCode) -> T {
    let status = response.status();
    let body = response.text().await.unwrap_or_else(|e| panic!("{request}: the body cannot be read: {e}"));
    assert_eq!(status, expected, "{request} answered {status}, not {expected}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| {
        panic!("{request}: the answer does not read as {}: {e}: {body}", std::any::type_name::<T>())
    })
}

/// `GET path` with the bearer token, answered 200.
async fn get_ok<T: DeserializeOwned>(app: &TestApp, path: &str, token: &str) -> T {
    answer(&format!("GET {path}"), app.get_auth(path, token).await, StatusCode::OK).await
}

/// `POST path` with the bearer token and no body, answered `expected`.
async fn post_empty<T: DeserializeOwned>(app: &TestApp, path: &str, token: &str, expected: StatusCode) -> T {
    let response = app.http.post(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    answer(&format!("POST {path}"), response, expected).await
}

/// `/api/v1/auth/login` and `/api/v1/users/me`.
#[derive(Clone, Copy)]
pub struct AccountsClient<'a> {
    app: &'a TestApp,
}

impl AccountsClient<'_> {
    /// Signs in (200), from an address of its own so no per-address limit of another call applies.
    pub async fn sign_in(&self, email: &str, password: &str) -> Tokens {
        const PATH: &str = "/api/v1/auth/login";
        let response = self.app.post(PATH, json!({"email": email, "password": password}), &unique_ip()).await;
        answer(&format!("POST {PATH}"), response, StatusCode::OK).await
    }

    /// The caller's account (200).
    pub async fn me(&self, token: &str) -> Me {
        get_ok(self.app, "/api/v1/users/me", token).await
    }
}

/// A session's tokens (`TokenPair`).
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

/// The caller's account (`Account`).
#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub state: Option<UsState>,
    pub role: Role,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
    pub profile: Profile,
    /// `None` until the profile is complete.
    pub tier: Option<Tier>,
}

/// Profile settings with their defaults filled in (`ProfileView`).
#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    /// Whether the profile places the user in a tier.
    pub complete: bool,
    pub sex: Option<Sex>,
    pub fitness_level: Option<FitnessLevel>,
    pub time_zone: String,
    pub units: Units,
    pub public_profile: bool,
}

/// A competition tier (`TierView`).
#[derive(Debug, Clone, Deserialize)]
pub struct Tier {
    pub code: String,
    pub name: String,
}

/// `/api/v1/ingest/batches`, `/api/v1/points/*` and `/api/v1/activities/summary`.
#[derive(Clone, Copy)]
pub struct PointsClient<'a> {
    app: &'a TestApp,
}

const INGEST: &str = "/api/v1/ingest/batches";

impl PointsClient<'_> {
    /// Uploads a new batch of device records (201).
    pub async fn upload(&self, token: &str, batch: &Value) -> IngestReceipt {
        answer(&format!("POST {INGEST}"), self.send_upload(token, batch).await, StatusCode::CREATED).await
    }

    /// Uploads a batch and gives back only the status, for answers other than a new batch's.
    pub async fn upload_status(&self, token: &str, batch: &Value) -> StatusCode {
        self.send_upload(token, batch).await.status()
    }

    async fn send_upload(&self, token: &str, batch: &Value) -> reqwest::Response {
        self.app.http.post(format!("{}{INGEST}", self.app.base)).bearer_auth(token).json(batch).send().await.unwrap()
    }

    /// The caller's balance (200).
    pub async fn balance(&self, token: &str) -> Balance {
        get_ok(self.app, "/api/v1/points/balance", token).await
    }

    /// The first page of the caller's ledger, `limit` entries at most, newest first (200).
    pub async fn transactions(&self, token: &str, limit: u32) -> Page<LedgerEntry> {
        get_ok(self.app, &format!("/api/v1/points/transactions?limit={limit}"), token).await
    }

    /// The caller's activity totals: today, the last 7 days and the month so far (200).
    pub async fn summary(&self, token: &str) -> Summary {
        get_ok(self.app, "/api/v1/activities/summary", token).await
    }
}

/// What an upload did (`IngestReceipt`).
#[derive(Debug, Clone, Deserialize)]
pub struct IngestReceipt {
    pub batch_id: String,
    pub records: usize,
    pub points_booked: i64,
    pub points_held: i64,
    pub duplicate: bool,
}

/// The caller's points (`PointsBalance`).
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    pub balance: i64,
    pub held: i64,
    pub under_review: bool,
    pub lifetime_earned: i64,
}

/// One change of the balance (`LedgerEntryView`).
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerEntry {
    pub seq: u64,
    pub kind: EntryKind,
    pub amount: i64,
    pub balance_after: i64,
    pub held_amount: i64,
    pub held_after: i64,
    pub cause: String,
    pub created_at: DateTime<Utc>,
}

/// Totals of today, the last 7 days and the month so far (`ActivitySummary`).
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    pub today: PeriodTotals,
    pub week: PeriodTotals,
    pub month: PeriodTotals,
}

/// Totals over a span of competition days (`PeriodSummary`).
#[derive(Debug, Clone, Deserialize)]
pub struct PeriodTotals {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub steps: u64,
    pub active_minutes: u64,
    pub workouts: u64,
    pub points: i64,
}

/// One page of a list.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub pagination: PageInfo,
}

/// Where a page stands in its list.
#[derive(Debug, Clone, Deserialize)]
pub struct PageInfo {
    pub limit: u32,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// `/api/v1/connections*`.
#[derive(Clone, Copy)]
pub struct ConnectionsClient<'a> {
    app: &'a TestApp,
}

impl ConnectionsClient<'_> {
    /// The caller's connections and the trackers offered (200).
    pub async fn list(&self, token: &str) -> ConnectionList {
        get_ok(self.app, "/api/v1/connections", token).await
    }

    /// Connects the simulated tracker, which needs no authorization (201).
    pub async fn connect_simulated(&self, token: &str) -> Connected {
        post_empty(self.app, "/api/v1/connections/simulated/initiate", token, StatusCode::CREATED).await
    }

    /// Queues a sync of the caller's connection to `provider` (202).
    pub async fn sync_now(&self, token: &str, provider: &str) -> SyncQueued {
        post_empty(self.app, &format!("/api/v1/connections/{provider}/sync"), token, StatusCode::ACCEPTED).await
    }
}

/// The caller's connections, and the trackers this deployment offers (`ConnectionList`).
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionList {
    pub items: Vec<Connection>,
    pub available: Vec<String>,
}

/// A user's connection to one tracker (`Connection`).
#[derive(Debug, Clone, Deserialize)]
pub struct Connection {
    pub provider: String,
    pub status: ConnectionStatus,
    pub connected_at: DateTime<Utc>,
    pub last_synced_to: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// A tracker connected at once (`ConnectStart` with `status: connected`).
#[derive(Debug, Clone, Deserialize)]
pub struct Connected {
    /// Always `connected`.
    pub status: String,
    pub connection: Connection,
}

/// A manual sync was accepted (`SyncQueued`).
#[derive(Debug, Clone, Deserialize)]
pub struct SyncQueued {
    /// Always `queued`.
    pub status: String,
}

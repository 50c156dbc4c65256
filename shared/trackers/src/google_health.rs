//! The Google Health API (`health.googleapis.com/v4beta`), successor of the Fitbit Web API and
//! Google Fit REST.
//!
//! Reads three data types with `users/me/dataTypes/{type}/dataPoints` (AIP-160 time filter,
//! `nextPageToken` paging): `steps` and `active-minutes` are folded into one record per UTC hour
//! (their intervals differ and overlap, and one record per hour keeps de-duplication exact), and
//! each `exercise` session becomes a workout record. Exercise records carry no minutes: the
//! active-minutes stream already counts them, and counting both would pay twice.
//!
//! Webhooks name the user by `healthUserId`, which the connection learns once from
//! `users/me/identity`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::Deserialize;

use fittrack_domain::UserId;
use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes};
use fittrack_platform::config::OAuthClientConfig;
use fittrack_platform::ports::{AuthorizationRequest, OAuthFlow, ProviderTokens, TrackerError, TrackerProvider};
use secrecy::ExposeSecret;

use crate::http::{check, json};
use crate::oauth::{OAuthClient, OAuthConfigError};

pub const NAME: &str = "google_health";
const SCOPE: &str = "https://www.googleapis.com/auth/googlehealth.activity_and_fitness.readonly";
/// Pages per data type and sync: a week of minute-level steps is ~10k points; beyond this the
/// rest waits for the next sync (the window overlaps) rather than hold the worker.
const MAX_PAGES: usize = 50;

pub struct GoogleHealth {
    oauth: OAuthClient,
    revoke_url: String,
    api_url: String,
    http: reqwest::Client,
}

impl GoogleHealth {
    pub fn new(config: &OAuthClientConfig, http: reqwest::Client) -> Result<Self, OAuthConfigError> {
        // Offline access and a consent prompt are what make Google issue a refresh token.
        let extra = vec![("access_type", "offline"), ("prompt", "consent")];
        Ok(Self {
            oauth: OAuthClient::new(config, vec![SCOPE.to_owned()], extra, http.clone())?,
            revoke_url: config.revoke_url.clone(),
            api_url: config.api_url.clone(),
            http,
        })
    }

    async fn list<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        data_type: &str,
        filter_field: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<T>, TrackerError> {
        let url = format!("{}/users/me/dataTypes/{data_type}/dataPoints", self.api_url);
        let filter = format!(
            "{filter_field}.interval.start_time >= \"{}\" AND {filter_field}.interval.start_time < \"{}\"",
            from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        let mut points = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("filter", filter.clone())];
            if let Some(next) = &page_token {
                query.push(("pageToken", next.clone()));
            }
            let response = check(self.http.get(&url).bearer_auth(token).query(&query).send().await).await?;
            let page: Page<T> = json(response).await?;
            points.extend(page.data_points);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => page_token = Some(next),
                None => break,
            }
        }
        Ok(points)
    }

    async fn health_user_id(&self, token: &str) -> Result<String, TrackerError> {
        let url = format!("{}/users/me/identity", self.api_url);
        let response = check(self.http.get(&url).bearer_auth(token).send().await).await?;
        let identity: Identity = json(response).await?;
        Ok(identity.health_user_id)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data_points: Vec<T>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    health_user_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Interval {
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
}

#[derive(Deserialize)]
struct StepsPoint {
    steps: Steps,
}

#[derive(Deserialize)]
struct Steps {
    interval: Interval,
    /// int64 travels as a JSON string.
    count: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActiveMinutesPoint {
    active_minutes: ActiveMinutes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActiveMinutes {
    interval: Interval,
    #[serde(default)]
    active_minutes_by_activity_level: Vec<LevelMinutes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LevelMinutes {
    activity_level: String,
    active_minutes: String,
}

#[derive(Deserialize)]
struct ExercisePoint {
    name: Option<String>,
    exercise: Exercise,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Exercise {
    interval: Interval,
    #[serde(default)]
    exercise_type: String,
}

fn count(raw: &str) -> Result<u32, TrackerError> {
    raw.parse::<u64>()
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .map_err(|_| TrackerError::Protocol(format!("count `{raw}` is not a number")))
}

fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

fn exercise_kind(exercise_type: &str) -> ActivityKind {
    match exercise_type {
        "RUNNING" | "TREADMILL_RUNNING" | "TRAIL_RUNNING" => ActivityKind::Run,
        "WALKING" | "HIKING" | "TREADMILL_WALKING" => ActivityKind::Walk,
        "BIKING" | "CYCLING" | "STATIONARY_BIKING" | "MOUNTAIN_BIKING" => ActivityKind::Cycle,
        "SWIMMING" | "SWIMMING_POOL" | "SWIMMING_OPEN_WATER" => ActivityKind::Swim,
        "WEIGHTLIFTING" | "STRENGTH_TRAINING" | "WEIGHTS" => ActivityKind::Strength,
        _ => ActivityKind::Other,
    }
}

/// Folds step and active-minute points into one record per UTC hour, keyed by the hour, so a
/// re-fetch of the same hour replaces the record (a partial hour is completed later).
fn hourly(
    steps: Vec<StepsPoint>,
    minutes: Vec<ActiveMinutesPoint>,
    now: DateTime<Utc>,
) -> Result<Vec<Activity>, TrackerError> {
    let mut hours: BTreeMap<DateTime<Utc>, (u32, IntensityMinutes)> = BTreeMap::new();
    for point in steps {
        let entry = hours.entry(hour_of(point.steps.interval.start_time)).or_default();
        entry.0 = entry.0.saturating_add(count(&point.steps.count)?);
    }
    for point in minutes {
        let entry = hours.entry(hour_of(point.active_minutes.interval.start_time)).or_default();
        for level in point.active_minutes.active_minutes_by_activity_level {
            let n = count(&level.active_minutes)?;
            let slot = match level.activity_level.as_str() {
                "LIGHT" => &mut entry.1.light,
                "MODERATE" => &mut entry.1.moderate,
                "VIGOROUS" => &mut entry.1.vigorous,
                _ => continue,
            };
            *slot = slot.saturating_add(n);
        }
    }
    Ok(hours
        .into_iter()
        .filter(|(_, (steps, m))| *steps > 0 || m.light + m.moderate + m.vigorous > 0)
        .filter_map(|(hour, (steps, minutes))| {
            Some(Activity {
                source: NAME.into(),
                source_id: format!("hour:{}", hour.timestamp()),
                kind: ActivityKind::Steps,
                start: hour,
                end: hour.checked_add_signed(TimeDelta::hours(1))?,
                steps,
                minutes,
                workout: false,
                received_at: now,
            })
        })
        .collect())
}

fn exercises(points: Vec<ExercisePoint>, now: DateTime<Utc>) -> Vec<Activity> {
    points
        .into_iter()
        .filter(|p| p.exercise.interval.end_time > p.exercise.interval.start_time)
        .map(|p| {
            let interval = &p.exercise.interval;
            Activity {
                source: NAME.into(),
                source_id: p.name.unwrap_or_else(|| format!("exercise:{}", interval.start_time.timestamp())),
                kind: exercise_kind(&p.exercise.exercise_type),
                start: interval.start_time,
                end: interval.end_time,
                steps: 0,
                minutes: IntensityMinutes::default(),
                workout: true,
                received_at: now,
            }
        })
        .collect()
}

#[async_trait]
impl OAuthFlow for GoogleHealth {
    fn authorize(&self, redirect_uri: &str) -> AuthorizationRequest {
        self.oauth.authorize(redirect_uri)
    }

    async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &str,
    ) -> Result<ProviderTokens, TrackerError> {
        let mut tokens = self.oauth.exchange_code(code, pkce_verifier, redirect_uri).await?;
        tokens.provider_user_id = Some(self.health_user_id(tokens.access_token.expose_secret()).await?);
        Ok(tokens)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<ProviderTokens, TrackerError> {
        self.oauth.refresh(refresh_token).await
    }

    /// Google's revocation endpoint (RFC 7009 style): revoking the refresh token ends the grant.
    async fn revoke(&self, tokens: &ProviderTokens) -> Result<(), TrackerError> {
        let token = tokens.refresh_token.as_ref().unwrap_or(&tokens.access_token);
        let response = self.http.post(&self.revoke_url).form(&[("token", token.expose_secret())]).send().await;
        match check(response).await {
            Ok(_) => Ok(()),
            // 400 `invalid_token`: already revoked or expired; either way the grant is gone.
            Err(TrackerError::Protocol(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl TrackerProvider for GoogleHealth {
    fn name(&self) -> &'static str {
        NAME
    }

    fn oauth(&self) -> Option<&dyn OAuthFlow> {
        Some(self)
    }

    async fn fetch(
        &self,
        access_token: Option<&str>,
        _user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Activity>, TrackerError> {
        let token = access_token.ok_or(TrackerError::Unauthorized)?;
        // Whole hours only: a bucket fetched half would replace the full one.
        let from = hour_of(from);
        let steps = self.list(token, "steps", "steps", from, to).await?;
        let minutes = self.list(token, "active-minutes", "active_minutes", from, to).await?;
        let sessions = self.list(token, "exercise", "exercise", from, to).await?;
        let now = Utc::now();
        let mut records = hourly(steps, minutes, now)?;
        records.extend(exercises(sessions, now));
        Ok(records)
    }
}

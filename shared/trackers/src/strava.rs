//! Strava (`www.strava.com/api/v3`): OAuth 2.0 with the athlete named in the token response,
//! `GET /athlete/activities` paged by `page`/`per_page` within `after`/`before`, deauthorization
//! at `/oauth/deauthorize`, and push subscriptions (see the webhook route).
//!
//! Strava records workouts, not all-day steps: each activity is a workout record, its moving
//! time counted as active minutes at an intensity that follows the sport.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;

use fittrack_domain::UserId;
use fittrack_domain::activity::{Activity, ActivityKind, IntensityMinutes};
use fittrack_platform::config::OAuthClientConfig;
use fittrack_platform::ports::{AuthorizationRequest, OAuthFlow, ProviderTokens, TrackerError, TrackerProvider};

use crate::http::{check, json};
use crate::oauth::{OAuthClient, OAuthConfigError};

pub const NAME: &str = "strava";
/// Strava joins scopes with commas, in one parameter.
const SCOPE: &str = "read,activity:read_all";
const PER_PAGE: usize = 100;
const MAX_PAGES: usize = 20;

pub struct Strava {
    oauth: OAuthClient,
    revoke_url: String,
    api_url: String,
    http: reqwest::Client,
}

impl Strava {
    pub fn new(config: &OAuthClientConfig, http: reqwest::Client) -> Result<Self, OAuthConfigError> {
        let extra = vec![("approval_prompt", "auto")];
        Ok(Self {
            oauth: OAuthClient::new(config, vec![SCOPE.to_owned()], extra, http.clone())?,
            revoke_url: config.revoke_url.clone(),
            api_url: config.api_url.clone(),
            http,
        })
    }
}

/// The fields of Strava's `SummaryActivity` we use.
#[derive(Deserialize)]
struct SummaryActivity {
    id: u64,
    #[serde(default)]
    sport_type: Option<String>,
    /// The older field, still sent; used when `sport_type` is missing.
    #[serde(default, rename = "type")]
    activity_type: Option<String>,
    start_date: DateTime<Utc>,
    /// Seconds.
    elapsed_time: i64,
    #[serde(default)]
    moving_time: i64,
}

fn kind(sport: &str) -> ActivityKind {
    match sport {
        "Run" | "TrailRun" | "VirtualRun" => ActivityKind::Run,
        "Walk" | "Hike" => ActivityKind::Walk,
        "Ride" | "VirtualRide" | "EBikeRide" | "MountainBikeRide" | "GravelRide" | "EMountainBikeRide" => {
            ActivityKind::Cycle
        }
        "Swim" => ActivityKind::Swim,
        "WeightTraining" | "Crossfit" => ActivityKind::Strength,
        _ => ActivityKind::Other,
    }
}

fn normalise(activity: SummaryActivity, now: DateTime<Utc>) -> Option<Activity> {
    if activity.elapsed_time <= 0 {
        return None;
    }
    let sport = activity.sport_type.or(activity.activity_type).unwrap_or_default();
    let kind = kind(&sport);
    let minutes = u32::try_from(activity.moving_time.max(0) / 60).unwrap_or(0);
    let intensity = match kind {
        ActivityKind::Run | ActivityKind::Swim => IntensityMinutes { vigorous: minutes, ..Default::default() },
        ActivityKind::Walk => IntensityMinutes { light: minutes, ..Default::default() },
        _ => IntensityMinutes { moderate: minutes, ..Default::default() },
    };
    // Provider data: a duration out of chrono's range is dropped, not a panic.
    let end = activity.start_date.checked_add_signed(TimeDelta::try_seconds(activity.elapsed_time)?)?;
    Some(Activity {
        source: NAME.into(),
        source_id: activity.id.to_string(),
        kind,
        start: activity.start_date,
        end,
        steps: 0,
        minutes: intensity,
        workout: true,
        received_at: now,
    })
}

#[async_trait]
impl OAuthFlow for Strava {
    fn authorize(&self, redirect_uri: &str) -> AuthorizationRequest {
        self.oauth.authorize(redirect_uri)
    }

    async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &str,
    ) -> Result<ProviderTokens, TrackerError> {
        let tokens = self.oauth.exchange_code(code, pkce_verifier, redirect_uri).await?;
        if tokens.provider_user_id.is_none() {
            return Err(TrackerError::Protocol("token response names no athlete".into()));
        }
        Ok(tokens)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<ProviderTokens, TrackerError> {
        self.oauth.refresh(refresh_token).await
    }

    async fn revoke(&self, tokens: &ProviderTokens) -> Result<(), TrackerError> {
        let response = self.http.post(&self.revoke_url).bearer_auth(tokens.access_token.expose_secret()).send().await;
        check(response).await.map(|_| ())
    }
}

#[async_trait]
impl TrackerProvider for Strava {
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
        let url = format!("{}/athlete/activities", self.api_url);
        let now = Utc::now();
        let mut records = Vec::new();
        for page in 1..=MAX_PAGES {
            let query = [
                ("after", from.timestamp().to_string()),
                ("before", to.timestamp().to_string()),
                ("page", page.to_string()),
                ("per_page", PER_PAGE.to_string()),
            ];
            let response = check(self.http.get(&url).bearer_auth(token).query(&query).send().await).await?;
            let batch: Vec<SummaryActivity> = json(response).await?;
            let last_page = batch.len() < PER_PAGE;
            records.extend(batch.into_iter().filter_map(|a| normalise(a, now)));
            if last_page {
                break;
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(start: &str, elapsed_time: i64) -> SummaryActivity {
        serde_json::from_value(serde_json::json!({"id": 7, "sport_type": "Run", "start_date": start,
            "elapsed_time": elapsed_time, "moving_time": 600}))
        .unwrap()
    }

    #[test]
    fn durations_out_of_range_are_dropped_not_a_panic() {
        let now = Utc::now();
        assert!(normalise(activity("2026-11-20T10:00:00Z", 1_800), now).is_some());
        for (start, elapsed) in [
            ("2026-11-20T10:00:00Z", i64::MAX),
            ("2026-11-20T10:00:00Z", i64::MAX / 1_000 + 1),
            ("+262142-12-31T23:00:00Z", 7_200),
        ] {
            assert!(normalise(activity(start, elapsed), now).is_none(), "{start} + {elapsed}s");
        }
    }
}

//! The Google Health and Strava adapters on their own, against the local fakes: paging, the
//! provider status codes as port errors, and the token flow.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use secrecy::ExposeSecret;

use fittrack_domain::UserId;
use fittrack_domain::activity::ActivityKind;
use fittrack_platform::ports::{OAuthFlow, TrackerError, TrackerProvider};
use fittrack_tests::fake_trackers::{FakeTrackers, STRAVA_ATHLETE};
use fittrack_trackers::{GoogleHealth, Strava, http};

/// Completes the authorization as a browser would and exchanges the code.
async fn grant(flow: &dyn OAuthFlow) -> fittrack_platform::ports::ProviderTokens {
    let redirect = "http://127.0.0.1:9/api/v1/connections/x/callback";
    let request = flow.authorize(redirect);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let consent = client.get(&request.url).send().await.unwrap();
    let back = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let returned_state = back.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    assert_eq!(returned_state, request.state.expose_secret());
    // A wrong verifier is refused as an invalid grant: PKCE is enforced end to end.
    assert_eq!(
        flow.exchange_code(&code, "wrong-verifier-wrong-verifier-wrong-verifier-00", redirect).await.err(),
        Some(TrackerError::Unauthorized)
    );
    let request = flow.authorize(redirect);
    let consent = client.get(&request.url).send().await.unwrap();
    let back = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = back.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    flow.exchange_code(&code, request.pkce_verifier.expose_secret(), redirect).await.unwrap()
}

#[tokio::test]
async fn google_health_pages_folds_hours_and_maps_errors() {
    let fake = FakeTrackers::start().await;
    let config = fake.config();
    let google = GoogleHealth::new(config.google_health.as_ref().unwrap(), http::client().unwrap()).unwrap();
    let now = Utc::now();
    let hour = now - TimeDelta::hours(5);
    fake.with(|s| {
        // Seven points across two hours: four pages of two.
        s.steps = (0..7).map(|i| (hour + TimeDelta::minutes(i * 20), 100 + i as u32)).collect();
        s.exercises = vec![(now - TimeDelta::hours(2), 45, "SWIMMING")];
    });
    let tokens = grant(&google).await;
    assert_eq!(tokens.provider_user_id.as_deref(), Some(fittrack_tests::fake_trackers::HEALTH_USER));
    let access = tokens.access_token.expose_secret().to_owned();

    let from = now - TimeDelta::days(1);
    let records = google.fetch(Some(&access), UserId::generate(), from, now).await.unwrap();
    let steps: Vec<_> = records.iter().filter(|r| r.kind == ActivityKind::Steps).collect();
    assert_eq!(steps.iter().map(|r| r.steps).sum::<u32>(), (0..7).map(|i| 100 + i).sum::<u32>());
    assert!(steps.iter().all(|r| r.end - r.start == TimeDelta::hours(1)), "one record per hour");
    assert_eq!(steps.iter().map(|r| r.minutes.moderate).sum::<u32>(), 7);
    let swim = records.iter().find(|r| r.kind == ActivityKind::Swim).unwrap();
    assert!(swim.workout && swim.minutes.moderate == 0, "exercise minutes are counted by the minutes stream");
    let identity = |records: &[fittrack_domain::activity::Activity]| {
        records.iter().map(|r| (r.source_id.clone(), r.kind, r.start, r.end, r.steps, r.minutes)).collect::<Vec<_>>()
    };
    let again = google.fetch(Some(&access), UserId::generate(), from, now).await.unwrap();
    assert_eq!(identity(&records), identity(&again), "fetching again gives the same records");

    fake.with(|s| s.rate_limit_next = Some(42));
    let limited = google.fetch(Some(&access), UserId::generate(), from, now).await;
    assert_eq!(limited.err(), Some(TrackerError::RateLimited(Duration::from_secs(42))));
    fake.expire_access_tokens();
    let expired = google.fetch(Some(&access), UserId::generate(), from, now).await;
    assert_eq!(expired.err(), Some(TrackerError::Unauthorized));
    let refreshed = google.refresh(tokens.refresh_token.as_ref().unwrap().expose_secret()).await.unwrap();
    assert!(refreshed.refresh_token.is_none(), "Google does not resend it; the service keeps the old one");
    assert!(google.fetch(Some(refreshed.access_token.expose_secret()), UserId::generate(), from, now).await.is_ok());
    google.revoke(&tokens).await.unwrap();
    let refused = google.refresh(tokens.refresh_token.as_ref().unwrap().expose_secret()).await;
    assert_eq!(refused.err(), Some(TrackerError::Unauthorized));
}

#[tokio::test]
async fn strava_pages_through_activities_within_the_window() {
    let fake = FakeTrackers::start().await;
    let config = fake.config();
    let strava = Strava::new(config.strava.as_ref().unwrap(), http::client().unwrap()).unwrap();
    let now = Utc::now();
    fake.with(|s| {
        // 130 activities inside the window (two pages of 100), one before it.
        s.strava_activities = (0..130).map(|i| (i, now - TimeDelta::hours(i as i64 + 1), 1_200, "Run")).collect();
        s.strava_activities.push((999, now - TimeDelta::days(30), 1_200, "Walk"));
    });
    let tokens = grant(&strava).await;
    assert_eq!(tokens.provider_user_id, Some(STRAVA_ATHLETE.to_string()));
    let access = tokens.access_token.expose_secret().to_owned();
    let records = strava.fetch(Some(&access), UserId::generate(), now - TimeDelta::days(7), now).await.unwrap();
    assert_eq!(records.len(), 130);
    assert!(records.iter().all(|r| r.kind == ActivityKind::Run && r.workout && r.minutes.vigorous == 19));
    assert_eq!(fake.with(|s| s.data_requests), 2);
    strava.revoke(&tokens).await.unwrap();
    let gone = strava.fetch(Some(&access), UserId::generate(), now - TimeDelta::days(7), now).await;
    assert_eq!(gone.err(), Some(TrackerError::Unauthorized));
}

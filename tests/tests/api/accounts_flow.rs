use serde_json::{Value, json};

use fittrack_tests::both_backends;
use fittrack_tests::server::{
    Backend, PASSWORD, Settings, link_token, registration, spawn_app, unique_email, unique_ip,
};

async fn register_verify_login_me_refresh(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    let ip = unique_ip();

    let response = app.post("/api/v1/auth/register", registration(&format!("  {}  ", email.to_uppercase())), &ip).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "verification_pending");

    // Not verified yet: the right password is not enough.
    let login = json!({"email": email, "password": PASSWORD});
    let response = app.post("/api/v1/auth/login", login.clone(), &ip).await;
    assert_eq!(response.status(), 403);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "email_not_verified");

    let email_text = app.wait_for_email(&email.to_uppercase(), 1).await;
    assert!(email_text.contains("Subject: Confirm your FitTrack email"));
    assert!(email_text.contains("Content-Type: text/html"));
    let token = link_token(&email_text);
    assert!(token.len() >= 43, "at least 256 bits of token");
    assert_eq!(app.post("/api/v1/auth/verify-email", json!({"token": token}), &ip).await.status(), 200);
    let again = app.post("/api/v1/auth/verify-email", json!({"token": token}), &ip).await;
    assert_eq!(again.status(), 400, "verification tokens are single-use");
    assert_eq!(again.json::<Value>().await.unwrap()["code"], "invalid_token");

    let response = app.post("/api/v1/auth/login", login, &ip).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_u64().unwrap() <= 900);
    let access = tokens["access_token"].as_str().unwrap();

    let me: Value = app.get_auth("/api/v1/users/me", access).await.json().await.unwrap();
    assert_eq!(me["email"], email.to_uppercase());
    assert_eq!(me["display_name"], "Test User");
    assert_eq!(me["date_of_birth"], "1990-04-12");
    assert_eq!(me["state"], "CA");
    assert_eq!(me["role"], "user");
    assert_eq!(me["email_verified"], true);

    let refreshed = app.post("/api/v1/auth/refresh", json!({"refresh_token": tokens["refresh_token"]}), &ip).await;
    assert_eq!(refreshed.status(), 200);
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_ne!(refreshed["refresh_token"], tokens["refresh_token"]);
    assert_eq!(app.get_auth("/api/v1/users/me", refreshed["access_token"].as_str().unwrap()).await.status(), 200);
    app.stop().await;
}
both_backends!(register_verify_login_me_refresh);

async fn a_second_registration_never_creates_a_second_account(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let email = unique_email();
    assert_eq!(app.post("/api/v1/auth/register", registration(&email), &unique_ip()).await.status(), 201);

    // Concurrent attempts with other casing and another password all get the same answer.
    let mut other = registration(&email.to_uppercase());
    other["password"] = json!("another perfectly fine passphrase");
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, url, body) = (app.http.clone(), format!("{}/api/v1/auth/register", app.base), other.clone());
        attempts.spawn(async move {
            http.post(url).header("x-forwarded-for", unique_ip()).json(&body).send().await.unwrap().status()
        });
    }
    while let Some(status) = attempts.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }
    let token = link_token(&app.wait_for_email(&email, 1).await);
    assert_eq!(app.post("/api/v1/auth/verify-email", json!({"token": token}), &unique_ip()).await.status(), 200);
    let ip = unique_ip();
    let first = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &ip).await;
    assert_eq!(first.status(), 200);
    let second = app
        .post("/api/v1/auth/login", json!({"email": email, "password": "another perfectly fine passphrase"}), &ip)
        .await;
    assert_eq!(second.status(), 401, "the second registration's password must not exist");
    // One verification email and one notice per duplicate attempt, all to the account's address.
    app.wait_for_email(&email, 5).await;
    let notices = app.emails_to("You already have a FitTrack account").await;
    assert_eq!(notices.iter().filter(|n| n.contains(&format!("To: {email}"))).count(), 4);
    app.stop().await;
}
both_backends!(a_second_registration_never_creates_a_second_account);

#[tokio::test]
async fn registration_validates_every_field_and_changes_nothing() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    let bad = json!({"email": "not-an-email", "password": "password1234", "display_name": "J",
        "date_of_birth": "2012-01-01", "state": "NY"});
    let response = app.post("/api/v1/auth/register", bad, &unique_ip()).await;
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    for expected in [
        ("email", "invalid_email"),
        ("display_name", "invalid_length"),
        ("state", "state_ineligible"),
        ("date_of_birth", "under_age_of_majority"),
        ("password", "too_weak"),
    ] {
        assert!(fields.contains(&expected), "missing {expected:?} in {fields:?}");
    }

    // Age of majority depends on the state: 20 is enough in California, not in Mississippi.
    let mut mississippi = registration(&email);
    mississippi["state"] = json!("MS");
    mississippi["date_of_birth"] = json!((chrono::Utc::now().date_naive() - chrono::Days::new(20 * 366)).to_string());
    let response = app.post("/api/v1/auth/register", mississippi.clone(), &unique_ip()).await;
    assert_eq!(response.status(), 422);
    mississippi["state"] = json!("CA");
    assert_eq!(app.post("/api/v1/auth/register", mississippi, &unique_ip()).await.status(), 201);
    // Only the valid attempt produced mail.
    assert!(app.wait_for_email(&email, 1).await.contains("Confirm your FitTrack email"));
    assert_eq!(app.emails_to(&format!("To: {email}")).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn personal_data_is_encrypted_at_rest() {
    let app = spawn_app(Settings::new(Backend::Embedded)).await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    let db = app.outbox().parent().unwrap().join("fittrack.db");
    let mut raw = std::fs::read(&db).unwrap();
    for wal in ["fittrack.db-wal"] {
        if let Ok(more) = std::fs::read(app.outbox().parent().unwrap().join(wal)) {
            raw.extend(more);
        }
    }
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Test User"), "sanity: the database holds the account");
    assert!(!text.contains(&email), "email stored in clear");
    assert!(!text.contains("1990-04-12"), "date of birth stored in clear");
    app.stop().await;
}

#[tokio::test]
async fn the_embedded_store_and_development_keys_survive_a_restart() {
    use fittrack_accounts::build::BuildOptions;
    use fittrack_accounts::crypto::PasswordHasher;
    use fittrack_cli::{ServeOptions, StoreChoice};

    let data_dir = tempfile::tempdir().unwrap();
    let start = || async {
        let config = fittrack_cli::serve::local_config(data_dir.path()).unwrap();
        let options =
            ServeOptions::new("127.0.0.1:0".parse().unwrap(), data_dir.path().to_path_buf(), StoreChoice::Embedded);
        let build = BuildOptions { passwords: PasswordHasher::with_cost(256, 1), ..BuildOptions::default() };
        fittrack_cli::start(options, config, build).await.unwrap()
    };
    let http = reqwest::Client::new();
    let email = unique_email();
    let login = json!({"email": email, "password": PASSWORD});

    let first = start().await;
    let base = format!("http://{}", first.addr);
    assert_eq!(
        http.post(format!("{base}/api/v1/auth/register")).json(&registration(&email)).send().await.unwrap().status(),
        201
    );
    let mut token = None;
    for _ in 0..100 {
        if let Some(entry) = std::fs::read_dir(&first.outbox).ok().and_then(|mut d| d.next()) {
            token = Some(link_token(&std::fs::read_to_string(entry.unwrap().path()).unwrap()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let verify = json!({"token": token.expect("verification email")});
    assert_eq!(http.post(format!("{base}/api/v1/auth/verify-email")).json(&verify).send().await.unwrap().status(), 200);
    let tokens: Value =
        http.post(format!("{base}/api/v1/auth/login")).json(&login).send().await.unwrap().json().await.unwrap();
    first.stop().await;

    let second = start().await;
    let base = format!("http://{}", second.addr);
    let me = http
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the session and the signing key outlive the process");
    assert_eq!(http.post(format!("{base}/api/v1/auth/login")).json(&login).send().await.unwrap().status(), 200);
    second.stop().await;
}

/// `a+1@gmail.com`, `A.a+2@googlemail.com` and `aa@gmail.com` are one mailbox, so one account;
/// mail still goes to the address as typed.
async fn gmail_variants_are_one_account(backend: Backend) {
    let app = spawn_app(Settings::new(backend)).await;
    let name = format!("ada{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let typed = format!("{}.{}+fittrack@GoogleMail.com", &name[..2], &name[2..]);
    assert_eq!(app.post("/api/v1/auth/register", registration(&typed), &unique_ip()).await.status(), 201);
    let token = link_token(&app.wait_for_email(&typed, 1).await);
    assert_eq!(app.post("/api/v1/auth/verify-email", json!({"token": token}), &unique_ip()).await.status(), 200);

    let variant = format!("{name}+2@gmail.com");
    let mut second = registration(&variant);
    second["password"] = json!("another perfectly fine passphrase");
    assert_eq!(app.post("/api/v1/auth/register", second, &unique_ip()).await.status(), 201, "same answer");
    let ip = unique_ip();
    let login = |email: String, password: &'static str| {
        let (app, ip) = (&app, ip.clone());
        async move { app.post("/api/v1/auth/login", json!({"email": email, "password": password}), &ip).await.status() }
    };
    assert_eq!(login(variant.clone(), "another perfectly fine passphrase").await, 401, "no second account");
    assert_eq!(login(format!("{name}@gmail.com"), PASSWORD).await, 200, "the mailbox's one account");
    // The duplicate attempt is told to the account's address as first typed.
    let notice = app.wait_for_email(&typed, 2).await;
    assert!(notice.contains("You already have a FitTrack account"), "{notice}");
    app.stop().await;
}
both_backends!(gmail_variants_are_one_account);

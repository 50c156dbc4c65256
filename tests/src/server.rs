//! `spawn_app()`: a real `fittrack serve` (the same `start` the binary calls) on a free port,
//! with its own data directory, on the embedded store or on DynamoDB in the emulator.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use fittrack_accounts::build::BuildOptions;
use fittrack_accounts::crypto::{PasswordHasher, generate_pii_key, generate_signing_key};
use fittrack_cli::{RouterWrapper, RunningServer, ServeOptions, StoreChoice};
use fittrack_platform::Config;
use fittrack_platform::clock::{Clock, ManualClock};
use fittrack_platform::config::{OidcProviderConfig, RateLimit, RateLimitedAction, RateLimits, TrackerConfig};

use crate::conformance::{Conformance, checked};
use crate::oidc::FakeProvider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    DynamoDb,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub server: Option<RunningServer>,
    pub clock: Arc<ManualClock>,
    pub google: FakeProvider,
    /// Every answer of this server is checked against the API document.
    pub conformance: Arc<Conformance>,
    /// The fake drand chain, when the settings asked for one.
    pub drand: Option<crate::fake_drand::FakeDrand>,
    _data_dir: tempfile::TempDir,
}

pub struct Settings {
    pub backend: Backend,
    pub rate_limits: RateLimits,
    /// Use the production argon2 cost (slow); otherwise a cheap one.
    pub owasp_hashing: bool,
    /// How often the local scheduler runs the sync fan-out.
    pub sync_tick: Duration,
    /// OAuth trackers (pointed at the fakes); the simulated tracker is always there.
    pub trackers: TrackerConfig,
    /// Draw from a fake drand chain (signed with a key made for the test) instead of commit-reveal.
    pub fake_drand: bool,
}

impl Settings {
    pub fn new(backend: Backend) -> Self {
        // Generous limits, so only the tests about limits meet them.
        let relaxed =
            RateLimits(RateLimitedAction::ALL.into_iter().map(|action| (action, RateLimit::per(1000, 60))).collect());
        Self {
            backend,
            rate_limits: relaxed,
            owasp_hashing: false,
            sync_tick: Duration::from_secs(2),
            trackers: TrackerConfig::default(),
            fake_drand: false,
        }
    }
}

pub async fn spawn_app(settings: Settings) -> TestApp {
    fittrack_platform::telemetry::init_for_tests();
    let data_dir = tempfile::tempdir().unwrap();
    let google = FakeProvider::start("https://accounts.google.com").await;
    let mut config = Config::from_lookup(|name| match name {
        "FITTRACK_JWT_SIGNING_KEY" => Some(generate_signing_key()),
        "FITTRACK_PII_KEY" => Some(generate_pii_key()),
        "FITTRACK_TRACKER_KEY" => Some(generate_pii_key()),
        "FITTRACK_TRUST_FORWARDED_FOR" => Some("true".into()),
        _ => None,
    })
    .unwrap();
    config.rate_limits = settings.rate_limits;
    config.trackers = settings.trackers;
    config.google = OidcProviderConfig {
        client_ids: vec![google.client_id.clone()],
        issuers: vec![google.issuer.clone()],
        jwks_url: google.jwks_url.clone(),
    };
    let store = match settings.backend {
        Backend::Embedded => StoreChoice::Embedded,
        Backend::DynamoDb => {
            let names = crate::emulator::table_names();
            config.users_table = names[&fittrack_platform::ports::Table::Users].clone();
            config.points_table = names[&fittrack_platform::ports::Table::Points].clone();
            config.tickets_table = names[&fittrack_platform::ports::Table::Tickets].clone();
            config.leaderboards_table = names[&fittrack_platform::ports::Table::Leaderboards].clone();
            config.audit_table = names[&fittrack_platform::ports::Table::Audit].clone();
            crate::emulator::sdk_config().await;
            // The server loads its AWS settings from the environment, as it does in production.
            assert!(
                std::env::var_os("AWS_ENDPOINT_URL").is_some() && std::env::var_os("AWS_ACCESS_KEY_ID").is_some(),
                "DynamoDB tests need the emulator settings in the environment: run `make test`, or \
                 eval \"$(infra/scripts/emulator.sh start)\" first"
            );
            StoreChoice::DynamoDb { create_tables: true }
        }
    };
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let passwords = if settings.owasp_hashing { PasswordHasher::owasp() } else { PasswordHasher::with_cost(256, 1) };
    let conformance = Conformance::new();
    let checker = Arc::clone(&conformance);
    let drand = if settings.fake_drand {
        let genesis = clock.now().timestamp() - 3_000;
        Some(crate::fake_drand::FakeDrand::start(genesis, 3, clock.clone()).await)
    } else {
        None
    };
    let beacon = drand.as_ref().map(|fake| {
        let chain = fake.chain();
        Arc::new(fittrack_beacons::DrandBeacon::new(chain, reqwest::Client::new()))
            as Arc<dyn fittrack_platform::ports::RandomnessBeacon>
    });
    let options = ServeOptions {
        visibility_timeout: Duration::from_millis(500),
        sync_tick: settings.sync_tick,
        drawings_tick: Duration::from_millis(200),
        beacon,
        wrap_router: Some(RouterWrapper(Arc::new(move |router| checked(router, Arc::clone(&checker))))),
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap(), data_dir.path().to_path_buf(), store)
    };
    let server = fittrack_cli::start(options, config, BuildOptions { clock: clock.clone(), passwords })
        .await
        .expect("server starts");
    TestApp {
        base: format!("http://{}", server.addr),
        http: reqwest::Client::new(),
        server: Some(server),
        clock,
        google,
        conformance,
        drand,
        _data_dir: data_dir,
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub async fn post(&self, path: &str, body: Value, client_ip: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("x-forwarded-for", client_ip)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap()
    }

    /// Where the server keeps its files (the SQLite database among them).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// The files of the data directory (the embedded database among them) whose bytes contain
    /// `needle`: for proving that secrets and PII are stored only sealed.
    pub fn files_containing(&self, needle: &str) -> Vec<std::path::PathBuf> {
        let files = std::fs::read_dir(self.data_dir()).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_file());
        files.filter(|path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).contains(needle)).collect()
    }

    pub fn outbox(&self) -> std::path::PathBuf {
        self.server.as_ref().unwrap().outbox.clone()
    }

    /// Every email in the outbox whose raw text contains `needle`, oldest first.
    pub async fn emails_to(&self, needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        if let Ok(mut entries) = tokio::fs::read_dir(self.outbox()).await {
            let mut names = Vec::new();
            while let Ok(Some(entry)) = entries.next_entry().await {
                names.push(entry.path());
            }
            names.sort();
            for path in names.into_iter().filter(|p| p.extension().is_some_and(|e| e == "eml")) {
                let text = tokio::fs::read_to_string(&path).await.unwrap();
                if text.contains(needle) {
                    found.push(text);
                }
            }
        }
        found
    }

    /// Waits for the `n`th email to `address` (the email worker runs in the background).
    pub async fn wait_for_email(&self, address: &str, n: usize) -> String {
        for _ in 0..100 {
            let emails = self.emails_to(&format!("To: {address}")).await;
            if emails.len() >= n {
                return emails[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email #{n} to {address}");
    }

    /// Registers, verifies through the emailed link, and signs in; returns the token pair.
    pub async fn signed_up_user(&self, email: &str) -> Value {
        self.signed_up_with(registration(email)).await
    }

    /// [`Self::signed_up_user`] with the registration body given (another date of birth, say).
    pub async fn signed_up_with(&self, registration: Value) -> Value {
        let email = registration["email"].as_str().expect("registration has an email").to_owned();
        let email = email.as_str();
        let ip = unique_ip();
        let response = self.post("/api/v1/auth/register", registration.clone(), &ip).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let token = link_token(&self.wait_for_email(email, 1).await);
        let response = self.post("/api/v1/auth/verify-email", json!({"token": token}), &ip).await;
        assert_eq!(response.status(), 200);
        let response = self.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &ip).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A signed-up user whose profile is complete (past the profile gate); returns the access token.
    pub async fn user_with_profile(&self) -> String {
        let tokens = self.signed_up_user(&unique_email()).await;
        let token = tokens["access_token"].as_str().unwrap().to_owned();
        let profile = json!({"display_name": "Test User", "sex": "female", "fitness_level": "intermediate",
            "time_zone": "America/Denver", "units": "metric", "public_profile": false});
        let response = self
            .http
            .put(format!("{}/api/v1/users/me/profile", self.base))
            .bearer_auth(&token)
            .json(&profile)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        token
    }

    /// An admin (created as the CLI does, then signed in); returns the access token.
    pub async fn admin(&self) -> String {
        use fittrack_accounts::NewUser;
        let email = unique_email();
        let accounts = &self.server.as_ref().expect("running").accounts;
        let admin = NewUser {
            email: email.clone(),
            password: PASSWORD.into(),
            display_name: "Admin".into(),
            role: fittrack_domain::Role::Admin,
        };
        accounts.create_user(admin).await.unwrap();
        let login: Value = self
            .post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), &unique_ip())
            .await
            .json()
            .await
            .unwrap();
        login["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

pub fn registration(email: &str) -> Value {
    json!({"email": email, "password": PASSWORD, "display_name": "Test User", "date_of_birth": "1990-04-12", "state": "CA"})
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// A distinct client address, so per-address limits of one test never touch another.
pub fn unique_ip() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!("10.{}.{}.{}", (n >> 16) as u8, (n >> 8) as u8, n as u8)
}

/// The `token=` value of the first link in an email.
pub fn link_token(email: &str) -> String {
    let start = email.find("token=").expect("email has a token link") + "token=".len();
    email[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

//! Login and `/users/me` latency and throughput against a real `fittrack serve` (embedded store,
//! production argon2 cost), over loopback HTTP.
//!
//! `make bench` (or `cargo bench -p fittrack-tests --bench accounts`). Criterion prints the time
//! per request (latency, sequential) and requests per second for batches of concurrent requests.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

use fittrack_platform::config::{RateLimit, RateLimitedAction, RateLimits};
use fittrack_tests::server::{Backend, PASSWORD, Settings, TestApp, spawn_app, unique_email, unique_ip};

const CONCURRENCY: usize = 16;

async fn app() -> (TestApp, String, String, Vec<String>) {
    let mut settings = Settings::new(Backend::Embedded);
    settings.owasp_hashing = true;
    settings.rate_limits =
        RateLimits(RateLimitedAction::ALL.into_iter().map(|a| (a, RateLimit::per(u32::MAX, 60))).collect());
    let app = spawn_app(settings).await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    // Concurrent sign-ins are of different people: one address's attempts are counted (lockout).
    let mut others = Vec::new();
    for _ in 0..CONCURRENCY {
        let other = unique_email();
        app.signed_up_user(&other).await;
        others.push(other);
    }
    (app, email, access, others)
}

async fn login(app: &TestApp, email: &str, ip: &str) {
    let response = app.post("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}), ip).await;
    assert_eq!(response.status(), 200);
}

async fn me(app: &TestApp, access: &str) {
    assert_eq!(app.get_auth("/api/v1/users/me", access).await.status(), 200);
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (app, email, access, others) = runtime.block_on(app());
    let ip = unique_ip();

    let mut latency = c.benchmark_group("latency");
    latency.sample_size(30);
    latency.bench_function("login", |b| b.to_async(&runtime).iter(|| login(&app, &email, &ip)));
    latency.bench_function("users_me", |b| b.to_async(&runtime).iter(|| me(&app, &access)));
    latency.finish();

    let mut throughput = c.benchmark_group("throughput");
    throughput.sample_size(15);
    throughput.throughput(Throughput::Elements(CONCURRENCY as u64));
    throughput.bench_function("login_x16", |b| {
        b.to_async(&runtime).iter(|| async {
            let requests = others.iter().map(|other| login(&app, other, &ip));
            join_all(requests).await;
        })
    });
    throughput.bench_function("users_me_x16", |b| {
        b.to_async(&runtime).iter(|| async {
            let requests = (0..CONCURRENCY).map(|_| me(&app, &access));
            join_all(requests).await;
        })
    });
    throughput.finish();
    runtime.block_on(app.stop());
}

/// Drives the futures concurrently on this task (no spawning, so borrows are fine).
async fn join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut pending: Vec<_> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pending.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
}

criterion_group!(accounts, benches);
criterion_main!(accounts);

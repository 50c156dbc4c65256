//! Cold start of a Lambda binary: process start to first answer, through a local implementation
//! of the Lambda Runtime API (the same HTTP protocol the Lambda service speaks to `bootstrap`).
//!
//! ```sh
//! make lambda ARCH=x86-64                   # or: cargo build --release -p accounts-api
//! eval "$(infra/scripts/emulator.sh start)" # /health/ready makes a first DynamoDB call
//! cargo run --release -p fittrack-tests --example cold_start -- target/lambda/accounts-api/bootstrap 20
//! ```
//! Prints min / median / p95 over N runs for `/health/live` (init + routing, no I/O) and
//! `/health/ready` (init + first DynamoDB request, connection set-up included).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};

#[derive(Clone)]
struct Runtime {
    event: Arc<Value>,
    served: Arc<Mutex<bool>>,
    answered: Arc<Notify>,
    answer: Arc<Mutex<Option<Value>>>,
}

async fn next(State(rt): State<Runtime>) -> (HeaderMap, String) {
    let first = !std::mem::replace(&mut *rt.served.lock().await, true);
    if !first {
        // One invocation per process: the second poll waits until we kill the process.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "cold-start-1".parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        (chrono::Utc::now().timestamp_millis() + 10_000).to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:accounts".parse().unwrap(),
    );
    headers.insert("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".parse().unwrap());
    (headers, rt.event.to_string())
}

async fn response(State(rt): State<Runtime>, Path(_id): Path<String>, body: String) -> &'static str {
    *rt.answer.lock().await = Some(serde_json::from_str(&body).unwrap_or(Value::String(body)));
    rt.answered.notify_one();
    "{}"
}

async fn error(State(rt): State<Runtime>, body: String) -> &'static str {
    *rt.answer.lock().await = Some(json!({"error": body}));
    rt.answered.notify_one();
    "{}"
}

fn event(path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": format!("GET {path}"), "rawPath": path, "rawQueryString": "",
        "headers": {"host": "api.fittrack.test"},
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.fittrack.test",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.1", "userAgent": "cold-start"},
            "requestId": "r", "routeKey": format!("GET {path}"), "stage": "$default", "time": "22/Nov/2026:00:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    })
}

async fn one_run(binary: &str, path: &str, users_table: &str) -> Duration {
    let rt = Runtime {
        event: Arc::new(event(path)),
        served: Arc::default(),
        answered: Arc::new(Notify::new()),
        answer: Arc::default(),
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "accounts-api")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "cold-start")
        .env("FITTRACK_JWT_SIGNING_KEY", fittrack_accounts::crypto::generate_signing_key())
        .env("FITTRACK_PII_KEY", fittrack_accounts::crypto::generate_pii_key())
        .env("FITTRACK_EMAIL_QUEUE_URL", "http://127.0.0.1:1/queue/unused")
        .env("FITTRACK_USERS_TABLE", users_table)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the Lambda binary");
    tokio::time::timeout(Duration::from_secs(10), rt.answered.notified()).await.expect("no answer within 10 s");
    let elapsed = started.elapsed();
    let answer = rt.answer.lock().await.clone().unwrap_or_default();
    assert_eq!(answer["statusCode"], 200, "unexpected answer: {answer}");
    child.kill().await.ok();
    server.abort();
    elapsed
}

fn summary(mut runs: Vec<Duration>) -> String {
    runs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p95 = runs[((runs.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)];
    format!(
        "min {:.1} ms, median {:.1} ms, p95 {:.1} ms over {} runs",
        ms(runs[0]),
        ms(runs[runs.len() / 2]),
        ms(p95),
        runs.len()
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args.next().unwrap_or_else(|| "target/lambda/accounts-api/bootstrap".into());
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
    let (_, names) = fittrack_tests::emulator::dynamo_store().await;
    let users = names[&fittrack_platform::ports::Table::Users].clone();
    for path in ["/health/live", "/health/ready"] {
        let mut times = Vec::new();
        for _ in 0..runs {
            times.push(one_run(&binary, path, &users).await);
        }
        println!("{binary} {path}: {}", summary(times));
    }
}

//! API Gateway HTTP API (v2) events for tests of the Lambda entry points: the payload Lambda hands
//! a function, parsed by `lambda_http` exactly as in production. Only built with the
//! `lambda-test-events` feature, which the functions enable for their tests.

use serde_json::{Value, json};

/// A request as API Gateway delivers it, from `source_ip`, with a JSON body if any.
pub fn api_gateway_v2(
    method: &str,
    path: &str,
    query: &str,
    source_ip: &str,
    body: Option<&Value>,
) -> Result<lambda_http::Request, serde_json::Error> {
    let route = format!("{method} {path}");
    let event = json!({
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "api.fittrack.test"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.fittrack.test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "test"},
            "requestId": "request", "routeKey": route, "stage": "$default",
            "time": "22/Nov/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string())
}

/// The configuration of a function that verifies tokens and never signs them, as deployed: the
/// JWT public key alone, and a fresh PII key.
///
/// # Panics
/// Never in practice: the generated keys always parse (this is test support).
pub fn verifying_config() -> fittrack_platform::Config {
    let signing = fittrack_accounts::crypto::generate_signing_key();
    let keys = fittrack_accounts::crypto::JwtKeys::from_pkcs8(&signing).expect("a generated key parses");
    let public = keys.public_key().to_owned();
    let pii = fittrack_accounts::crypto::generate_pii_key();
    fittrack_platform::Config::from_lookup(move |name| match name {
        "FITTRACK_JWT_PUBLIC_KEY" => Some(public.clone()),
        "FITTRACK_PII_KEY" => Some(pii.clone()),
        _ => None,
    })
    .expect("a configuration of defaults and valid keys")
}

//! Every answer the end-to-end tests provoke is checked against the API document: the server
//! under test is wrapped with [`checked`], which looks up the operation of each request (its
//! matched route and method) in `fittrack_http::openapi::document()`, and validates the status,
//! the content type and the JSON body against the documented response schema. An answer the
//! document does not describe (an undocumented route, status or shape) is replaced by a 500
//! `openapi_violation` problem naming the difference, so the test that provoked it fails, and
//! is recorded in [`Conformance::violations`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The document every server under test is checked against, generated once per test process.
static DOCUMENT: std::sync::LazyLock<Arc<Value>> = std::sync::LazyLock::new(|| {
    Arc::new(serde_json::to_value(fittrack_http::openapi::document()).expect("the document serialises"))
});

/// The document, compiled response validators, and what one server was seen to answer.
pub struct Conformance {
    document: Arc<Value>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    violations: Mutex<Vec<String>>,
    /// (method, route, status) of every answer checked.
    seen: Mutex<BTreeSet<(String, String, u16)>>,
}

impl Conformance {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            document: Arc::clone(&DOCUMENT),
            validators: Mutex::default(),
            violations: Mutex::default(),
            seen: Mutex::default(),
        })
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn seen(&self) -> BTreeSet<(String, String, u16)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// What the document says about `status` of `method route`, checked against the answer.
    fn check(
        &self,
        method: &str,
        route: &str,
        status: StatusCode,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let operation = &self.document["paths"][route][method];
        if operation.is_null() && status == StatusCode::METHOD_NOT_ALLOWED && self.document["paths"][route].is_object()
        {
            // The router's answer to a method the route does not serve (`method_not_allowed`).
            return Ok(());
        }
        if operation.is_null() {
            return Err(format!("{} {route} is not in the document", method.to_uppercase()));
        }
        let answer = &operation["responses"][status.as_str()];
        if answer.is_null() {
            return Err(format!(
                "{} {route} answered {status}, which the document does not list",
                method.to_uppercase()
            ));
        }
        let Some(contents) = answer["content"].as_object() else {
            return if body.is_empty() {
                Ok(())
            } else {
                Err(format!("{} {route} {status}: a body where the document has none", method.to_uppercase()))
            };
        };
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let Some(schema) = contents.get(media).map(|c| &c["schema"]) else {
            return Err(format!(
                "{} {route} {status}: content type `{media}` is not among {:?}",
                method.to_uppercase(),
                contents.keys().collect::<Vec<_>>()
            ));
        };
        if schema.is_null() {
            return Ok(());
        }
        if !media.ends_with("json") {
            // Documents (official rules, snapshot files): the content type is the contract.
            return Ok(());
        }
        let instance: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{} {route} {status}: the body is not JSON: {e}", method.to_uppercase()))?;
        let validator = self.validator(&format!("{method} {route} {status} {media}"), schema)?;
        let errors: Vec<String> =
            validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).take(5).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{} {route} {status}: {}; body: {instance}", method.to_uppercase(), errors.join("; ")))
        }
    }

    fn validator(&self, name: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(found) = self.validators.lock().ok().and_then(|v| v.get(name).cloned()) {
            return Ok(found);
        }
        // The response schema, with the document's components beside it so `#/components/...`
        // references resolve.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": self.document["components"],
        });
        let validator = Arc::new(jsonschema::validator_for(&root).map_err(|e| format!("{name}: bad schema: {e}"))?);
        if let Ok(mut validators) = self.validators.lock() {
            validators.insert(name.to_owned(), Arc::clone(&validator));
        }
        Ok(validator)
    }
}

/// `router`, with every answer checked by `conformance`.
pub fn checked(router: axum::Router, conformance: Arc<Conformance>) -> axum::Router {
    router.layer(axum::middleware::from_fn(move |request: Request, next: Next| {
        let conformance = Arc::clone(&conformance);
        async move { check_answer(&conformance, request, next).await }
    }))
}

async fn check_answer(conformance: &Conformance, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_lowercase();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let Some(route) = route else { return response };
    if route == "/openapi.json" || route == "/docs" {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 8 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Ok(mut seen) = conformance.seen.lock() {
        seen.insert((method.clone(), route.clone(), parts.status.as_u16()));
    }
    match conformance.check(&method, &route, parts.status, content_type, &bytes) {
        Ok(()) => Response::from_parts(parts, Body::from(bytes)),
        Err(violation) => {
            if let Ok(mut violations) = conformance.violations.lock() {
                violations.push(violation.clone());
            }
            let problem = json!({"type": "about:blank", "title": "Answer differs from the API document",
                "status": 500, "code": "openapi_violation", "detail": violation});
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/problem+json")],
                problem.to_string(),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_document_does_not_describe_are_violations() {
        let conformance = Conformance::new();
        let balance = |status: StatusCode, body: &str| {
            conformance.check("get", "/api/v1/points/balance", status, "application/json", body.as_bytes())
        };
        let good = r#"{"balance": 5, "held": 0, "under_review": false, "lifetime_earned": 5}"#;
        assert_eq!(balance(StatusCode::OK, good), Ok(()));
        assert!(
            balance(StatusCode::OK, r#"{"balance": "5", "held": 0, "under_review": false, "lifetime_earned": 5}"#)
                .unwrap_err()
                .contains("balance")
        );
        assert!(balance(StatusCode::OK, r#"{"held": 0}"#).is_err(), "a required field is missing");
        assert!(balance(StatusCode::IM_A_TEAPOT, good).unwrap_err().contains("does not list"));
        let problem = r#"{"type": "about:blank", "title": "t", "status": 401, "code": "unauthenticated"}"#;
        assert_eq!(
            conformance.check(
                "get",
                "/api/v1/points/balance",
                StatusCode::UNAUTHORIZED,
                "application/problem+json",
                problem.as_bytes()
            ),
            Ok(())
        );
        assert!(conformance.check("get", "/api/v1/nowhere", StatusCode::OK, "application/json", b"{}").is_err());
    }
}

//! Structured JSON logs. Fields carry ids (user, session, request), never emails, passwords or
//! tokens: the services log ids only and request bodies are never logged.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; `RUST_LOG` overrides the default `info` level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .try_init();
}

/// Plain logs for tests, shown only when `TEST_LOG` is set (as zero2prod does).
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    }
}

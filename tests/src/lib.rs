//! Test support for the workspace suites: the AWS emulator, unique AWS resources per test,
//! a running `fittrack serve` (with typed helpers per capability), a local OpenID provider for social sign-in, fake tracker APIs, and a
//! DynamoDB write-unit meter for benchmarks, and the check of every answer against the API document.

pub mod client;
pub mod conformance;
pub mod contract;
pub mod emulator;
pub mod fake_trackers;
pub mod oidc;
pub mod server;
pub mod store_hooks;
pub mod sync_fixture;
pub mod write_units;

/// Runs an `async fn(Backend)` test on the embedded store and on DynamoDB.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn embedded() {
                super::$name(fittrack_tests::server::Backend::Embedded).await;
            }
            #[tokio::test]
            async fn dynamodb() {
                super::$name(fittrack_tests::server::Backend::DynamoDb).await;
            }
        }
    };
}

//! Test support for the workspace suites: the AWS emulator, unique AWS resources per test,
//! a running `fittrack serve`, and a local OpenID provider for social sign-in.

pub mod contract;
pub mod emulator;
pub mod fake_trackers;
pub mod oidc;
pub mod server;

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

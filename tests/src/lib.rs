//! Test support for the workspace suites: the AWS emulator, unique AWS resources per test,
//! a running `fittrack serve`, and a local OpenID provider for social sign-in.

pub mod contract;
pub mod emulator;
pub mod oidc;
pub mod server;

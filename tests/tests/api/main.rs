//! End-to-end tests of `fittrack serve` over HTTP: one binary, `spawn_app()` per test.
//! Flows marked `both_backends!` also run against DynamoDB on the emulator.

mod accounts_flow;
mod admin;
mod analytics;
mod connections;
mod drawings;
mod errors;
mod fulfilments;
mod leaderboards;
mod lockout_and_limits;
mod openapi;
mod points;
mod profiles;
mod recovery;
mod roles;
mod sessions;
mod social;
mod trackers;

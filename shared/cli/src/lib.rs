//! The `fittrack` command's library: how the local server is assembled, so the end-to-end tests
//! start exactly what `fittrack serve` starts.

pub mod leaderboards;
pub mod local_keys;
pub mod serve;
pub mod verify_drawing;
pub mod workers;

pub use serve::{RouterWrapper, RunningServer, ServeOptions, StoreChoice, start};

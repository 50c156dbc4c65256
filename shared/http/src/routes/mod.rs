//! One router per resource group. Each handler carries its `#[utoipa::path]` documentation and is
//! registered with `routes!`, so a route cannot be served without its entry in the document.

pub mod accounts;
#[cfg(feature = "admin")]
pub mod admin;
#[cfg(feature = "connections")]
pub mod connections;
#[cfg(feature = "drawings")]
pub mod drawings;
#[cfg(feature = "drawings")]
pub mod fulfilments;
pub mod health;
#[cfg(feature = "leaderboards")]
pub mod leaderboards;
pub mod notifications;
#[cfg(feature = "points")]
pub mod points;
pub mod profiles;
#[cfg(feature = "connections")]
pub mod webhooks;

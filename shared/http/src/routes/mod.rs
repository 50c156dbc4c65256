pub mod accounts;
pub mod connections;
pub mod health;
pub mod points;
pub mod profiles;
pub mod webhooks;

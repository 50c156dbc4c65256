pub mod accounts;
pub mod health;
pub mod points;
pub mod profiles;

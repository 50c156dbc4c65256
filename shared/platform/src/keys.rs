//! Key parts shared across capabilities. Each capability keeps its own key builders in its own
//! `keys` module; only what several of them put in one partition lives here.

use fittrack_domain::UserId;

/// The sort-key or partition prefix of everything that belongs to one user.
pub const USER_PREFIX: &str = "USER#";

/// The partition of a user's items in the users table (account, sessions, connections), and the
/// sort key under which a user appears in shared partitions.
pub fn user_partition(user: UserId) -> String {
    format!("{USER_PREFIX}{user}")
}

//! Per-client rate limits that hold across Lambda instances: fixed-window counters in the store,
//! incremented atomically. The counter key holds a keyed hash of the client address, never the
//! address itself.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{RateLimit, RateLimitedAction};
use crate::ports::{ItemStore, Key, StoreError, Table, Update};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until the window resets.
    pub reset_after: Duration,
}

/// What a client address is limited as: an IPv4 address as it is; an IPv6 client by its /64
/// (one subscriber's allocation: anyone holds a whole /64, so per-address limits would be per
/// nothing); an IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn client_subject(address: &str) -> String {
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(v4) => v4.to_string(),
        Err(_) => address.trim().to_owned(),
    }
}

/// Counts one request of `client` for `action` and decides whether it may proceed.
///
/// # Errors
/// The store's failure to count the request (the [`ItemStore::update`] of the window's counter). A
/// request over the limit is not an error: `allowed` is false.
pub async fn hit(
    store: &dyn ItemStore,
    action: RateLimitedAction,
    client: &str,
    limit: RateLimit,
    now: DateTime<Utc>,
) -> Result<RateDecision, StoreError> {
    let window = limit.window.as_secs().max(1) as i64;
    let now_secs = now.timestamp();
    let window_start = now_secs - now_secs.rem_euclid(window);
    let window_end = window_start + window;
    let key = Key::new(format!("RATE#{}#{client}", action.name()), format!("W#{window_start}"));
    let update = Update::new().add("count", 1).set("expires_at", window_end + 60);
    let item = store.update(Table::Users, &key, update, None).await?;
    let count = item.get("count").and_then(|v| v.as_u64()).unwrap_or(u64::MAX);
    let used = u32::try_from(count).unwrap_or(u32::MAX);
    Ok(RateDecision {
        allowed: used <= limit.max,
        limit: limit.max,
        remaining: limit.max.saturating_sub(used),
        reset_after: Duration::from_secs(u64::try_from(window_end - now_secs).unwrap_or(1).max(1)),
    })
}

#[cfg(test)]
mod tests {
    use super::client_subject;

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(client_subject("2001:db8:1:2:aaaa::1"), client_subject("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(client_subject("2001:db8:1:2::1"), client_subject("2001:db8:1:3::1"));
        assert_eq!(client_subject("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(client_subject("203.0.113.9"), "203.0.113.9");
        assert_ne!(client_subject("203.0.113.9"), client_subject("203.0.113.10"));
    }
}

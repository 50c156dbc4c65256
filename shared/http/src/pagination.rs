//! Cursor pagination, the same everywhere: `?limit=&cursor=` in, one [`Page`] out.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `?limit=&cursor=`: how many items, and where the previous page ended.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page (each list has its default and maximum).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `pagination.next_cursor` of the previous page; opaque.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `limit` checked against a list's bounds: `default` when absent, 1 to `max` otherwise.
///
/// # Errors
/// A `validation_failed` problem naming `limit`.
pub fn checked_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, crate::problem::ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        let message = format!("must be between 1 and {max}");
        return Err(fittrack_domain::ValidationErrors::single(fittrack_domain::FieldError::new(
            "limit",
            "out_of_range",
            message,
        ))
        .into());
    }
    Ok(limit)
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub pagination: PageInfo,
}

/// Where a page stands in its list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageInfo {
    /// The page size asked for (after clamping).
    pub limit: u32,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, limit: u32, next_cursor: Option<String>) -> Self {
        Self { items, pagination: PageInfo { limit, has_more: next_cursor.is_some(), next_cursor } }
    }
}

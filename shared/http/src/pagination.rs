//! Cursor pagination, the same everywhere: `?limit=&cursor=` in, `{items, pagination}` out.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
pub struct PageParams {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The response body of one page.
pub fn page<T: Serialize>(items: &[T], limit: u32, next_cursor: Option<String>) -> Value {
    json!({
        "items": items,
        "pagination": {"limit": limit, "has_more": next_cursor.is_some(), "next_cursor": next_cursor},
    })
}

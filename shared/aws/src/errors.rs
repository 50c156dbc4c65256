use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use fittrack_platform::ports::StoreError;

/// Translates a DynamoDB failure into the port's error: a failed condition is a domain outcome,
/// contention and throttling are retryable, everything else is "unavailable" with the SDK's context.
pub(crate) fn store_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some("TransactionConflictException") => StoreError::Contention,
        Some("ValidationException")
            if err.message().is_some_and(|m| m.contains("ExclusiveStartKey") || m.contains("start key")) =>
        {
            StoreError::InvalidCursor
        }
        Some(code) => StoreError::Unavailable(format!("{code}: {}", err.message().unwrap_or_default())),
        None => StoreError::Unavailable(DisplayErrorContext(&err).to_string()),
    }
}

//! What an SDK failure means. Two decisions: whether the SDK's standard retry
//! should try again (a transaction cancelled only by conflicts or throttling
//! is transient; one whose condition failed is an answer), and, once the
//! retries are spent, whether the caller sees "not now" (503) or a bug (500).

use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

use crate::error::AppError;

/// Teaches the SDK's standard retry that a transaction cancelled only by
/// conflicts with other in-flight transactions (or by throttling of one of its
/// items) is transient, like a single-item write that met a transaction. A
/// cancellation with a failed condition is an answer, never retried.
#[derive(Debug)]
pub(super) struct TransactionConflictRetry;

impl ClassifyRetry for TransactionConflictRetry {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let Some(error) = error.as_operation_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.downcast_ref::<TransactWriteItemsError>()
        {
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .collect();
            return retry_for_cancellation(&codes);
        }
        let code = error
            .downcast_ref::<PutItemError>()
            .and_then(|e| e.code())
            .or_else(|| {
                error
                    .downcast_ref::<UpdateItemError>()
                    .and_then(|e| e.code())
            });
        match code {
            Some("TransactionConflictException") => RetryAction::transient_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "DynamoDB transaction conflict"
    }
}

/// What to do about a transaction cancelled for these reasons (one code per
/// item, `None` for the items that were fine).
fn retry_for_cancellation(codes: &[&str]) -> RetryAction {
    if codes.contains(&"ConditionalCheckFailed") {
        return RetryAction::NoActionIndicated;
    }
    if codes
        .iter()
        .any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded"))
    {
        return RetryAction::throttling_error();
    }
    if codes.contains(&"TransactionConflict") {
        return RetryAction::transient_error();
    }
    RetryAction::NoActionIndicated
}

/// Maps an SDK error: what says "not now" (unreachable, timed out, throttled
/// or conflicting after the retries, a 5xx) is a 503; anything else (a
/// missing table, denied access, a malformed request) is a logged 500.
pub(super) fn store_error<E, R>(e: SdkError<E, R>) -> AppError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            AppError::unavailable(detail)
        }
        SdkError::ServiceError(service) => {
            let transient = matches!(
                service.err().code(),
                Some(
                    "ProvisionedThroughputExceededException"
                        | "RequestLimitExceeded"
                        | "ThrottlingException"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "TransactionConflictException"
                        | "TransactionInProgressException"
                        | "TransactionCanceledException"
                        | "LimitExceededException"
                )
            );
            if transient {
                AppError::unavailable(detail)
            } else {
                AppError::internal(detail)
            }
        }
        _ => AppError::internal(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_conflicted_or_throttled_transactions_are_retried() {
        // moto never reports conflicts, so the contract suite cannot reach this.
        let retry = retry_for_cancellation;
        assert_eq!(
            retry(&["None", "TransactionConflict"]),
            RetryAction::transient_error()
        );
        assert_eq!(
            retry(&["ThrottlingError", "None"]),
            RetryAction::throttling_error()
        );
        // A failed condition is the answer (username taken, invoice exists), whatever else happened.
        assert_eq!(
            retry(&["ConditionalCheckFailed", "TransactionConflict"]),
            RetryAction::NoActionIndicated
        );
        assert_eq!(
            retry(&["ValidationError", "None"]),
            RetryAction::NoActionIndicated
        );
    }
}

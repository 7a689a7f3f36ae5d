//! The HTTP API Lambda authorizer (payload format 2.0, simple responses): it
//! verifies the bearer token and hands API Gateway the caller's identity, which
//! reaches the functions as `requestContext.authorizer.lambda`.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;
use shared::AppError;
use shared::auth::TokenKeys;
use shared::web::bearer_token;

pub type AuthorizerRequest = ApiGatewayV2CustomAuthorizerV2Request;
pub type AuthorizerResponse = ApiGatewayV2CustomAuthorizerSimpleResponse;

/// Decides one request. The token comes from the identity source (the
/// Authorization header) or, failing that, the header itself. An error is
/// not a decision: the key could not be had (`JWT_SECRET` held in AWS and not
/// fetched), and API Gateway answers 500 rather than refuse a valid token.
pub async fn authorize(
    keys: &TokenKeys,
    event: &AuthorizerRequest,
) -> Result<AuthorizerResponse, AppError> {
    let header = event
        .identity_source
        .as_ref()
        .and_then(|sources| sources.first().cloned())
        .or_else(|| {
            event
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let verified = match bearer_token(&header) {
        Some(token) => Some(keys.verify(token).await),
        None => None,
    };
    let mut response = AuthorizerResponse::default();
    match verified {
        Some(Ok(identity)) => {
            response.is_authorized = true;
            response.context = json!({
                "user_id": identity.user_id.to_string(),
                "username": identity.username,
                "role": identity.role.as_str(),
            });
        }
        Some(Err(AppError::Unauthorized(_))) | None => {
            response.is_authorized = false;
            response.context = json!({});
        }
        Some(Err(other)) => return Err(other),
    }
    Ok(response)
}

//! The HTTP API Lambda authorizer (payload format 2.0, simple responses): it
//! verifies the bearer token and hands API Gateway the caller's identity, which
//! reaches the functions as `requestContext.authorizer.lambda`.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use serde_json::json;
use shared::auth::TokenKeys;
use shared::web::bearer_token;

pub type AuthorizerRequest = ApiGatewayV2CustomAuthorizerV2Request;
pub type AuthorizerResponse = ApiGatewayV2CustomAuthorizerSimpleResponse;

/// Decides one request. The token comes from the identity source (the
/// Authorization header) or, failing that, the header itself.
pub fn authorize(keys: &TokenKeys, event: &AuthorizerRequest) -> AuthorizerResponse {
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
    let mut response = AuthorizerResponse::default();
    match bearer_token(&header).map(|token| keys.verify(token)) {
        Some(Ok(identity)) => {
            response.is_authorized = true;
            response.context = json!({
                "user_id": identity.user_id.to_string(),
                "username": identity.username,
                "role": identity.role.as_str(),
            });
        }
        _ => {
            response.is_authorized = false;
            response.context = json!({});
        }
    }
    response
}

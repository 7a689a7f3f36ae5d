//! The functions the dev server can call in-process, by the cargo binary name
//! `template.yaml` gives each one (`Metadata.BuildProperties.Binary`).

use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use shared::App;

/// An HTTP function's handler, as its `main` gives it to `lambda_http::run`.
pub type Handler = fn(Arc<App>, Request) -> BoxFuture<'static, Response<Body>>;

pub fn http_handler(binary: &str) -> Option<Handler> {
    let handler: Handler = match binary {
        "auth" => |app, req| Box::pin(auth::handle(app, req)),
        "products" => |app, req| Box::pin(products::handle(app, req)),
        "orders" => |app, req| Box::pin(orders::handle(app, req)),
        "invoices" => |app, req| Box::pin(invoices::handle(app, req)),
        "health" => |app, req| Box::pin(health::handle(app, req)),
        // Reads no store: the App is not needed.
        "docs" => |_app, req| Box::pin(docs::handle(req)),
        _ => return None,
    };
    Some(handler)
}

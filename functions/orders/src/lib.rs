//! The orders endpoint group: place and list orders, for the caller or (admins)
//! for a named user.

use std::sync::{Arc, LazyLock};

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::api::PlaceOrder;
use shared::domain::{Identity, Order};
use shared::web::{self, HttpResult, RouteTable};
use shared::{App, AppError};

#[derive(Clone, Copy)]
enum Route {
    PlaceOwn,
    ListOwn,
    PlaceFor,
    ListFor,
}

static ROUTES: LazyLock<RouteTable<Route>> = LazyLock::new(|| {
    RouteTable::new(vec![
        (Method::POST, "/orders", Route::PlaceOwn),
        (Method::GET, "/orders", Route::ListOwn),
        (Method::POST, "/orders/{username}", Route::PlaceFor),
        (Method::GET, "/orders/{username}", Route::ListFor),
    ])
});

/// The lines of either form of the body.
fn lines(body: PlaceOrder) -> Result<Vec<(i64, i64)>, AppError> {
    match (body.items, body.product_id, body.quantity) {
        (Some(items), None, None) => Ok(items
            .into_iter()
            .map(|l| (l.product_id, l.quantity))
            .collect()),
        (Some(_), _, _) => Err(AppError::validation(
            "give either items or product_id and quantity, not both",
        )),
        (None, Some(product_id), Some(quantity)) => Ok(vec![(product_id, quantity)]),
        (None, Some(_), None) => Err(AppError::validation("missing field `quantity`")),
        (None, None, _) => Err(AppError::validation(
            "missing field `items` (or `product_id` and `quantity`)",
        )),
    }
}

pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let result = route(&app, &req).await;
    web::finish(&req, result)
}

async fn route(app: &App, req: &Request) -> HttpResult {
    let (route, params) = ROUTES.find(req.method(), req.uri().path())?;
    let caller = web::identity(req, &app.tokens).await?;
    let owner: Identity = match route {
        Route::PlaceOwn | Route::ListOwn => caller.clone(),
        Route::PlaceFor | Route::ListFor => {
            app.users
                .resolve_target(&caller, &params["username"])
                .await?
        }
    };
    match route {
        Route::PlaceOwn | Route::PlaceFor => {
            // There is no single-order route; the order is listed under its owner.
            let location = format!("/orders/{}", owner.username);
            let respond = |order: &Order| web::created(&location, order);
            // Keys belong to the caller, who may be an admin ordering for someone.
            web::idempotency::respond_once(
                &*app.store,
                req,
                caller.user_id,
                &respond,
                async || {
                    let body: PlaceOrder = web::parse_json(req)?;
                    app.orders.price(&owner, &lines(body)?).await
                },
                async |new, idem| {
                    let order = app.orders.place(&new, idem).await?;
                    tracing::info!(
                        order_id = order.order_id,
                        user_id = owner.user_id,
                        "order placed"
                    );
                    Ok(order)
                },
            )
            .await
        }
        Route::ListOwn | Route::ListFor => {
            let page = web::page_request(req)?;
            let orders = app.orders.list(&owner, page).await?;
            Ok(web::list(req, &orders, page.limit))
        }
    }
}

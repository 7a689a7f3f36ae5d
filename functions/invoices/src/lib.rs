//! The invoices endpoint group: one invoice per order, its status machine, and
//! the reads, all limited to the order's owner (or an admin).

use std::sync::{Arc, LazyLock};

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::api::{CreateInvoice, SetInvoiceStatus};
use shared::domain::{Invoice, InvoiceStatus, parse_id};
use shared::web::{self, HttpResult, RouteTable};

#[derive(Clone, Copy)]
enum Route {
    Create,
    Get,
    ByOrder,
    ByUser,
    SetStatus,
}

static ROUTES: LazyLock<RouteTable<Route>> = LazyLock::new(|| {
    RouteTable::new(vec![
        (Method::POST, "/invoices", Route::Create),
        (Method::GET, "/invoices/{id}", Route::Get),
        (Method::GET, "/invoices/order/{order_id}", Route::ByOrder),
        (Method::GET, "/invoices/user/{user_id}", Route::ByUser),
        (Method::PUT, "/invoices/{id}", Route::SetStatus),
    ])
});

pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let result = route(&app, &req).await;
    web::finish(&req, result)
}

async fn route(app: &App, req: &Request) -> HttpResult {
    let (route, params) = ROUTES.find(req.method(), req.uri().path())?;
    let caller = web::identity(req, &app.tokens).await?;
    match route {
        Route::Create => {
            let respond = |(invoice, created): &(Invoice, bool)| {
                if *created {
                    web::created(&format!("/invoices/{}", invoice.invoice_id), invoice)
                } else {
                    web::json(StatusCode::OK, invoice)
                }
            };
            web::idempotency::respond_once(
                &*app.store,
                req,
                caller.user_id,
                &respond,
                async || {
                    let body: CreateInvoice = web::parse_json(req)?;
                    parse_id(&body.order_id.to_string(), "order_id")
                },
                async |order_id, idem| {
                    let result = app
                        .invoices
                        .create_for_order(&caller, order_id, idem)
                        .await?;
                    if result.1 {
                        tracing::info!(
                            invoice_id = result.0.invoice_id,
                            order_id,
                            "invoice created"
                        );
                    }
                    Ok(result)
                },
            )
            .await
        }
        Route::Get => {
            let id = parse_id(&params["id"], "invoice id")?;
            Ok(web::json(
                StatusCode::OK,
                &app.invoices.get(&caller, id).await?,
            ))
        }
        Route::ByOrder => {
            let order_id = parse_id(&params["order_id"], "order id")?;
            Ok(web::json(
                StatusCode::OK,
                &app.invoices.get_by_order(&caller, order_id).await?,
            ))
        }
        Route::ByUser => {
            let user_id = parse_id(&params["user_id"], "user id")?;
            let page = web::page_request(req)?;
            let invoices = app.invoices.list_for_user(&caller, user_id, page).await?;
            Ok(web::list(req, &invoices, page.limit))
        }
        Route::SetStatus => {
            let id = parse_id(&params["id"], "invoice id")?;
            let body: SetInvoiceStatus = web::parse_json(req)?;
            let status = InvoiceStatus::parse(&body.status)?;
            let invoice = app.invoices.change_status(&caller, id, status).await?;
            Ok(web::json(StatusCode::OK, &invoice))
        }
    }
}

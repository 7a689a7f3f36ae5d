//! The products endpoint group: the catalog, public reads and authenticated writes.

use std::sync::{Arc, LazyLock};

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::api::{CreateProduct, SetStock, UpdateProduct};
use shared::domain::parse_id;
use shared::service::products::{ProductChanges, ProductDraft};
use shared::web::{self, HttpResult, Params, RouteTable};
use shared::{App, AppError};

#[derive(Clone, Copy)]
enum Route {
    List,
    Get,
    ByCategory,
    Create,
    Update,
    SetStock,
}

static ROUTES: LazyLock<RouteTable<Route>> = LazyLock::new(|| {
    RouteTable::new(vec![
        (Method::GET, "/products", Route::List),
        (Method::GET, "/products/{id}", Route::Get),
        (
            Method::GET,
            "/products/category/{category}",
            Route::ByCategory,
        ),
        (Method::POST, "/products", Route::Create),
        (Method::PUT, "/products/{id}", Route::Update),
        (Method::PUT, "/products/{id}/stock", Route::SetStock),
    ])
});

pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let result = route(&app, &req).await;
    web::finish(&req, result)
}

async fn route(app: &App, req: &Request) -> HttpResult {
    let (route, params) = ROUTES.find(req.method(), req.uri().path())?;
    match route {
        Route::List => {
            let page = web::page_request(req)?;
            let category = web::query(req, "category");
            let products = app.products.list(category.as_deref(), page).await?;
            Ok(web::list(req, &products, page.limit))
        }
        Route::ByCategory => {
            let page = web::page_request(req)?;
            let products = app.products.list(Some(&params["category"]), page).await?;
            Ok(web::list(req, &products, page.limit))
        }
        Route::Get => {
            let product = app.products.get(product_id(&params)?).await?;
            Ok(web::json(StatusCode::OK, &product))
        }
        Route::Create => {
            let caller = web::identity(req, &app.tokens).await?;
            let body: CreateProduct = web::parse_json(req)?;
            let draft = ProductDraft {
                name: body.name,
                description: body.description,
                price: body.price,
                category: body.category,
                in_stock: body.in_stock,
            };
            let product = app.products.create(&caller, draft).await?;
            Ok(web::created(
                &format!("/products/{}", product.product_id),
                &product,
            ))
        }
        Route::Update => {
            let caller = web::identity(req, &app.tokens).await?;
            let id = product_id(&params)?;
            let body: UpdateProduct = web::parse_json(req)?;
            let changes = ProductChanges {
                name: body.name,
                description: body.description,
                price: body.price,
                category: body.category,
                in_stock: body.in_stock,
            };
            if changes.is_empty() {
                return Err(AppError::validation(
                    "give at least one of name, description, price, category, in_stock",
                ));
            }
            Ok(web::json(
                StatusCode::OK,
                &app.products.update(&caller, id, changes).await?,
            ))
        }
        Route::SetStock => {
            let caller = web::identity(req, &app.tokens).await?;
            let id = product_id(&params)?;
            let body: SetStock = web::parse_json(req)?;
            let changes = ProductChanges {
                in_stock: Some(body.in_stock),
                ..Default::default()
            };
            Ok(web::json(
                StatusCode::OK,
                &app.products.update(&caller, id, changes).await?,
            ))
        }
    }
}

fn product_id(params: &Params) -> Result<i64, AppError> {
    parse_id(&params["id"], "product id")
}

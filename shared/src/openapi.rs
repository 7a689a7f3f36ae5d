//! The OpenAPI 3.1 description of the API, built from the code: the schemas
//! are derived (utoipa's `ToSchema`) from the structs the handlers read and
//! write (`crate::api`, `crate::domain`), and every route is one entry of
//! [`operations`]. The docs function serves it at `GET /openapi.json`; a test
//! in `local/tests/openapi.rs` fails when its paths and methods differ from
//! `template.yaml`'s routes.

use std::sync::LazyLock;

use serde_json::{Value, json};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    ComponentsBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Ref, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required, Schema, ServerBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::api;
use crate::domain::{self, InvoiceStatus, Money, Quantity, Timestamp};

/// The cursors `Link` headers carry (`crate::web`): base64url, unpadded, of
/// `v1:` and the decimal id the next page starts after, up to 17 digits. Opaque
/// to clients; the pattern admits exactly what the server reads, so a fuzzer
/// that follows it sends cursors the server accepts.
const CURSOR_PATTERN: &str = concat!(
    "^djE6(?:",
    // Three digits are four characters...
    "(?:(?:[MN][DTjz]|O[DT])[AEIMQUYcgk][w-z0-5]){1,5}",
    // ...and a last one or two digits two or three.
    "(?:(?:[MN][AQgw]|O[AQ])|(?:[MN][DTjz]|O[DT])[AEIMQUYcgk])?",
    "|(?:[MN][AQgw]|O[AQ])|(?:[MN][DTjz]|O[DT])[AEIMQUYcgk]",
    ")$"
);

/// The files `GET /docs/{asset}` serves (the docs function embeds them).
pub const DOCS_ASSETS: [&str; 3] = ["swagger-ui-bundle.js", "swagger-ui.css", "docs.js"];

/// The security scheme protected operations name.
const BEARER: &str = "bearer";

/// One route of the API: its method, its path as the template writes it, and
/// whether API Gateway runs the authorizer in front of it.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub protected: bool,
    operation: utoipa::openapi::path::Operation,
}

/// The document as the JSON `GET /openapi.json` answers with, built once per
/// process.
pub fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(build()).expect("an OpenApi value always serialises");
        camel_case_links(&mut doc);
        doc.to_string()
    });
    &JSON
}

/// utoipa 5.5 serialises its `Link` fields in snake_case (`operation_id`,
/// `request_body`), which OpenAPI tools ignore: rename them to the names the
/// specification gives (`operationId`, `requestBody`, `operationRef`).
fn camel_case_links(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|r| r.get_mut("links").and_then(Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        for (from, to) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(v) = link.remove(from) {
                link.insert(to.into(), v);
            }
        }
    }
}

/// `(METHOD, path)` of every operation, for the route table of the function
/// that answers unknown routes (its 405 `Allow`) and for the drift test.
pub fn routes() -> Vec<(&'static str, &'static str, bool)> {
    operations()
        .into_iter()
        .map(|r| (r.method, r.path, r.protected))
        .collect()
}

fn build() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut by_path: Vec<(&str, PathItem)> = Vec::new();
    for route in operations() {
        let method = match route.method {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            "PATCH" => HttpMethod::Patch,
            other => unreachable!("no route uses {other}"),
        };
        match by_path.iter_mut().find(|(p, _)| *p == route.path) {
            Some((_, item)) => item.merge_operations(PathItem::new(method, route.operation)),
            None => by_path.push((route.path, PathItem::new(method, route.operation))),
        }
    }
    for (path, item) in by_path {
        paths = paths.path(path, item);
    }

    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
    add::<api::Credentials>(&mut schemas);
    add::<api::Registered>(&mut schemas);
    add::<api::LoggedIn>(&mut schemas);
    add::<api::RefreshRequest>(&mut schemas);
    add::<api::CreateProduct>(&mut schemas);
    add::<api::UpdateProduct>(&mut schemas);
    add::<api::SetStock>(&mut schemas);
    add::<api::PlaceOrder>(&mut schemas);
    add::<api::CreateInvoice>(&mut schemas);
    add::<api::SetInvoiceStatus>(&mut schemas);
    add::<api::Health>(&mut schemas);
    add::<api::ErrorBody<'static>>(&mut schemas);
    add::<api::GatewayMessage>(&mut schemas);
    add::<domain::Product>(&mut schemas);
    add::<domain::Order>(&mut schemas);
    add::<domain::Invoice>(&mut schemas);
    // A change of a product gives at least one known field a value (`null` is
    // not given, unknown fields are ignored): say so, as the derive cannot.
    for (name, schema) in &mut schemas {
        if name.as_str() == api::UpdateProduct::name()
            && let RefOr::T(Schema::Object(object)) = schema
        {
            let fields = ["name", "description", "price", "category", "in_stock"];
            object.extensions = Some(utoipa::openapi::extensions::Extensions::from_iter([(
                "anyOf",
                Value::Array(
                    fields
                        .map(|f| {
                            json!({
                                "required": [f],
                                "properties": { f: { "not": { "type": "null" } } },
                            })
                        })
                        .to_vec(),
                ),
            )]));
        }
    }
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);

    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `token` of `POST /login`, as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        )
        .build();

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Commerce API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/").build()]))
        .tags(Some(
            [
                ("auth", "Accounts and tokens"),
                ("products", "The catalog"),
                ("orders", "Orders of a user"),
                ("invoices", "One invoice per order, and its status"),
                ("service", "Health and this description"),
            ]
            .map(|(name, what)| TagBuilder::new().name(name).description(Some(what)).build()),
        ))
        .paths(paths.build())
        .components(Some(components))
        .build()
}

const DESCRIPTION: &str = "JSON in and out. Errors (every 4xx and 5xx of the functions, \
including unknown routes and wrong methods) carry the `Error` body; a wrong method on a known \
path is a 405 with `Allow`. Protected operations need `Authorization: Bearer <token>` from \
`POST /login`: in front of them API Gateway answers 401 `{\"message\":\"Unauthorized\"}` \
without the header and 403 `{\"message\":\"Forbidden\"}` for a token it rejects. Lists are bare \
arrays with `?limit=` (1 to 200, default 50) and `?cursor=`; a `Link: <...>; rel=\"next\"` \
header points at the next page.";

/// Every operation of the API. A new route is one entry here (and one event
/// in `template.yaml`: the drift test holds the two together).
fn operations() -> Vec<Route> {
    let product_links = |r: ResponseBuilder| {
        r.linked(
            "GetProduct",
            link("getProduct", "the product").parameter("id", "$response.body#/product_id"),
        )
        .linked(
            "UpdateProduct",
            link("updateProduct", "change it").parameter("id", "$response.body#/product_id"),
        )
        .linked(
            "SetProductStock",
            link("setProductStock", "its stock").parameter("id", "$response.body#/product_id"),
        )
        .linked(
            "PlaceOrder",
            link("placeOwnOrder", "order one of it").request_body(Some(
                json!({ "product_id": "$response.body#/product_id", "quantity": 1 }),
            )),
        )
    };
    let order_links = |r: ResponseBuilder| {
        r.linked(
            "CreateInvoice",
            link("createInvoice", "invoice this order")
                .request_body(Some(json!({ "order_id": "$response.body#/order_id" }))),
        )
        .linked(
            "InvoiceOfOrder",
            link("getInvoiceOfOrder", "the order's invoice")
                .parameter("order_id", "$response.body#/order_id"),
        )
    };
    let invoice_links = |r: ResponseBuilder| {
        r.linked(
            "GetInvoice",
            link("getInvoice", "the invoice").parameter("id", "$response.body#/invoice_id"),
        )
        .linked(
            "SetInvoiceStatus",
            link("setInvoiceStatus", "change its status")
                .parameter("id", "$response.body#/invoice_id")
                .request_body(Some(json!({ "status": "sent" }))),
        )
        .linked(
            "InvoicesOfUser",
            link("listInvoicesOfUser", "its owner's invoices")
                .parameter("user_id", "$response.body#/user_id"),
        )
    };

    vec![
        // service
        Route::public(
            "GET",
            "/health",
            "getHealth",
            "service",
            "The service and its store",
        )
        .respond(
            "200",
            ResponseBuilder::new()
                .description("The store answers")
                .content("application/json", json_of::<api::Health>(None)),
        )
        .respond(
            "503",
            ResponseBuilder::new()
                .description("The store does not answer (`status` is `degraded`)")
                .content("application/json", json_of::<api::Health>(None)),
        ),
        Route::public(
            "GET",
            "/openapi.json",
            "getOpenApi",
            "service",
            "This OpenAPI 3.1 description",
        )
        .respond(
            "200",
            ResponseBuilder::new()
                .description("The description")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                        .build(),
                ),
        ),
        Route::public(
            "GET",
            "/docs",
            "getDocs",
            "service",
            "A page that renders this description",
        )
        .respond(
            "200",
            ResponseBuilder::new().description("An HTML page").content(
                "text/html",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ),
        ),
        Route::public(
            "GET",
            "/docs/{asset}",
            "getDocsAsset",
            "service",
            "A script or stylesheet of the docs page",
        )
        .param(
            ParameterBuilder::new()
                .name("asset")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(DOCS_ASSETS)),
                ))
                .example(Some(json!("docs.js"))),
        )
        .respond(
            "200",
            ResponseBuilder::new()
                .description("The file")
                .content("text/javascript", text_content())
                .content("text/css", text_content()),
        )
        .error("404", "`route_not_found`: no such file"),
        // auth
        Route::public("POST", "/register", "register", "auth", "Create an account")
            .body::<api::Credentials>(
                json!({ "username": "alice", "password": "correct horse battery" }),
            )
            .respond(
                "201",
                ResponseBuilder::new()
                    .description("Created")
                    .content("application/json", json_of::<api::Registered>(None))
                    .linked(
                        "Login",
                        link("login", "log in with the same credentials")
                            .request_body(Some("$request.body")),
                    ),
            )
            .error("409", "`username_taken`"),
        Route::public("POST", "/login", "login", "auth", "Log in: a bearer token")
            .body::<api::Credentials>(
                json!({ "username": "alice", "password": "correct horse battery" }),
            )
            .respond(
                "200",
                ResponseBuilder::new()
                    .description("Logged in")
                    .content("application/json", json_of::<api::LoggedIn>(None)),
            )
            .error("401", "`invalid_credentials`: wrong username or password")
            .error(
                "429",
                "`too_many_attempts`: 5 failed logins for this username in 15 minutes; \
                 `Retry-After` says when the window closes",
            ),
        Route::public(
            "POST",
            "/token/refresh",
            "refreshToken",
            "auth",
            "Trade a refresh token for new tokens (rotation)",
        )
        .body::<api::RefreshRequest>(
            json!({ "refresh_token": "q3pY0n7k0Jt9m1m4d0c2Jc8pLQn4mJ1bQ2a3s4d5f6g" }),
        )
        .respond(
            "200",
            ResponseBuilder::new()
                .description("New tokens; the one presented is spent")
                .content("application/json", json_of::<api::LoggedIn>(None)),
        )
        .error(
            "401",
            "`invalid_refresh_token`: unknown, expired or revoked; a spent token \
             presented again also revokes its whole session",
        ),
        Route::protected(
            "POST",
            "/logout",
            "logout",
            "auth",
            "End the session of a refresh token",
        )
        .body::<api::RefreshRequest>(
            json!({ "refresh_token": "q3pY0n7k0Jt9m1m4d0c2Jc8pLQn4mJ1bQ2a3s4d5f6g" }),
        )
        .respond(
            "204",
            ResponseBuilder::new().description("The session is revoked"),
        )
        .respond(
            "401",
            platform_or_error(
                "No Authorization header (the platform's `Unauthorized`), a token the \
                 function itself rejects (`unauthorized`), or a refresh token that is not a \
                 live one of the caller's (`invalid_refresh_token`)",
            )
            .into(),
        ),
        // products
        Route::public(
            "GET",
            "/products",
            "listProducts",
            "products",
            "The catalog, by id",
        )
        .param(query_text("category", "Only this category", 64))
        .list_params()
        .respond("200", list_of::<domain::Product>()),
        Route::public(
            "GET",
            "/products/{id}",
            "getProduct",
            "products",
            "One product",
        )
        .param(id_param("id", "The product id"))
        .respond(
            "200",
            product_links(ok_of::<domain::Product>("The product")),
        )
        .error("404", "`product_not_found`"),
        Route::public(
            "GET",
            "/products/category/{category}",
            "listProductsByCategory",
            "products",
            "The products of one category",
        )
        .param(text_param("category", "The category", 64))
        .list_params()
        .respond("200", list_of::<domain::Product>()),
        Route::protected(
            "POST",
            "/products",
            "createProduct",
            "products",
            "Add a product",
        )
        .body::<api::CreateProduct>(json!({
            "name": "Desk lamp", "description": "Warm light", "price": 39.9,
            "category": "Home", "in_stock": true
        }))
        .respond(
            "201",
            product_links(created_of::<domain::Product>("The new product")),
        ),
        Route::protected(
            "PUT",
            "/products/{id}",
            "updateProduct",
            "products",
            "Change any of a product's fields",
        )
        .param(id_param("id", "The product id"))
        .body::<api::UpdateProduct>(json!({ "price": 35.5 }))
        .respond("200", ok_of::<domain::Product>("The product as it is now"))
        .error("404", "`product_not_found`"),
        Route::protected(
            "PUT",
            "/products/{id}/stock",
            "setProductStock",
            "products",
            "Set whether a product is in stock",
        )
        .param(id_param("id", "The product id"))
        .body::<api::SetStock>(json!({ "in_stock": false }))
        .respond("200", ok_of::<domain::Product>("The product as it is now"))
        .error("404", "`product_not_found`"),
        // orders
        Route::protected(
            "POST",
            "/orders",
            "placeOwnOrder",
            "orders",
            "Order for yourself",
        )
        .idempotent()
        .body::<api::PlaceOrder>(json!({ "items": [{ "product_id": 1, "quantity": 2 }] }))
        .respond("201", order_links(created_of::<domain::Order>("The order")))
        .error("409", "`product_out_of_stock`, or `idempotency_key_in_use`")
        .error("422", "`idempotency_key_reused`"),
        Route::protected(
            "GET",
            "/orders",
            "listOwnOrders",
            "orders",
            "Your orders, newest first",
        )
        .list_params()
        .respond("200", list_of::<domain::Order>()),
        Route::protected(
            "POST",
            "/orders/{username}",
            "placeOrderFor",
            "orders",
            "Order for a user (yourself, or anyone for an admin)",
        )
        .param(username_param())
        .idempotent()
        .body::<api::PlaceOrder>(json!({ "product_id": 1, "quantity": 1 }))
        .respond("201", order_links(created_of::<domain::Order>("The order")))
        .error("404", "`user_not_found`")
        .error("409", "`product_out_of_stock`, or `idempotency_key_in_use`")
        .error("422", "`idempotency_key_reused`"),
        Route::protected(
            "GET",
            "/orders/{username}",
            "listOrdersOf",
            "orders",
            "A user's orders (yours, or anyone's for an admin)",
        )
        .param(username_param())
        .list_params()
        .respond("200", list_of::<domain::Order>())
        .error("404", "`user_not_found`"),
        // invoices
        Route::protected(
            "POST",
            "/invoices",
            "createInvoice",
            "invoices",
            "The invoice of an order: created once, then the same one",
        )
        .idempotent()
        .body::<api::CreateInvoice>(json!({ "order_id": 1 }))
        .respond(
            "201",
            invoice_links(created_of::<domain::Invoice>("Created")),
        )
        .respond(
            "200",
            invoice_links(ok_of::<domain::Invoice>("The order's existing invoice")),
        )
        .error("404", "`order_not_found`")
        .error("409", "`idempotency_key_in_use`")
        .error("422", "`idempotency_key_reused`"),
        Route::protected(
            "GET",
            "/invoices/{id}",
            "getInvoice",
            "invoices",
            "One invoice",
        )
        .param(id_param("id", "The invoice id"))
        .respond(
            "200",
            invoice_links(ok_of::<domain::Invoice>("The invoice")),
        )
        .error("404", "`invoice_not_found`"),
        Route::protected(
            "GET",
            "/invoices/order/{order_id}",
            "getInvoiceOfOrder",
            "invoices",
            "The invoice of an order",
        )
        .param(id_param("order_id", "The order id"))
        .respond(
            "200",
            invoice_links(ok_of::<domain::Invoice>("The invoice")),
        )
        .error("404", "`order_not_found` or `invoice_not_found`"),
        Route::protected(
            "GET",
            "/invoices/user/{user_id}",
            "listInvoicesOfUser",
            "invoices",
            "A user's invoices, newest first",
        )
        .param(id_param("user_id", "The user id"))
        .list_params()
        .respond("200", list_of::<domain::Invoice>())
        .error("404", "`user_not_found`"),
        Route::protected(
            "PUT",
            "/invoices/{id}",
            "setInvoiceStatus",
            "invoices",
            "Move an invoice along draft -> sent -> paid (or cancelled)",
        )
        .param(id_param("id", "The invoice id"))
        .body::<api::SetInvoiceStatus>(json!({ "status": "paid" }))
        .respond(
            "200",
            invoice_links(ok_of::<domain::Invoice>("The invoice as it is now")),
        )
        .error("404", "`invoice_not_found`")
        .error("409", "`invalid_status_transition`"),
    ]
}

impl Route {
    fn new(
        method: &'static str,
        path: &'static str,
        id: &str,
        tag: &str,
        summary: &str,
        protected: bool,
    ) -> Route {
        let mut operation = OperationBuilder::new()
            .operation_id(Some(id))
            .tag(tag)
            .summary(Some(summary))
            .build();
        // Every function answers these itself.
        for (status, what) in [
            (
                "400",
                "`validation_error` naming the field, or `invalid_json`",
            ),
            ("500", "`internal_error`: nothing internal is shown"),
            (
                "503",
                "`service_unavailable`: the store does not answer; retry later",
            ),
        ] {
            operation
                .responses
                .responses
                .insert(status.into(), error_response(what).into());
        }
        if protected {
            operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
            operation.responses.responses.insert(
                "401".into(),
                platform_or_error(
                    "No Authorization header (the platform's `Unauthorized`), or a token the \
                     function itself rejects (`unauthorized`)",
                )
                .into(),
            );
            operation.responses.responses.insert(
                "403".into(),
                platform_or_error(
                    "A token the authorizer rejects (the platform's `Forbidden`), or someone \
                     else's data (`forbidden`)",
                )
                .into(),
            );
        }
        Route {
            method,
            path,
            protected,
            operation,
        }
    }

    fn public(m: &'static str, p: &'static str, id: &str, tag: &str, summary: &str) -> Route {
        Route::new(m, p, id, tag, summary, false)
    }

    fn protected(m: &'static str, p: &'static str, id: &str, tag: &str, summary: &str) -> Route {
        Route::new(m, p, id, tag, summary, true)
    }

    fn respond(mut self, status: &str, response: ResponseBuilder) -> Route {
        self.operation
            .responses
            .responses
            .insert(status.into(), response.build().into());
        self
    }

    fn error(mut self, status: &str, what: &str) -> Route {
        self.operation
            .responses
            .responses
            .insert(status.into(), error_response(what).into());
        self
    }

    fn param(mut self, parameter: ParameterBuilder) -> Route {
        self.operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(parameter.build());
        self
    }

    /// A JSON body of type `T` (at most 64 KiB: 413 above).
    fn body<T: ToSchema>(self, example: Value) -> Route {
        let mut route = self.error("413", "`payload_too_large`: the body is over 64 KiB");
        route.operation.request_body = Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(T::name())))
                        .example(Some(example))
                        .build(),
                )
                .build(),
        );
        route
    }

    fn list_params(self) -> Route {
        self.param(
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("Items per page, 1 to 200 (default 50)"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(domain::PageRequest::MAX_LIMIT)),
                )),
        )
        .param(
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Where the next page starts: copy it from the `Link` header; any other value is a 400",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(CURSOR_PATTERN)),
                )),
        )
    }

    /// `Idempotency-Key` (see the API's Retries rules).
    fn idempotent(self) -> Route {
        self.param(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "1 to 255 printable ASCII characters: the same request again with the same \
                     key within 24 hours answers the first response again, creating nothing",
                ))
                .schema(Some(
                    ObjectBuilder::new().schema_type(Type::String).pattern(Some(
                        "^[\\x21-\\x7e][\\x20-\\x7e]{0,253}[\\x21-\\x7e]$|^[\\x21-\\x7e]$",
                    )),
                )),
        )
    }
}

/// A link to another operation (what stateful clients and fuzzers follow).
trait Linked {
    fn linked(self, name: &str, link: LinkBuilder) -> Self;
}

impl Linked for ResponseBuilder {
    fn linked(self, name: &str, link: LinkBuilder) -> Self {
        self.link(name, link.build())
    }
}

fn link(operation_id: &str, description: &str) -> LinkBuilder {
    LinkBuilder::new()
        .operation_id(operation_id)
        .description(description)
}

fn text_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

fn json_of<T: ToSchema>(example: Option<Value>) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(T::name())))
        .example(example)
        .build()
}

fn ok_of<T: ToSchema>(what: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(what)
        .content("application/json", json_of::<T>(None))
}

fn created_of<T: ToSchema>(what: &str) -> ResponseBuilder {
    ok_of::<T>(what).header(
        "Location",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("Where the new resource is read"))
            .build(),
    )
}

fn list_of<T: ToSchema>() -> ResponseBuilder {
    ResponseBuilder::new()
        .description("A page of the list")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(Ref::from_schema_name(T::name())),
                ))
                .build(),
        )
        .header(
            "Link",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some("`<...>; rel=\"next\"` when more remain"))
                .build(),
        )
}

fn error_response(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(what)
        .content("application/json", json_of::<api::ErrorBody<'static>>(None))
        .build()
}

/// 401 and 403 of a protected route: the platform's `{"message"}` from the
/// authorizer step, or the function's own error body.
fn platform_or_error(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(what)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(
                    OneOfBuilder::new()
                        .item(Ref::from_schema_name(api::ErrorBody::name()))
                        .item(Ref::from_schema_name(api::GatewayMessage::name())),
                ))
                .build(),
        )
        .build()
}

fn id_param(name: &str, what: &str) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(what))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1))
                .maximum(Some(domain::MAX_ID)),
        ))
        .example(Some(json!(1)))
}

fn username_param() -> ParameterBuilder {
    ParameterBuilder::new()
        .name("username")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("A username"))
        .schema(Some(username_schema()))
        .example(Some(json!("alice")))
}

fn text_param(name: &str, what: &str, max: usize) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(what))
        .schema(Some(text_schema(max)))
        .example(Some(json!("Electronics")))
}

fn query_text(name: &str, what: &str, max: usize) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(what))
        .schema(Some(text_schema(max)))
}

/// What `domain::product`'s text fields accept: after trimming, 1 to `max`
/// characters, none of them a control character.
fn text_schema(max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(TEXT_PATTERN))
}

use crate::api::TEXT_PATTERN;

fn username_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[A-Za-z0-9_.-]{3,32}$"))
}

// The domain's own scalar types, as JSON shows them.

/// Any amount the API shows: a price, or a total, which may be above the
/// largest price (a thousand of an item on each of fifty lines).
impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0))
            .multiple_of(Some(0.01))
            .description(Some("An exact amount: at most two decimals, not negative"))
            .examples([json!(1299.99)])
            .into()
    }
}
impl ToSchema for Money {}

/// An amount a request gives (a product's price): `Money` up to
/// 1000000000.00, as `Money`'s parser accepts (400 above).
pub struct Price;

impl PartialSchema for Price {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0))
            .maximum(Some(domain::money::MAX_CENTS / 100))
            .multiple_of(Some(0.01))
            .description(Some(
                "An exact amount: at most two decimals, 0 to 1000000000.00",
            ))
            .examples([json!(1299.99)])
            .into()
    }
}
impl ToSchema for Price {}

/// Either `{"items": [...]}` or `{"product_id", "quantity"}`, never both.
impl PartialSchema for api::PlaceOrder {
    fn schema() -> RefOr<Schema> {
        let id = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(domain::MAX_ID));
        let quantity = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(Quantity::MAX));
        let lines = utoipa::openapi::schema::ArrayBuilder::new()
            .items(Ref::from_schema_name(api::OrderLineBody::name()))
            .min_items(Some(1))
            .max_items(Some(domain::order::MAX_ORDER_LINES));
        // Written with `not` because unknown fields are ignored, not refused:
        // the forms differ by which known fields are present. utoipa's Object
        // has no `not`; its extensions are written into the object as given.
        let not = |schema: Value| {
            Some(utoipa::openapi::extensions::Extensions::from_iter([(
                "not", schema,
            )]))
        };
        let mut lines_form = ObjectBuilder::new()
            .property("items", lines)
            .required("items")
            .description(Some("Several lines"))
            .build();
        lines_form.extensions = not(json!({
            "anyOf": [{ "required": ["product_id"] }, { "required": ["quantity"] }]
        }));
        let mut single_form = ObjectBuilder::new()
            .property("product_id", id)
            .property("quantity", quantity)
            .required("product_id")
            .required("quantity")
            .description(Some("One line"))
            .build();
        single_form.extensions = not(json!({ "required": ["items"] }));
        OneOfBuilder::new()
            .item(lines_form)
            .item(single_form)
            .examples([json!({ "items": [{ "product_id": 1, "quantity": 2 }] })])
            .into()
    }
}
impl ToSchema for api::PlaceOrder {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            api::OrderLineBody::name().into_owned(),
            api::OrderLineBody::schema(),
        ));
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, UTC"))
            .examples([json!("2026-11-24T09:30:00Z")])
            .into()
    }
}
impl ToSchema for Timestamp {}

impl PartialSchema for Quantity {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(Quantity::MAX))
            .into()
    }
}
impl ToSchema for Quantity {}

impl PartialSchema for InvoiceStatus {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(InvoiceStatus::ALL.map(InvoiceStatus::as_str)))
            .into()
    }
}
impl ToSchema for InvoiceStatus {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_openapi_3_1_with_every_route_and_its_security() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let routes = routes();
        for (method, path, protected) in &routes {
            let op = &doc["paths"][path][method.to_ascii_lowercase()];
            assert!(op.is_object(), "{method} {path} is described");
            assert_eq!(op["security"].is_array(), *protected, "{method} {path}");
        }
        let described: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(described, routes.len(), "one operation per route");
    }

    #[test]
    fn the_text_patterns_of_the_bodies_are_the_ones_of_the_parameters() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [
            ("CreateProduct", "name"),
            ("CreateProduct", "category"),
            ("UpdateProduct", "name"),
            ("UpdateProduct", "category"),
        ] {
            assert_eq!(
                schemas[schema]["properties"][field]["pattern"], TEXT_PATTERN,
                "{schema}.{field}"
            );
        }
        for schema in ["CreateProduct", "UpdateProduct"] {
            assert_eq!(
                schemas[schema]["properties"]["description"]["pattern"],
                api::ANY_TEXT_PATTERN,
                "{schema}.description"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let text = document_json();
        let doc: Value = serde_json::from_str(text).unwrap();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{r} is not a declared schema"
            );
        }
    }

    #[test]
    fn links_name_operations_that_exist() {
        let doc: Value = serde_json::from_str(document_json()).unwrap();
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let mut links = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let responses = op["responses"].as_object();
                for response in responses.into_iter().flat_map(|r| r.values()) {
                    for link in response["links"]
                        .as_object()
                        .into_iter()
                        .flat_map(|l| l.values())
                    {
                        links += 1;
                        let target = link["operationId"].as_str().unwrap();
                        assert!(ids.contains(&target), "a link names {target}");
                    }
                }
            }
        }
        assert!(links >= 10, "{links} links");
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        out.push(v.as_str().unwrap().to_owned());
                    } else {
                        collect_refs(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}

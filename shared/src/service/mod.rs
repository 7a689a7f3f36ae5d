//! One service per domain. Services hold the business rules; they speak domain
//! types and repository traits, never SQL or HTTP.

pub mod invoices;
pub mod orders;
pub mod products;
pub mod users;

pub use invoices::InvoiceService;
pub use orders::OrderService;
pub use products::ProductService;
pub use users::{LoginOutcome, UserService};

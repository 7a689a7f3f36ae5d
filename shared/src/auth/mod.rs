//! Credentials: JWT issue/verify and password hashing.

mod hs256;
pub mod jwt;
pub mod password;

pub use jwt::{Claims, TokenKeys};
pub use password::PasswordHasher;

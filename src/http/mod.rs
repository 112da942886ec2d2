//! What every dialect shares on the HTTP side: the error type, mounting, middleware, health,
//! docs, the server.

pub mod client_ip;
pub mod connections;
pub mod docs;
mod error;
pub mod health;
pub mod middleware;
pub mod mount;
pub mod respond;
pub mod schema;
pub mod server;
pub mod strict;
pub mod time;

pub use error::ApiError;

//! Talking to the target: connections (TCP, TLS, HTTP/1.1 or h2), the lean HTTP/1 client, and
//! one request of the load from first byte to last, redirects included.

pub mod conn;
pub mod exchange;
pub mod h1;
pub mod tls;

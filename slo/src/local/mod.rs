//! Starting a real Prometheus (`prometheus`) or Alertmanager (`alertmanager`) on a free
//! loopback port, for tests and rehearsals.

pub mod alertmanager;
mod child;

pub use child::{LocalServiceError, Service};
pub mod prometheus;

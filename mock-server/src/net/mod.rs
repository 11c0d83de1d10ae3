//! The transport: the accept loop with its per-connection limits (`server`) and the open
//! connections, for a bounded shutdown (`drain`).

pub mod drain;
pub mod server;

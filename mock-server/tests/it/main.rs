//! mock-server's integration suite: real servers on 127.0.0.1:0, real HTTP, and `/metrics`.

mod console;
mod deploy;
mod exact_draws;
mod faults;
mod hostile;
mod metrics_contract;
mod names;
mod origin;
mod phase_api;
mod phase_props;
mod profiles;
mod routes;
mod shutdown;
mod statistics;
mod support;
mod timeline;
mod watch;

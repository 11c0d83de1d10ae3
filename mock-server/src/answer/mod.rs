//! How one answer is shaped, importing nothing above: latency ranges and shapes (`latency`),
//! transport faults (`fault`), an exact sleep (`precise`), canned bodies (`bodies`) and which
//! release this process plays (`profile`).

pub mod bodies;
pub mod fault;
pub mod latency;
pub mod precise;
pub mod profile;

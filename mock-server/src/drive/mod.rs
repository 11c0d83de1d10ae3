//! Phase drivers, which change the phase in the store while the mock runs: a timeline played
//! on a clock (`--timeline`) and a watched phase file (`--watch-phase`).

pub mod timeline;
pub mod watch;

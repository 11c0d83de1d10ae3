//! Everything that runs against a real Prometheus, in one test binary: Cargo runs test binaries
//! one after the other, and these tests spend their time waiting on compressed timelines, not
//! on the CPU, so sharing a binary lets two of them wait at once (about 230 s of the suite
//! instead of 450). Each module says what it checks; each skips, saying why, when the
//! prometheus binary is absent (a failure under `REQUIRE_PROMETHEUS=1`).

mod canary;
mod dashboards;
mod rehearse;
mod slo_burn;

//! End-to-end suite shared helpers (the tests live in `tests/`).

//! Fuzzes the phase parser with arbitrary bytes: it must never panic, and whatever it accepts
//! must read back (GET /phase) as a document it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mock_server::Phase;

fuzz_target!(|data: &[u8]| {
    let base = Phase::workshop_default();
    if let Ok(phase) = base.merged(data) {
        let doc: serde_json::Value = serde_json::from_slice(&phase.to_document()).unwrap();
        let inner = serde_json::to_vec(&doc["CurrentProbMetrics"]).unwrap();
        assert_eq!(base.merged(&inner).unwrap(), phase);
    }
});

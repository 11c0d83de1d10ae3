//! A canary rollout's result as text: the steps as a table, then the verdict (promoted,
//! rolled back, or neither). The line printed at each check, while the rollout goes on, is
//! `canary::check_line`.

use std::fmt::Write as _;

use crate::canary::CanaryResult;

/// The timeline as a table, then the verdict.
pub fn text(result: &CanaryResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<5} {:>7} {:>12} {:>12} {:>11}  verdict",
        "step", "weight", "canary reqs", "error rate", "p99"
    );
    for s in &result.steps {
        let failed: Vec<String> = s
            .gates
            .iter()
            .filter(|g| !g.held)
            .map(|g| format!("{} (got {:.4})", g.gate, g.actual))
            .collect();
        let verdict = if s.passed {
            "pass".to_owned()
        } else if failed.is_empty() {
            "no canary traffic to judge".to_owned()
        } else {
            format!("FAIL: {}", failed.join(", "))
        };
        let _ = writeln!(
            out,
            "{:<5} {:>6}% {:>12} {:>11.3}% {:>9.4} s  {verdict}",
            s.step,
            s.weight,
            s.canary_requests,
            s.canary_error_rate * 100.0,
            s.canary_p99
        );
    }
    match &result.rollback {
        Some(r) => {
            let _ = writeln!(
                out,
                "\nROLLED BACK at step {} ({}%): detected {:.2} s into the step; canary at weight 0 {:.3} s later.",
                r.step, r.weight, r.time_to_detect_secs, r.time_to_rollback_secs
            );
            if let Some(v) = &r.verification {
                let _ = writeln!(
                    out,
                    "Verification on stable: {} requests, error rate {:.3}%, p99 {:.4} s.",
                    v.requests,
                    v.error_rate * 100.0,
                    v.p99
                );
            }
        }
        None if result.promoted => {
            let _ = writeln!(out, "\nPROMOTED: every step held its gates.");
        }
        None => {
            let _ = writeln!(
                out,
                "\nNOT PROMOTED: a step had no canary traffic to judge."
            );
        }
    }
    out
}

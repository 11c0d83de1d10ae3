//! A rehearsal's verdicts as the table printed on stdout (expectation, predicted, deadline,
//! observed, verdict) and as a JUnit file, one testcase per expectation, that CI systems
//! display.

use std::fmt::Write as _;

use crate::rehearse::{Expected, RehearsalReport};

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |s| format!("{s:.1} s"))
}

/// The verdict table: expectation, predicted, observed, verdict.
pub fn table(report: &RehearsalReport) -> String {
    let width = report
        .verdicts
        .iter()
        .map(|v| v.expectation.len())
        .max()
        .unwrap_or(0)
        .max("expectation".len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>10}  {:>10}  {:>10}  verdict",
        "expectation", "predicted", "deadline", "observed"
    );
    for v in &report.verdicts {
        let _ = writeln!(
            out,
            "{:<width$}  {:>10}  {:>10}  {:>10}  {}",
            v.expectation,
            secs(v.predicted_secs),
            secs(v.deadline_secs),
            match (v.state, v.observed_secs) {
                (Expected::Inactive, None) => "quiet".into(),
                (Expected::Resolved, None) if v.detail.starts_with("never fired") => {
                    "never".into()
                }
                (Expected::Resolved, None) => "firing".into(),
                (_, None) => "never".into(),
                (_, t) => secs(t),
            },
            if v.passed { "PASS" } else { "FAIL" }
        );
    }
    let failed = report.verdicts.iter().filter(|v| !v.passed).count();
    let _ = writeln!(
        out,
        "\n{} of {} expectations held{}; times are seconds from each step's start, at {}x{}",
        report.verdicts.len() - failed,
        report.verdicts.len(),
        if failed == 0 { "" } else { " (FAILED)" },
        report.time_scale,
        if report.interrupted {
            "; interrupted"
        } else {
            ""
        }
    );
    out
}

/// A JUnit XML file: one testsuite, one testcase per expectation, failures marked.
pub fn junit(report: &RehearsalReport) -> String {
    let failures = report.verdicts.iter().filter(|v| !v.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites tests=\"{n}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{failures}\">",
        xml(&format!("rehearse {}", report.file)),
        n = report.verdicts.len()
    );
    for v in &report.verdicts {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml(&format!("rehearse.{}", v.step)),
            xml(&v.expectation),
            v.observed_secs.unwrap_or(0.0)
        );
        if v.passed {
            out.push_str(" />\n");
        } else {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\">predicted {}, deadline {}, observed {}</failure>\n    </testcase>",
                xml(&v.detail),
                secs(v.predicted_secs),
                secs(v.deadline_secs),
                secs(v.observed_secs)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::{junit, table};
    use crate::rehearse::{Expected, RehearsalReport, Verdict};

    fn verdict(name: &str, state: Expected, observed: Option<f64>, passed: bool) -> Verdict {
        Verdict {
            expectation: name.into(),
            step: "s1".into(),
            alert: "A".into(),
            labels: Default::default(),
            state,
            predicted_secs: Some(2.0),
            deadline_secs: Some(5.0),
            observed_secs: observed,
            passed,
            detail: if passed {
                "on time".into()
            } else {
                "fired late, at 7.0 s; deadline 5.0 s <&>".into()
            },
        }
    }

    fn report(verdicts: Vec<Verdict>) -> RehearsalReport {
        RehearsalReport {
            file: "r.toml".into(),
            time_scale: 60,
            steps: vec![],
            verdicts,
            interrupted: false,
        }
    }

    #[test]
    fn the_table_names_what_was_observed_and_counts_what_held() {
        let mut never = verdict("s1: Q resolves", Expected::Resolved, None, false);
        never.detail = "never fired in this rehearsal".into();
        let r = report(vec![
            never,
            verdict("s1: F resolves", Expected::Resolved, None, false),
            verdict("s1: D stays quiet", Expected::Inactive, None, true),
            verdict("s1: A fires", Expected::Firing, Some(3.5), true),
        ]);
        let t = table(&r);
        let cells: Vec<&str> = t
            .lines()
            .skip(1)
            .take(4)
            .map(|l| l.split_whitespace().rev().nth(1).unwrap())
            .collect();
        assert_eq!(cells, ["never", "firing", "quiet", "s"], "{t}");
        assert!(t.contains("3.5 s  PASS"), "{t}");
        assert!(
            t.ends_with("\n2 of 4 expectations held (FAILED); times are seconds from each step's start, at 60x\n"),
            "{t}"
        );
    }

    #[test]
    fn junit_has_one_testcase_per_expectation_and_escapes_the_detail() {
        let r = report(vec![
            verdict("s1: A fires", Expected::Firing, Some(3.0), true),
            verdict("s1: B fires", Expected::Firing, Some(7.0), false),
        ]);
        let x = junit(&r);
        assert!(
            x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            "{x}"
        );
        assert_eq!(x.matches("<testcase ").count(), 2, "{x}");
        assert_eq!(x.matches("<failure ").count(), 1, "{x}");
        assert!(
            x.contains("message=\"fired late, at 7.0 s; deadline 5.0 s &lt;&amp;&gt;\""),
            "{x}"
        );
        assert!(x.contains("<testsuites tests=\"2\" failures=\"1\">"), "{x}");
    }
}

//! Burn-rate predictions for the checked-in SLOs, at the time compression the e2e test uses.

use std::time::Duration;

use slo::Compression;
use slo::predict::{fires_after, resolves_after};

use crate::support::checked_in_spec;

fn pair(slo: &str, policy: &str) -> (slo::spec::Slo, slo::spec::Policy) {
    let spec = checked_in_spec();
    let slo = spec.slos.iter().find(|s| s.name == slo).unwrap().clone();
    let policy = spec
        .policies
        .iter()
        .find(|p| p.name == policy)
        .unwrap()
        .clone();
    (slo, policy)
}

fn close(a: Option<Duration>, seconds: f64) -> bool {
    a.is_some_and(|a| (a.as_secs_f64() - seconds).abs() < 1e-6)
}

#[test]
fn a_full_outage_pages_in_the_workbook_time_compressed_60x() {
    let (slo, policy) = pair("chat-latency", "page-1h");
    let long_history = Duration::from_secs(3600);
    // 14.4% of the (compressed) hour: 8.64 s; the 5 s short window crosses sooner.
    let t = fires_after(&slo, &policy, 0.0, 1.0, long_history, Compression::E2E);
    assert!(close(t, 8.64), "{t:?}");
    // Real time: 8.64 minutes.
    let t = fires_after(
        &slo,
        &policy,
        0.0,
        1.0,
        long_history * 60,
        Compression::NONE,
    );
    assert!(close(t, 518.4), "{t:?}");
    // After recovery the 5 s window must fall to 14.4%: 85.6% of it.
    let r = resolves_after(&slo, &policy, 0.0, 1.0, Compression::E2E);
    assert!((r.as_secs_f64() - 5.0 * 0.856).abs() < 1e-6, "{r:?}");
}

#[test]
fn a_short_history_fires_sooner_and_none_fires_at_once() {
    let (slo, policy) = pair("startup-success", "ticket-3d");
    // 20% errors, 2x burn: 72 compressed minutes of history needed for the formula's 36 minutes.
    let full = fires_after(
        &slo,
        &policy,
        0.0,
        0.2,
        Duration::from_secs(72 * 60),
        Compression::E2E,
    );
    assert!(close(full, 36.0 * 60.0), "{full:?}");
    let short = fires_after(
        &slo,
        &policy,
        0.0,
        0.2,
        Duration::from_secs(60),
        Compression::E2E,
    );
    assert!(
        close(short, 60.0),
        "a minute of history: the window needs as much breach again: {short:?}"
    );
    let none = fires_after(&slo, &policy, 0.0, 0.2, Duration::ZERO, Compression::E2E);
    assert_eq!(none, Some(Duration::ZERO));
}

#[test]
fn a_burn_under_the_threshold_never_fires() {
    let (slo, policy) = pair("startup-success", "page-6h");
    // 20% errors is 2x on a 10% budget; the page needs over 6x (60%).
    assert_eq!(
        fires_after(
            &slo,
            &policy,
            0.0,
            0.2,
            Duration::from_secs(600),
            Compression::E2E
        ),
        None
    );
}

#[test]
fn the_journeys_ten_percent_canary_fast_burns_in_five_minutes_five_seconds_at_60x() {
    let (slo, policy) = pair("canary-availability", "fast-burn-5m");
    let history = Duration::from_secs(3600);
    // The 5m window turns bad when its 10% errors pass half of it (5% allowed): 2.5 min; the
    // share of bad windows then passes 50% (10 x the 5% budget) 2.5 min later.
    let t = fires_after(&slo, &policy, 0.0, 0.1, history * 60, Compression::NONE);
    assert!(close(t, 300.0), "{t:?}");
    let t = fires_after(&slo, &policy, 0.0, 0.1, history, Compression::E2E);
    assert!(close(t, 5.0), "{t:?}");
    // Rollback: the window turns good after 2.5 s, and the bad half leaves 2.5 s later.
    let t = resolves_after(&slo, &policy, 0.0, 0.1, Compression::E2E);
    assert!(close(Some(t), 5.0), "{t:?}");
    // 4% errors keep every window good: request-based, that would be a 0.8x burn; here nothing.
    let t = fires_after(&slo, &policy, 0.0, 0.04, history, Compression::E2E);
    assert_eq!(t, None);
}

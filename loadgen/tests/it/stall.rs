//! Coordinated omission: at `--rate 1000` for 5 s against a server that freezes for 1 s, the
//! requests due during the freeze wait up to a second, and the corrected latency must say so
//! (as wrk2 would) while the uncorrected service time is printed beside it.

use std::time::Duration;

use super::server::{Server, Spec};
use super::{run, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_freeze_shows_in_the_corrected_p99() {
    let s = Server::start(Spec {
        freeze: Some((Duration::from_secs(2), Duration::from_secs(1))),
        ..Spec::default()
    })
    .await;
    let r = run(&["--rate", "1000", "-z", "5s", "-c", "50", &s.url("/")]).await;
    let t = &r.total;
    eprintln!(
        "{} requests, {:.1} req/s achieved, {} late; p50 {:.3} s, p99 {:.3} s corrected; p99 {:.3} s uncorrected",
        t.requests, t.rps, t.late, t.latency.p50, t.latency.p99, t.service.p99
    );
    assert_eq!(t.failures, 0);
    // Exactly the 5000 due in 5 s at 1000/s are accounted for: set by the schedule, not by the
    // server. Completed is not always all 5000: a request due in the last milliseconds may still
    // be unsent (`not_sent`) or in flight (`abandoned`) at the bound if the machine wakes the
    // client late, which CI showed (4999 + 1). Only the sum is exact.
    assert_eq!(
        t.requests + r.not_sent + r.abandoned,
        5000,
        "{} completed, {} not sent, {} abandoned",
        t.requests,
        r.not_sent,
        r.abandoned
    );
    // The freeze's backlog (about 1000 requests due while the server slept) is sent rather than
    // dropped: dropping it would leave ~1000 unaccounted, whereas missing half of it at the end
    // would take a half-second pause of the client exactly at the bound.
    assert!(
        r.not_sent + r.abandoned < 500,
        "{} not sent, {} abandoned",
        r.not_sent,
        r.abandoned
    );
    assert!(t.latency.p99 >= 0.5, "corrected p99 {} s", t.latency.p99);
    assert!(
        t.service.p99 < t.latency.p99,
        "service p99 {} s",
        t.service.p99
    );
    // With 50 workers blocked, ~950 of the ~1000 requests due in the frozen second were sent late.
    assert!(t.late >= 500, "{} late", t.late);

    let out = text(&r);
    let line = out
        .lines()
        .find(|l| l.starts_with("  99% in"))
        .expect("a p99 line");
    assert!(line.contains("(uncorrected "), "{line}");
    assert!(out.contains("Late sends:"), "{out}");
}

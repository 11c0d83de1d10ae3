//! Traffic split: requests go to targets by weight; each target gets its own summary and the
//! whole run its total. Shares are checked against binomial bounds (4 sd), never retried.

use super::server::{Server, Spec};
use super::{run, status, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_follow_the_weights_and_errors_stay_with_their_target() {
    let good = Server::start(Spec::default()).await;
    let next = Server::start(Spec {
        status: |_| 500,
        ..Spec::default()
    })
    .await;
    let n = 4000u64;
    let (good_url, next_url) = (
        format!("good={}", good.url("/")),
        format!("next={}", next.url("/")),
    );
    let r = run(&[
        "--target",
        &good_url,
        "--target",
        &next_url,
        "--split",
        "good=90",
        "--split",
        "next=10",
        "-n",
        &n.to_string(),
        "-c",
        "8",
    ])
    .await;
    let [g, x] = [&r.targets[0], &r.targets[1]];
    assert_eq!((g.name.as_str(), x.name.as_str()), ("good", "next"));
    assert_eq!(g.requests + x.requests, n);
    assert_eq!(r.total.requests, n);

    let p = 0.1;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    let dev = (x.requests as f64 - n as f64 * p).abs();
    eprintln!(
        "next got {} of {n}: {:.2} sd from 10%",
        x.requests,
        dev / sd
    );
    assert!(
        dev <= 4.0 * sd,
        "next got {} of {n}, want {} +- {:.0}",
        x.requests,
        n as f64 * p,
        4.0 * sd
    );

    // All errors come from the canary, and the servers agree with the report.
    assert_eq!((status(g, "200"), status(g, "500")), (g.requests, 0));
    assert_eq!(status(x, "500"), x.requests);
    assert_eq!((good.requests(), next.requests()), (g.requests, x.requests));
    assert_eq!(g.error_rate, 0.0);
    assert_eq!(x.error_rate, 1.0);

    let out = text(&r);
    assert!(out.contains("=== Target good ("), "{out}");
    assert!(out.contains("=== Target next ("), "{out}");
    assert!(out.contains("=== All targets ==="), "{out}");
}

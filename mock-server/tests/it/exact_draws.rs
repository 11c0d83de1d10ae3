//! Property tests of `--draws exact`'s sequences: a window of n yes/no draws holds n·p within 1,
//! and a window of n category draws holds each category's n·w within 2. Deterministic bounds, so
//! no sigma: any failure is a counterexample to the bound. Then the same bound over a real
//! server's answers and its `/metrics`.

use http::StatusCode;
use mock_server::state::draw::{Apportion, DrawMode, beatty};
use mock_server::{Config, LatencyMode};
use proptest::prelude::*;

use crate::support::{TestServer, requests};

proptest! {
    #[test]
    fn exact_beatty_window_within_one(p in 0.0f64..=1.0, offset in any::<u64>(),
                                      start in 0u64..1_000_000, n in 1u64..5000) {
        let yes = (start..start + n).filter(|&i| beatty(offset, p, i)).count() as f64;
        prop_assert!((yes - n as f64 * p).abs() <= 1.0, "{yes} yeses in {n} at p={p}");
    }

    #[test]
    fn exact_beatty_ends(offset in any::<u64>(), start in 0u64..1_000_000) {
        prop_assert!((start..start + 1000).all(|i| !beatty(offset, 0.0, i)));
        prop_assert!((start..start + 1000).all(|i| beatty(offset, 1.0, i)));
    }

    #[test]
    fn exact_apportion_window_within_two(raw in prop::array::uniform3(0.0f64..1.0),
                                         skip in 0u32..64, start in 0usize..5000,
                                         n in 1usize..5000) {
        // Three weights scaled to sum at most 1; the last takes the rest, as the code does.
        let s = raw.iter().sum::<f64>().max(1.0);
        let w3 = raw.map(|x| x / s);
        let weights = [w3[0], w3[1], w3[2], 1.0 - w3.iter().sum::<f64>()];
        let mut a = Apportion::skipping(skip);
        let picks: Vec<usize> = (0..start + n).map(|_| a.pick(&weights)).collect();
        for (j, w) in weights.iter().enumerate() {
            let got = picks[start..].iter().filter(|&&k| k == j).count() as f64;
            prop_assert!((got - n as f64 * w).abs() <= 2.0, "category {j}: {got} in {n} at w={w}");
        }
    }
}

/// A record-mode mock drawing exactly from `seed`.
async fn exact(seed: u64) -> TestServer {
    TestServer::seeded(Config {
        latency_mode: LatencyMode::Record,
        draws: DrawMode::Exact,
        seed,
        ..Config::default()
    })
    .await
}

/// Over a real socket, `--draws exact`: after every one of 600 requests to `/startup`, the
/// successes so far are within 1 of n·p, whatever the seed; dice would stray by ±√(n·p(1-p)).
#[tokio::test]
async fn with_exact_draws_every_prefix_of_startup_holds_its_share_within_one() {
    let p = 0.37;
    for seed in [0, 7, u64::MAX] {
        let server = exact(seed).await;
        let (status, body) = server
            .post("/phase", &format!(r#"{{"StartupSuccess": {p}}}"#))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut ok = 0u64;
        for n in 1..=600u64 {
            let (status, _) = server.get("/startup").await;
            ok += u64::from(status == StatusCode::OK);
            let off = (ok as f64 - n as f64 * p).abs();
            assert!(off <= 1.0, "seed {seed}: {ok} successes in {n} at p={p}");
        }
        // The server's own counter says the same.
        let m = server.metrics().await;
        assert_eq!(m.count(&requests("/startup", "GET", "200")), ok);
        server.stop().await;
    }
}

/// 1,000 requests across the endpoints that draw, to a fresh exact mock of `seed`: what each
/// answered, status and body.
async fn answers(seed: u64) -> Vec<(StatusCode, String)> {
    let server = exact(seed).await;
    let phase = r#"{"StartupSuccess": 0.6, "LoginSuccess": 0.7, "ChatSuccess": 0.8}"#;
    assert_eq!(server.post("/phase", phase).await.0, StatusCode::OK);
    let mut out = Vec::new();
    for i in 0..1000 {
        out.push(match i % 4 {
            0 => server.get("/startup").await,
            1 => server.post("/login", "{}").await,
            2 => server.post("/chat", r#"{"content":"hi"}"#).await,
            _ => server.get("/preferences").await,
        });
    }
    server.stop().await;
    out
}

/// Issue 21's Done-when: two mocks with the same seed answer the same 1,000 requests, in
/// status and body; another seed starts the sequences elsewhere (so the comparison can fail).
#[tokio::test]
async fn two_exact_mocks_with_one_seed_answer_alike() {
    let (a, b, other) = (answers(42).await, answers(42).await, answers(43).await);
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!(
        differ, 0,
        "of 1000 answers, {differ} differ between two mocks of seed 42"
    );
    let moved = a.iter().zip(&other).filter(|(x, y)| x != y).count();
    assert!(
        moved > 0,
        "seeds 42 and 43 answered all 1000 requests alike"
    );
}

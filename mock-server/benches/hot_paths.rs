//! Criterion benches for what mock-server does on every request, and on every phase change:
//! drawing a latency from the phase, recording the metrics, handling a whole request in-process
//! (no socket), and merging a posted phase. `bench/run` measures the same paths end to end;
//! these say which part of a request costs what.
//!
//! Run: `cargo bench -p mock-server --bench hot_paths` (add `-- --quick` for a rough pass).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use mock_server::answer::latency::{LatencyRange, Shape};
use mock_server::metrics::Metrics;
use mock_server::route::Route;
use mock_server::{Config, LatencyMode, Phase};
use rand::SeedableRng;
use rand::rngs::SmallRng;

/// The workshop's challenge-6 payload: all 24 fields, the largest document a host posts.
const CHALLENGE6: &[u8] = include_bytes!("../../scenarios/phases/challenge6.json");
/// One field, the usual shape of a quick change during an exercise.
const ONE_FIELD: &[u8] = br#"{"StartupSuccess": 0.5}"#;

fn phase_sampling(c: &mut Criterion) {
    let mut g = c.benchmark_group("latency_sample");
    let mut rng = SmallRng::seed_from_u64(7);
    for shape in [
        Shape::Uniform,
        Shape::Normal,
        Shape::LogNormal,
        Shape::Exponential,
    ] {
        let range = LatencyRange::new(1607, 7683, shape);
        g.bench_function(shape.name(), |b| {
            b.iter(|| black_box(&range).sample(&mut rng))
        });
    }
    g.finish();
}

fn phase_merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("phase_merged");
    let base = Phase::workshop_default();
    g.bench_function("one_field", |b| {
        b.iter(|| base.merged(black_box(ONE_FIELD)).expect("valid phase"))
    });
    g.bench_function("challenge6_24_fields", |b| {
        b.iter(|| base.merged(black_box(CHALLENGE6)).expect("valid phase"))
    });
    g.finish();
}

fn metric_recording(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics");
    let metrics = Metrics::new(None).expect("metrics register");
    let get = Method::GET;
    g.bench_function("observe_http", |b| {
        b.iter(|| {
            metrics.observe_http(
                black_box(Route::Startup),
                &get,
                StatusCode::OK,
                black_box(0.0123),
            )
        })
    });
    // What an endpoint records on arrival: attempt, drawn latency, success.
    g.bench_function("endpoint_triple", |b| {
        b.iter(|| {
            let m = &metrics.startup;
            m.attempts.inc();
            m.latency.observe(black_box(812.0));
            m.success.inc();
        })
    });
    g.bench_function("encode_exposition", |b| b.iter(|| metrics.encode()));
    g.finish();
}

/// A whole request through `App::handle` in record mode: routing, phase load, draws, metrics and
/// the response, without hyper or a socket. The gap between this and a real request over
/// loopback is what the server's connection handling costs.
fn request_in_process(c: &mut Criterion) {
    let mut g = c.benchmark_group("handle_record_mode");
    let config = Config {
        latency_mode: LatencyMode::Record,
        seed: 7,
        ..Config::default()
    };
    let app = mock_server::app(&config).expect("app builds");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for path in ["/", "/startup"] {
        g.bench_function(path, |b| {
            b.iter(|| {
                let req = Request::get(path)
                    .body(Full::new(Bytes::new()))
                    .expect("valid request");
                runtime.block_on(app.handle(req))
            })
        });
    }
    // A phase change as the churn client posts it: merge, validate, swap, publish the gauges.
    g.bench_function("post_phase_one_field", |b| {
        b.iter(|| app.phases().update(black_box(ONE_FIELD), app.metrics()))
    });
    g.finish();
}

criterion_group!(
    benches,
    phase_sampling,
    phase_merge,
    metric_recording,
    request_in_process
);
criterion_main!(benches);

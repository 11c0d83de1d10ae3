//! Criterion benches for what loadgen does per request and per run: recording a response into a
//! thread's `Stats` (an HdrHistogram and counters), merging `Stats` at the end, extracting the
//! report's percentiles, and building a request (the lean client's bytes; hyper's `Request`).
//!
//! Run: `cargo bench -p loadgen --bench hot_paths` (add `-- --quick` for a rough pass).

use std::hint::black_box;

use bytes::Bytes;
use clap::Parser;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use engine::plan::Plan;
use engine::report::Latency;
use engine::report::stats::{Stats, new_histogram};
use http::{Version, header};
use http_body_util::Full;
use loadgen::cli::Cli;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Latencies in microseconds spread like a loopback run with a slow tail (50 us .. 50 ms).
fn latencies(n: usize) -> Vec<u64> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..n)
        .map(|_| (50.0 * 1000f64.powf(rng.random::<f64>())) as u64)
        .collect()
}

fn filled(values: &[u64]) -> Stats {
    let mut s = Stats::default();
    for &v in values {
        s.record_response(200, v, None, 5);
    }
    s
}

fn record(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    let values = latencies(4096);
    let mut h = new_histogram();
    let mut i = 0;
    g.bench_function("hdrhistogram_record", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            h.record(black_box(values[i])).expect("in range")
        })
    });
    // What a worker does per response in a closed loop: one histogram, the status slot, the
    // byte count (an open-model run records a second histogram, the service time).
    let mut stats = filled(&values);
    g.bench_function("stats_record_response", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            let v = black_box(values[i]);
            stats.record_response(200, v, None, 5);
        })
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("merge");
    let worker = filled(&latencies(100_000));
    // The end of a run: one worker's record added into the running total.
    g.bench_function("stats_merge_one_worker", |b| {
        b.iter_batched_ref(
            || filled(&latencies(1000)),
            |total| total.merge(black_box(&worker)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("latency_from_histogram", |b| {
        b.iter_batched(
            || worker.latency.clone(),
            Latency::from_histogram,
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Building one request: the lean client's bytes (`h1::encode`, done once per target for the
/// load and again for each redirect hop), and hyper's `Request` as `worker::hyper_request`
/// builds it for HTTP/2 (that builder is private: this mirrors it, keep the two in step).
fn request_building(c: &mut Criterion) {
    let cli = Cli::parse_from([
        "loadgen",
        "-H",
        "Accept: application/json",
        "http://127.0.0.1:8080/startup",
    ]);
    let plan = Plan::try_from(cli.hey).expect("valid plan");
    let target = &plan.targets[0];
    let mut out = Vec::with_capacity(512);
    c.bench_function("request_encode_lean", |b| {
        b.iter(|| {
            out.clear();
            engine::net::h1::encode(
                &mut out,
                &plan.request.method,
                &target.request_uri,
                &target.headers,
                &plan.request.body,
            );
            black_box(out.len())
        })
    });
    c.bench_function("request_build_hyper", |b| {
        b.iter(|| {
            let body = plan.request.body.clone();
            let empty = body.is_empty();
            let mut req = http::Request::new(Full::<Bytes>::new(body));
            *req.method_mut() = plan.request.method.clone();
            *req.uri_mut() = target.request_uri.clone();
            *req.headers_mut() = target.headers.clone();
            if empty {
                req.headers_mut().remove(header::CONTENT_LENGTH);
            }
            *req.version_mut() = Version::HTTP_11;
            req
        })
    });
}

criterion_group!(benches, record, merge, request_building);
criterion_main!(benches);

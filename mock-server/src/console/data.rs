//! The console's data document (`GET /ui/data?window=5m`): every chart's points and every
//! panel's numbers over the window, computed from the ring of samples and one live sample.
//!
//! A rate or a percentile at a point is taken over the samples `LOOKBACK` before it (or the
//! point's step, if longer), as a Grafana panel of `rate(...[10s])` would; the window's
//! totals are the difference between the live sample and the first sample in the window.

use serde::Serialize;

use super::quantile::histogram_quantile;
use super::sample::{ENDPOINTS, Endpoint, Sample};
use super::slos::{self, SloDef, SloStatus};

/// The windows the page offers.
pub const WINDOWS: [(&str, u64); 3] = [("5m", 300), ("15m", 900), ("60m", 3600)];
/// About this many points per chart, whatever the window.
const POINTS: u64 = 150;
const LOOKBACK_MS: u64 = 10_000;
/// The percentiles the workshop's latency dashboards show.
pub const QUANTILES: [(&str, f64); 5] = [
    ("p10", 0.10),
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
];

type Series = Vec<Option<f64>>;

#[derive(Debug, Serialize)]
pub struct Data {
    pub now_ms: u64,
    pub window_s: u64,
    /// Where the charts start: the window's start, or the first sample if the server is younger.
    pub from_ms: u64,
    /// Sample times of the points, unix milliseconds.
    pub t: Vec<u64>,
    pub endpoints: Vec<EndpointData>,
    pub chat: ChatData,
    pub slos: Vec<SloStatus>,
    /// When the phase changed (unix ms), within the window.
    pub markers: Vec<u64>,
    pub timeline: Option<TimelineStatus>,
    pub service: ServiceData,
    /// Whether `POST /phase` needs the admin token (the token itself is never sent).
    pub writes_need_token: bool,
}

#[derive(Debug, Serialize)]
pub struct EndpointData {
    pub key: &'static str,
    pub title: &'static str,
    /// Requests per second.
    pub rate: Series,
    /// Share of requests answered successfully.
    pub success: Series,
    /// Latency percentiles in milliseconds, in `QUANTILES` order.
    pub latency: Vec<(&'static str, Series)>,
    pub totals: Totals,
    /// The SLO bounds that apply here, drawn as threshold lines.
    pub latency_slo_ms: Option<f64>,
    pub success_slo: Option<f64>,
}

/// An endpoint over the whole window.
#[derive(Debug, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub success: u64,
    pub success_share: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ChatData {
    /// Share of outcomes that are Engaged, and Engaged or Acknowledged.
    pub engaged: Series,
    pub engaged_or_acknowledged: Series,
    /// Share of each sentiment, in `metrics::SENTIMENTS` order.
    pub sentiment: Vec<(&'static str, Series)>,
    /// Share of answered chats flagged with a safety issue.
    pub safety: Series,
}

#[derive(Debug, Serialize)]
pub struct TimelineStatus {
    pub index: i64,
    pub step: String,
    pub steps: usize,
    /// Seconds left in the step, when its start is within the ring.
    pub left_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ServiceData {
    pub profile: &'static str,
    pub revision: Option<String>,
    /// `http_requests_total{route="/"}` per second and its 5xx share.
    pub root_rate: Series,
    pub root_error_share: Series,
    pub root_requests: u64,
    pub root_errors: u64,
}

/// What the document needs beyond the samples.
pub struct Context<'a> {
    pub slos: &'a [SloDef],
    pub bounds: &'a [Vec<f64>; ENDPOINTS.len()],
    /// Each timeline step's name and length in milliseconds.
    pub steps: &'a [(String, u64)],
    pub profile: &'static str,
    pub revision: Option<&'a str>,
    pub writes_need_token: bool,
}

/// Builds the document from the samples held (oldest first) and a live one taken now.
pub fn build(ctx: &Context<'_>, held: &[&Sample], live: Sample, window_s: u64) -> Data {
    let now = live.at_ms;
    let start = now.saturating_sub(window_s * 1000);
    let in_window: Vec<&Sample> = held.iter().copied().filter(|s| s.at_ms >= start).collect();
    // The window's baseline: its first sample, or the newest one before it when the window
    // holds none (so an idle minute still shows zero, not "no data").
    let base = in_window.first().or(held.last()).copied().unwrap_or(&live);
    let points = Points::new(&in_window, &live, window_s);
    Data {
        now_ms: now,
        window_s,
        from_ms: start.max(held.first().map_or(now, |s| s.at_ms)),
        t: points.points.iter().map(|p| p.at_ms).collect(),
        endpoints: ENDPOINTS
            .iter()
            .enumerate()
            .map(|(i, e)| endpoint(ctx, i, e, &points, base, &live))
            .collect(),
        chat: chat(&points),
        slos: slo_statuses(ctx, held, base, &live),
        markers: markers(&in_window, base, &live),
        timeline: timeline(ctx, held, &live),
        service: service(ctx, &points, base, &live),
        writes_need_token: ctx.writes_need_token,
    }
}

/// The charts' points, each paired with the earlier point its rates and shares are taken from.
struct Points<'s> {
    points: Vec<&'s Sample>,
    /// For each point, the point it is compared with: the latest one at least the lookback older.
    prev: Vec<Option<usize>>,
}

impl<'s> Points<'s> {
    /// Takes about `POINTS` of the window's samples, and the live one last.
    fn new(in_window: &[&'s Sample], live: &'s Sample, window_s: u64) -> Self {
        let stride = (window_s / POINTS).max(1) as usize;
        let mut points: Vec<&Sample> = in_window.iter().copied().step_by(stride).collect();
        points.push(live);
        let lookback = (LOOKBACK_MS).max(stride as u64 * 1000);
        let prev = (0..points.len())
            .map(|k| {
                let target = points[k].at_ms.saturating_sub(lookback);
                (0..k).rev().find(|&j| points[j].at_ms <= target).or(
                    // Near the window's start, compare with what there is.
                    (k > 0).then_some(0),
                )
            })
            .collect();
        Points { points, prev }
    }

    /// `f(earlier, point)` at every point; none where a point has nothing to compare with.
    fn series(&self, f: &dyn Fn(&Sample, &Sample) -> Option<f64>) -> Series {
        self.points
            .iter()
            .zip(&self.prev)
            .map(|(p, j)| j.and_then(|j| f(self.points[j], p)))
            .collect()
    }
}

/// Seconds from sample `a` to sample `b`.
fn secs(a: &Sample, b: &Sample) -> f64 {
    (b.at_ms.saturating_sub(a.at_ms)) as f64 / 1000.0
}

/// `num / den`, or none when there is nothing to divide by.
fn share(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Endpoint `i`'s charts, its totals over the window, and the SLO bounds drawn on it.
fn endpoint(
    ctx: &Context<'_>,
    i: usize,
    e: &Endpoint,
    points: &Points<'_>,
    base: &Sample,
    live: &Sample,
) -> EndpointData {
    let bounds = &ctx.bounds[i];
    let quantile = |q: f64, a: &Sample, b: &Sample| {
        let buckets: Vec<(f64, f64)> = bounds
            .iter()
            .zip(b.endpoints[i].buckets.iter().zip(&a.endpoints[i].buckets))
            .map(|(&ub, (&n1, &n0))| (ub, n1.saturating_sub(n0) as f64))
            .collect();
        histogram_quantile(q, &buckets)
    };
    let d = |a: &Sample, b: &Sample| {
        let (x, y) = (&a.endpoints[i], &b.endpoints[i]);
        (
            y.attempts.saturating_sub(x.attempts),
            y.success.saturating_sub(x.success),
        )
    };
    let (requests, success) = d(base, live);
    EndpointData {
        key: e.key,
        title: e.title,
        rate: points.series(&|a, b| {
            let s = secs(a, b);
            (s > 0.0).then(|| d(a, b).0 as f64 / s)
        }),
        success: points.series(&|a, b| {
            let (n, ok) = d(a, b);
            share(ok, n)
        }),
        latency: QUANTILES
            .iter()
            .map(|&(name, q)| (name, points.series(&|a, b| quantile(q, a, b))))
            .collect(),
        totals: Totals {
            requests,
            success,
            success_share: share(success, requests),
            p50_ms: quantile(0.5, base, live),
            p99_ms: quantile(0.99, base, live),
        },
        latency_slo_ms: ctx
            .slos
            .iter()
            .find_map(|s| s.latency_bound.filter(|(k, _)| *k == e.key))
            .map(|(_, ms)| ms),
        success_slo: ctx
            .slos
            .iter()
            .find(|s| s.success_of == Some(e.key))
            .map(|s| s.objective),
    }
}

/// The chat's outcome, sentiment and safety shares at every point.
fn chat(points: &Points<'_>) -> ChatData {
    let outcome_share = |a: &Sample, b: &Sample, which: &[usize]| {
        let delta = |k: usize| b.outcome[k].saturating_sub(a.outcome[k]);
        share(
            which.iter().map(|&k| delta(k)).sum(),
            (0..4).map(delta).sum(),
        )
    };
    let chat_ok = |a: &Sample, b: &Sample| {
        let i = ENDPOINTS.iter().position(|e| e.key == "chat").unwrap_or(0);
        b.endpoints[i]
            .success
            .saturating_sub(a.endpoints[i].success)
    };
    ChatData {
        engaged: points.series(&|a, b| outcome_share(a, b, &[0])),
        engaged_or_acknowledged: points.series(&|a, b| outcome_share(a, b, &[0, 1])),
        sentiment: crate::metrics::SENTIMENTS
            .iter()
            .enumerate()
            .map(|(k, &name)| {
                (
                    name,
                    points.series(&|a, b| {
                        let delta = |j: usize| b.sentiment[j].saturating_sub(a.sentiment[j]);
                        share(delta(k), (0..4).map(delta).sum())
                    }),
                )
            })
            .collect(),
        safety: points.series(&|a, b| share(b.safety.saturating_sub(a.safety), chat_ok(a, b))),
    }
}

/// Every SLO's status over the window and over its recent stretch.
fn slo_statuses(
    ctx: &Context<'_>,
    held: &[&Sample],
    base: &Sample,
    live: &Sample,
) -> Vec<SloStatus> {
    let now = live.at_ms;
    let recent_ms = slos::burn_lookback_ms(now, base.at_ms);
    let recent = held
        .iter()
        .copied()
        .find(|s| s.at_ms >= recent_ms)
        .unwrap_or(base);
    ctx.slos
        .iter()
        .enumerate()
        .map(|(i, def)| {
            // A windows-based SLI is judged over its own trailing window.
            let recent = match def.windows {
                Some((w, _)) => held
                    .iter()
                    .copied()
                    .find(|s| s.at_ms >= now.saturating_sub(w))
                    .unwrap_or(base),
                None => recent,
            };
            slos::status(def, i, base, recent, live)
        })
        .collect()
}

/// When the phase changed within the window: the first sample to count each change.
fn markers(in_window: &[&Sample], base: &Sample, live: &Sample) -> Vec<u64> {
    let mut markers = Vec::new();
    let mut last = base.phase_changes;
    for s in in_window.iter().copied().chain(std::iter::once(live)) {
        if s.phase_changes > last {
            markers.push(s.at_ms);
        }
        last = s.phase_changes;
    }
    markers
}

/// The service's identity and its `route="/"` traffic at every point and over the window.
fn service(ctx: &Context<'_>, points: &Points<'_>, base: &Sample, live: &Sample) -> ServiceData {
    ServiceData {
        profile: ctx.profile,
        revision: ctx.revision.map(str::to_owned),
        root_rate: points.series(&|a, b| {
            let s = secs(a, b);
            (s > 0.0).then(|| b.root_total.saturating_sub(a.root_total) as f64 / s)
        }),
        root_error_share: points.series(&|a, b| {
            share(
                b.root_errors.saturating_sub(a.root_errors),
                b.root_total.saturating_sub(a.root_total),
            )
        }),
        root_requests: live.root_total.saturating_sub(base.root_total),
        root_errors: live.root_errors.saturating_sub(base.root_errors),
    }
}

/// The step in force and its time left; its start is the first sample of the current run of
/// samples showing that step.
fn timeline(ctx: &Context<'_>, held: &[&Sample], live: &Sample) -> Option<TimelineStatus> {
    let index = live.timeline_step;
    let (name, length) = ctx.steps.get(usize::try_from(index).ok()?)?;
    let run: Vec<&Sample> = held
        .iter()
        .copied()
        .rev()
        .take_while(|s| s.timeline_step == index)
        .collect();
    // A run that reaches the ring's oldest sample may have started before it: unknown.
    let started = run
        .last()
        .filter(|_| run.len() < held.len())
        .map(|s| s.at_ms);
    Some(TimelineStatus {
        index,
        step: name.clone(),
        steps: ctx.steps.len(),
        left_s: started.map(|t0| (t0 + length).saturating_sub(live.at_ms) as f64 / 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_s: u64, chats: u64, ok: u64, slow: u64) -> Sample {
        let mut s = Sample {
            at_ms: at_s * 1000,
            ..Sample::default()
        };
        let chat = &mut s.endpoints[2];
        chat.attempts = chats;
        chat.success = ok;
        // Chat buckets: ..., 5000, 10000, 12000, +Inf; `slow` of them above 5000 ms.
        let fast = chats - slow;
        chat.buckets[..8].fill(fast);
        chat.buckets[8..11].fill(chats);
        s
    }

    fn bounds() -> [Vec<f64>; 6] {
        let chat = vec![
            100.0,
            250.0,
            500.0,
            1000.0,
            2000.0,
            3000.0,
            4000.0,
            5000.0,
            10000.0,
            12000.0,
            f64::INFINITY,
        ];
        std::array::from_fn(|i| {
            if i == 2 {
                chat.clone()
            } else {
                vec![f64::INFINITY]
            }
        })
    }

    #[test]
    fn window_totals_are_the_difference_from_the_window_start() {
        let b = bounds();
        let ctx = Context {
            slos: &[],
            bounds: &b,
            steps: &[],
            profile: "movie-guru",
            revision: None,
            writes_need_token: false,
        };
        let held: Vec<Sample> = (0..=400).map(|s| sample(s, s * 10, s * 9, 0)).collect();
        let live = sample(401, 4010 + 100, 3609 + 90, 100);
        let held: Vec<&Sample> = held.iter().collect();
        let d = build(&ctx, &held, live, 300);
        let chat = &d.endpoints[2];
        // Window start: the sample at 101 s (4010 - 1010 = 3000 + the live 100).
        assert_eq!(chat.totals.requests, 4110 - 1010);
        assert_eq!(chat.totals.success, 3699 - 909);
        // 100 of 3100 above 5000 ms: over 1%, so p99 is in the (5000, 10000] bucket.
        assert!(chat.totals.p99_ms.unwrap() > 5000.0);
        assert_eq!(d.t.len(), 150 + 1);
        let last_rate = chat.rate.last().unwrap().unwrap();
        assert!(last_rate > 10.0, "{last_rate}");
        assert!(d.markers.is_empty() && d.timeline.is_none());
    }

    #[test]
    fn an_idle_server_shows_zero_requests_and_no_percentiles() {
        let b = bounds();
        let ctx = Context {
            slos: &[],
            bounds: &b,
            steps: &[("only".into(), 60_000)],
            profile: "movie-guru",
            revision: None,
            writes_need_token: true,
        };
        let mut live = sample(5, 0, 0, 0);
        live.timeline_step = 0;
        let mut held: Vec<Sample> = (0..5).map(|s| sample(s, 0, 0, 0)).collect();
        held[0].timeline_step = -1;
        for s in &mut held[1..] {
            s.timeline_step = 0;
        }
        let held: Vec<&Sample> = held.iter().collect();
        let d = build(&ctx, &held, live, 300);
        assert_eq!(d.endpoints[2].totals.requests, 0);
        assert_eq!(d.endpoints[2].totals.p99_ms, None);
        let tl = d.timeline.unwrap();
        assert_eq!((tl.step.as_str(), tl.left_s), ("only", Some(56.0)));
    }
}

//! The console: `GET /ui`, a page with the workshop's dashboards, SLOs and the phase form,
//! computed in-process from the server's own metrics.
//!
//! Layout, bottom to top:
//! - [`quantile`]: `histogram_quantile` as Prometheus computes it.
//! - [`series`]: reads series by selector out of a gathered registry, as `/metrics` names them.
//! - [`sample`]: one [`sample::Sample`] of every number the page charts, kept in `webui`'s
//!   fixed-size [`Ring`] (an hour of 1 s samples, allocated at start; `journey --web` keeps its
//!   charts in the same ring).
//! - [`slos`]: the embedded SLO spec, judged over a window.
//! - [`data`]: the page's data document, from the ring and a live sample.
//! - [`page`]: the `/ui` routes: the page, its assets, the data and the presets.
//!
//! Cost: the request path never sees the console. A task samples the registry once a second
//! (the same read `/metrics` does) into the ring under a mutex that only it and `/ui/data` take;
//! a page that is not open costs nothing more.

pub mod data;
pub mod page;
pub mod quantile;
pub mod sample;
pub mod series;
pub mod slos;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::metrics::Metrics;
use sample::{ENDPOINTS, Reader, Sample};
use webui::ring::Ring;

/// How often the sampler reads the registry.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);
/// Samples kept: the longest window the page offers, at one a second, plus a little.
pub const CAPACITY: usize = 3600 + 60;

pub struct Console {
    ring: Mutex<Ring<Sample>>,
    reader: Reader,
    slos: Vec<slos::SloDef>,
    bounds: [Vec<f64>; ENDPOINTS.len()],
    steps: Vec<(String, u64)>,
    profile: &'static str,
    revision: Option<String>,
    writes_need_token: bool,
}

impl Console {
    /// Takes the first sample at once, so the window of a server started within it begins at
    /// zero and the page's totals equal the `/metrics` counters.
    pub fn new(config: &Config, metrics: &Metrics) -> Console {
        let (slos, selectors) = slos::load();
        let families = metrics.gather();
        let console = Console {
            ring: Mutex::new(Ring::new(CAPACITY)),
            reader: Reader::new(selectors),
            slos,
            bounds: sample::bucket_bounds(&families),
            steps: config
                .timeline
                .as_ref()
                .map(|plan| {
                    plan.steps
                        .iter()
                        .map(|s| (s.name.clone(), s.duration.as_millis() as u64))
                        .collect()
                })
                .unwrap_or_default(),
            profile: config.profile.name(),
            revision: config.revision.clone(),
            writes_need_token: config.admin_token.is_some(),
        };
        let first = console.reader.read(&families, now_ms());
        console.ring().push(first);
        console
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring<Sample>> {
        // A panic while holding the lock leaves whole samples behind: keep using them.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the registry now.
    pub fn live(&self, metrics: &Metrics) -> Sample {
        self.reader.read(&metrics.gather(), now_ms())
    }

    /// Adds a sample to the ring (the sampler's tick).
    pub fn sample(&self, metrics: &Metrics) {
        let s = self.live(metrics);
        self.ring().push(s);
    }

    /// The data document over the last `window_s` seconds, ending now.
    pub fn data(&self, metrics: &Metrics, window_s: u64) -> data::Data {
        let live = self.live(metrics);
        let ctx = data::Context {
            slos: &self.slos,
            bounds: &self.bounds,
            steps: &self.steps,
            profile: self.profile,
            revision: self.revision.as_deref(),
            writes_need_token: self.writes_need_token,
        };
        // Computed under the lock, from references: copying an hour of samples per poll would
        // cost megabytes of allocation; this only holds the once-a-second sampler back briefly.
        let ring = self.ring();
        let start = live.at_ms.saturating_sub(window_s * 1000);
        let skip = ring.iter().take_while(|s| s.at_ms < start).count();
        // Keep the newest sample before the window too, as the baseline of an idle window.
        let held: Vec<&Sample> = ring.iter().skip(skip.saturating_sub(1)).collect();
        data::build(&ctx, &held, live, window_s)
    }

    /// Samples every `period` until the task is dropped.
    pub async fn run_sampler(&self, metrics: &Metrics, period: Duration) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.sample(metrics);
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

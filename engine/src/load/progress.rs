//! The progress bar: requests done, current rate and errors, redrawn a few times a second from
//! the workers' relaxed counters. Drawn only on a terminal, so piped output stays clean.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::load::worker::Shared;
use crate::plan::Stop;

const TICK: Duration = Duration::from_millis(200);

/// A running progress bar; `finish` clears it.
pub struct Bar {
    inner: Option<(ProgressBar, JoinHandle<()>)>,
}

impl Bar {
    /// Starts drawing if `wanted` and stderr is a terminal; otherwise does nothing.
    pub fn start(shared: Arc<Shared>, wanted: bool) -> Bar {
        if !wanted || !std::io::stderr().is_terminal() {
            return Bar { inner: None };
        }
        let (len, by_time) = match shared.plan.stop {
            Stop::Count(n) => (n, false),
            Stop::Duration(d) => (u64::try_from(d.as_millis()).unwrap_or(u64::MAX), true),
        };
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = if by_time {
            "{elapsed_precise} [{bar:40}] {percent}% {msg}"
        } else {
            "{elapsed_precise} [{bar:40}] {pos}/{len} {msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("static template")
                .progress_chars("=> "),
        );
        let b = bar.clone();
        let task = tokio::spawn(async move {
            let start = shared.schedule.start;
            let (mut last_done, mut last_at) = (0u64, Instant::now());
            loop {
                tokio::time::sleep(TICK).await;
                let (done, failed) = shared.progress.iter().fold((0, 0), |(d, f), p| {
                    (
                        d + p.done.load(Ordering::Relaxed),
                        f + p.failed.load(Ordering::Relaxed),
                    )
                });
                let now = Instant::now();
                let rate = (done - last_done) as f64 / (now - last_at).as_secs_f64();
                (last_done, last_at) = (done, now);
                if by_time {
                    b.set_position(
                        u64::try_from((now - start).as_millis())
                            .unwrap_or(u64::MAX)
                            .min(len),
                    );
                    b.set_message(format!("{done} requests, {rate:.0} req/s, {failed} errors"));
                } else {
                    b.set_position(done);
                    b.set_message(format!("{rate:.0} req/s, {failed} errors"));
                }
            }
        });
        Bar {
            inner: Some((bar, task)),
        }
    }

    pub fn finish(self) {
        if let Some((bar, task)) = self.inner {
            task.abort();
            bar.finish_and_clear();
        }
    }
}

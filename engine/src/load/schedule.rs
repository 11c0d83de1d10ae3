//! When each request is due, shared by all workers without locks.
//!
//! Every request claims a ticket from one atomic counter. Under `--rate R`, ticket i is due at
//! `start + i/R` whoever sends it (an absolute schedule, as wrk2), so a stall delays the sends but
//! not the due times, and the latency counted from the due time shows the stall.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::plan::{Pacing, Stop};

/// A request that may be sent now.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// Under an open-model rate, when the request was due: its latency clock starts here.
    /// `None` in closed loop and under `-q`, where latency counts from the send, as in hey.
    pub due: Option<Instant>,
}

/// The run's shared clock and request counter.
#[derive(Debug)]
pub struct Schedule {
    pub start: Instant,
    pacing: Pacing,
    stop: Stop,
    issued: AtomicU64,
    /// Tickets handed out: requests actually sent.
    sent: AtomicU64,
    /// When the end of the latest paced slot handed out falls, in nanoseconds from `start`: the
    /// slot's request is part of the rate the run kept (`window_end`).
    slot_end_nanos: AtomicU64,
    /// When `stop` was called, in nanoseconds from `start` (`u64::MAX`: never).
    stopped_nanos: AtomicU64,
    stopping: AtomicBool,
    stop_tx: watch::Sender<bool>,
}

/// A worker's own place in a per-worker (`-q`) schedule.
#[derive(Debug, Default)]
pub struct WorkerClock {
    sent: u64,
}

impl Schedule {
    pub fn new(start: Instant, pacing: Pacing, stop: Stop) -> Schedule {
        Schedule {
            start,
            pacing,
            stop,
            issued: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            slot_end_nanos: AtomicU64::new(0),
            stopped_nanos: AtomicU64::new(u64::MAX),
            stopping: AtomicBool::new(false),
            stop_tx: watch::channel(false).0,
        }
    }

    /// Stops handing out tickets; workers sleeping until a due time wake up and quit.
    pub fn stop(&self) {
        let now = nanos(Instant::now() - self.start);
        self.stopped_nanos.fetch_min(now, Ordering::Relaxed);
        self.stopping.store(true, Ordering::Relaxed);
        self.stop_tx.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Tickets claimed so far (may overshoot the count by one per worker at the end).
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// The `-z` bound, if the run has one.
    pub fn deadline(&self) -> Option<Instant> {
        match self.stop {
            Stop::Duration(d) => Some(self.start + d),
            Stop::Count(_) => None,
        }
    }

    /// The end of the latest paced slot handed out (`-q`, `--rate`), from the start.
    pub fn slot_end(&self) -> Option<Duration> {
        match self.slot_end_nanos.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// Under `--rate`: requests due before the run ended (its bound or an interrupt) that were
    /// never sent, because the server could not keep up. 0 in the other pacings, which have no
    /// backlog (a `-q` worker drops missed ticks, as hey's ticker does).
    pub fn not_sent(&self) -> u64 {
        let Pacing::Open { rate } = self.pacing else {
            return 0;
        };
        let stopped = match self.stopped_nanos.load(Ordering::Relaxed) {
            u64::MAX => None,
            n => Some(Duration::from_nanos(n)),
        };
        let (ended, cap) = match self.stop {
            Stop::Duration(d) => (Some(stopped.map_or(d, |s| s.min(d))), u64::MAX),
            Stop::Count(n) => (stopped, n),
        };
        let Some(ended) = ended else { return 0 };
        // Request i is due at i/rate: those with i/rate < ended.
        let due = ((ended.as_secs_f64() * rate).ceil() as u64).min(cap);
        due.saturating_sub(self.sent.load(Ordering::Relaxed))
    }

    /// Claims the next request and waits until it is due. `None`: the run is over.
    pub async fn next(&self, clock: &mut WorkerClock) -> Option<Ticket> {
        if self.is_stopping() {
            return None;
        }
        let i = self.issued.fetch_add(1, Ordering::Relaxed);
        if let Stop::Count(n) = self.stop {
            if i >= n {
                return None;
            }
        }
        let due = match self.pacing {
            Pacing::Closed => Instant::now(),
            Pacing::PerWorker { qps } => {
                // As hey's Go ticker: ticks missed while a request was in flight are dropped,
                // not sent in a burst; the latest one is still pending and fires at once.
                let ticks = (Instant::now() - self.start).as_secs_f64() * qps;
                clock.sent = clock.sent.max(ticks.floor() as u64);
                let due = self.start + Duration::from_secs_f64(clock.sent as f64 / qps);
                clock.sent += 1;
                due
            }
            Pacing::Open { rate } => self.start + Duration::from_secs_f64(i as f64 / rate),
        };
        if let Stop::Duration(d) = self.stop {
            // Under an open-model rate every request due before the deadline is sent while the
            // run lasts, however late: dropping the backlog early would hide the very stall the
            // correction measures.
            let at = match self.pacing {
                Pacing::Open { .. } => due,
                Pacing::Closed | Pacing::PerWorker { .. } => due.max(Instant::now()),
            };
            // `-z` bounds the run: a request due before the bound but not sent by then is not
            // sent at all (`not_sent`), so a slow server cannot stretch the run.
            if at >= self.start + d || Instant::now() >= self.start + d {
                return None;
            }
        }
        if due > Instant::now() {
            let mut stop_rx = self.stop_tx.subscribe();
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = stop_rx.wait_for(|s| *s) => return None,
            }
        }
        let slot_end = match self.pacing {
            Pacing::Closed => None,
            Pacing::PerWorker { qps } => Some(clock.sent as f64 / qps),
            Pacing::Open { rate } => Some((i + 1) as f64 / rate),
        };
        if let Some(end) = slot_end {
            let end = nanos(Duration::from_secs_f64(end));
            self.slot_end_nanos.fetch_max(end, Ordering::Relaxed);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let open = matches!(self.pacing, Pacing::Open { .. });
        Some(Ticket {
            due: open.then_some(due),
        })
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under an open-model rate, due times follow the absolute schedule whatever the order in
    /// which workers claim them, and the count stop hands out exactly n tickets.
    #[tokio::test(start_paused = true)]
    async fn open_schedule_is_absolute_and_bounded() {
        let start = Instant::now();
        let s = Schedule::new(start, Pacing::Open { rate: 100.0 }, Stop::Count(5));
        let mut clock = WorkerClock::default();
        let mut dues = Vec::new();
        while let Some(t) = s.next(&mut clock).await {
            dues.push(t.due.unwrap() - start);
        }
        let want: Vec<Duration> = (0..5).map(|i| Duration::from_millis(10 * i)).collect();
        assert_eq!(dues, want);
    }

    proptest::proptest! {
        /// However many workers share the schedule, together they get exactly n tickets, the
        /// due times are exactly start + i/rate for i in 0..n, and each worker's own due times
        /// never go backwards.
        #[test]
        fn shared_open_schedule_is_exact_and_monotonic(rate in 1.0f64..100_000.0, workers in 1usize..8, n in 1u64..300) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
            let (mut all, per_worker) = rt.block_on(async {
                let start = Instant::now();
                let s = std::sync::Arc::new(Schedule::new(start, Pacing::Open { rate }, Stop::Count(n)));
                let tasks: Vec<_> = (0..workers).map(|_| {
                    let s = s.clone();
                    tokio::spawn(async move {
                        let mut clock = WorkerClock::default();
                        let mut dues = Vec::new();
                        while let Some(t) = s.next(&mut clock).await {
                            dues.push(t.due.unwrap() - start);
                        }
                        dues
                    })
                }).collect();
                let mut all = Vec::new();
                let mut per_worker = Vec::new();
                for t in tasks {
                    let d = t.await.unwrap();
                    all.extend(d.iter().copied());
                    per_worker.push(d);
                }
                (all, per_worker)
            });
            all.sort();
            let want: Vec<Duration> = (0..n).map(|i| Duration::from_secs_f64(i as f64 / rate)).collect();
            proptest::prop_assert_eq!(all, want);
            for d in per_worker {
                proptest::prop_assert!(d.windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn duration_stop_ends_at_the_deadline() {
        let start = Instant::now();
        let s = Schedule::new(
            start,
            Pacing::Open { rate: 10.0 },
            Stop::Duration(Duration::from_secs(1)),
        );
        let mut clock = WorkerClock::default();
        let mut n = 0;
        while s.next(&mut clock).await.is_some() {
            n += 1;
        }
        assert_eq!(n, 10, "due times 0.0..0.9 s fall inside a 1 s run");
    }

    /// hey's -q: after a slow request the worker sends once at once, then keeps to its grid
    /// rather than bursting to catch up the ticks it missed.
    #[tokio::test(start_paused = true)]
    async fn per_worker_rate_drops_missed_ticks() {
        let start = Instant::now();
        let s = Schedule::new(start, Pacing::PerWorker { qps: 10.0 }, Stop::Count(100));
        let mut clock = WorkerClock::default();
        s.next(&mut clock).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1050)).await; // a slow request: 10 ticks missed
        s.next(&mut clock).await.unwrap();
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(1050),
            "the pending tick fires at once"
        );
        s.next(&mut clock).await.unwrap();
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(1100),
            "then back on the 100 ms grid"
        );
    }

    /// A generator that falls behind sends its backlog while the run lasts; what is still
    /// unsent at the `-z` bound is not sent at all, and counted (issue 13: a slow server
    /// stretched a 3 s run to 30 s).
    #[tokio::test(start_paused = true)]
    async fn open_duration_sends_the_backlog_until_the_bound_only() {
        let new = || {
            Schedule::new(
                Instant::now(),
                Pacing::Open { rate: 10.0 },
                Stop::Duration(Duration::from_secs(1)),
            )
        };
        let count = |s: Schedule| async move {
            let mut clock = WorkerClock::default();
            let mut n = 0;
            while s.next(&mut clock).await.is_some() {
                n += 1;
            }
            (n, s.not_sent())
        };
        let late = new();
        tokio::time::sleep(Duration::from_millis(550)).await;
        assert_eq!(
            count(late).await,
            (10, 0),
            "claimed 0.55 s late: the 6 due so far at once, the rest on time"
        );
        let over = new();
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            count(over).await,
            (0, 10),
            "claimed after the bound: none sent"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stop_wakes_a_sleeping_worker() {
        let s = std::sync::Arc::new(Schedule::new(
            Instant::now(),
            Pacing::PerWorker { qps: 0.001 },
            Stop::Count(10),
        ));
        let mut clock = WorkerClock::default();
        assert!(
            s.next(&mut clock).await.is_some(),
            "first request is due at once"
        );
        let s2 = s.clone();
        let waiter = tokio::spawn(async move { s2.next(&mut clock).await.is_none() });
        tokio::time::sleep(Duration::from_millis(10)).await;
        s.stop();
        assert!(waiter.await.unwrap());
    }
}

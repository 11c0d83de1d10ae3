//! A sleep that ends within tens of microseconds of its deadline, for sleep mode's latencies.
//!
//! tokio's timer wheel has 1 ms slots and fires on the tick after a deadline, so a drawn 10 ms
//! answered after 10.5-11.5 ms: every client measured the server's timer, not itself. Here the
//! bulk of a wait stays on tokio's wheel (cheap with 10,000 sleepers) and only the last
//! [`MARGIN`] goes to one dedicated thread that keeps the deadlines in a heap and sleeps on a
//! futex with a timeout (`recv_timeout`). Such a wait itself ends 50-100 µs late on a VM (timer
//! slack, wake-up latency), so the thread learns how late its waits end and aims that much early,
//! then spins the few microseconds left, yielding the CPU on every turn (mock-server may have
//! one core, and the runtime thread that must answer shares it): sleepers wake within ~10-25 µs
//! of their deadline at the cost of a short spin per wake-up, not a core. Crates that do this either spin a core
//! (`async-spin-sleep`) or open a timerfd per sleep (`tokio-hrtime`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The part of a wait handed to the precise thread. tokio's wheel rounds a deadline up to its
/// next millisecond and an idle runtime's poll timeout rounds up again, so its wake-ups come up
/// to 2 ms late; with a 2 ms margin, 1% of 10 ms sleeps ended 0.7 ms late, with 4 ms none.
pub const MARGIN: Duration = Duration::from_millis(4);

/// Waits until `deadline`, ending a few tens of microseconds after it at most (plus whatever the
/// runtime takes to poll the task once woken). Dropping the future cancels the wait.
pub async fn sleep_until(deadline: tokio::time::Instant) {
    let deadline = deadline.into_std();
    if let Some(early) = deadline.checked_sub(MARGIN) {
        if early > Instant::now() {
            tokio::time::sleep_until(early.into()).await;
        }
    }
    if deadline <= Instant::now() {
        return;
    }
    let (tx, rx) = oneshot::channel();
    if thread().send(Entry { deadline, tx }).is_ok() {
        let _ = rx.await;
    } else {
        // The thread could not be started: tokio's timer is late but still correct.
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// One sleeper: woken by sending on (or dropping) `tx` at `deadline`.
struct Entry {
    deadline: Instant,
    tx: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.deadline.cmp(&other.deadline)
    }
}

/// The precise thread's inbox, started on first use and shared by every server in the process.
fn thread() -> &'static Inbox {
    static INBOX: OnceLock<Inbox> = OnceLock::new();
    INBOX.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("precise-sleep".into())
            .spawn(move || wake_on_time(&rx));
        Inbox(started.is_ok().then_some(tx))
    })
}

struct Inbox(Option<mpsc::Sender<Entry>>);

impl Inbox {
    fn send(&self, e: Entry) -> Result<(), ()> {
        self.0.as_ref().ok_or(())?.send(e).map_err(|_| ())
    }
}

/// How much earlier than a deadline the thread aims its timed wait, at the start and at most.
const FIRST_GUESS: Duration = Duration::from_micros(100);
const MOST_EARLY: Duration = Duration::from_millis(1);

fn wake_on_time(rx: &mpsc::Receiver<Entry>) {
    let mut due: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    // How late a timed wait ends, smoothed: the thread aims this much (plus a guard) early.
    let mut lateness = FIRST_GUESS;
    loop {
        let mut now = Instant::now();
        while let Some(Reverse(e)) = due.peek() {
            if e.deadline > now {
                // Close enough to spin the rest rather than sleep again and wake late. The
                // spin yields: a runtime thread woken a moment ago may need this core to answer.
                if e.deadline - now > lateness + lateness / 2 {
                    break;
                }
                while Instant::now() < e.deadline {
                    std::thread::yield_now();
                }
                now = Instant::now();
            }
            let Some(Reverse(e)) = due.pop() else { break };
            // The sleeper may have gone (client disconnected): nothing to wake then.
            let _ = e.tx.send(());
        }
        let next = match due.peek() {
            Some(Reverse(e)) => {
                let aim = e.deadline.checked_sub(lateness * 2).unwrap_or(now).max(now);
                let r = rx.recv_timeout(aim - now);
                if r.is_err() {
                    let late = Instant::now().saturating_duration_since(aim);
                    lateness = (lateness * 7 + late.min(MOST_EARLY)) / 8;
                }
                r
            }
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(e) => due.push(Reverse(e)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_after_the_deadline_and_close_to_it() {
        // Deadlines below, at and above the margin take both paths. Each wait may not end before
        // its deadline; ending late is only bounded loosely here (machines under test are
        // loaded), the benchmarks measure how close it is.
        for ms in [0.3, 1.0, 2.0, 3.5, 12.0] {
            let start = tokio::time::Instant::now();
            let deadline = start + Duration::from_secs_f64(ms / 1000.0);
            sleep_until(deadline).await;
            let now = tokio::time::Instant::now();
            assert!(now >= deadline, "woke {:?} early", deadline - now);
            assert!(now - deadline < Duration::from_millis(500), "{ms} ms");
        }
    }

    /// Prints how late 10 ms sleeps end, for tuning (`cargo test --release -p mock-server
    /// precise -- --ignored --nocapture`, pinned with taskset to mimic the benchmarks).
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    #[ignore = "a measurement, not a check"]
    async fn lateness_of_10ms_sleeps() {
        let mut late: Vec<u128> = Vec::new();
        for _ in 0..1000 {
            let deadline = tokio::time::Instant::now() + Duration::from_millis(10);
            sleep_until(deadline).await;
            late.push((tokio::time::Instant::now() - deadline).as_micros());
        }
        late.sort_unstable();
        let q = |p: usize| late[late.len() * p / 100];
        eprintln!(
            "late by (us): p50 {} p90 {} p99 {} max {}",
            q(50),
            q(90),
            q(99),
            late[late.len() - 1]
        );
    }

    #[tokio::test]
    async fn many_sleepers_all_wake_and_none_early() {
        let start = tokio::time::Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for i in (0..200u64).rev() {
            let tx = tx.clone();
            tokio::spawn(async move {
                let deadline = start + Duration::from_micros(100 * i);
                sleep_until(deadline).await;
                let _ = tx.send(tokio::time::Instant::now() >= deadline);
            });
        }
        drop(tx);
        let mut woke = Vec::new();
        while let Some(on_time) = rx.recv().await {
            woke.push(on_time);
        }
        assert_eq!(woke.len(), 200);
        assert!(woke.iter().all(|&on_time| on_time), "a sleeper woke early");
    }

    #[tokio::test]
    async fn a_dropped_sleep_does_not_stop_the_others() {
        let start = tokio::time::Instant::now();
        let gone = tokio::spawn(sleep_until(start + Duration::from_millis(1)));
        gone.abort();
        sleep_until(start + Duration::from_millis(1)).await;
        assert!(tokio::time::Instant::now() >= start + Duration::from_millis(1));
    }
}

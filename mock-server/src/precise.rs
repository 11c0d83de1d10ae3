//! A sleep that ends within tens of microseconds of its deadline, for sleep mode's latencies.
//!
//! tokio's timer wheel has 1 ms slots and fires on the tick after a deadline, so a drawn 10 ms
//! answered after 10.5-11.5 ms: every client measured the server's timer, not itself. Here the
//! bulk of a wait stays on tokio's wheel (cheap with 10,000 sleepers) and only the last
//! [`MARGIN`] goes to one dedicated thread that keeps the deadlines in a heap and sleeps on a
//! futex with a timeout (`recv_timeout`), whose wake-ups the kernel's hrtimers place to within
//! its timer slack (50 µs by default). Crates that do this either spin a core
//! (`async-spin-sleep`) or open a timerfd per sleep (`tokio-hrtime`); one thread and a channel
//! cost neither.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The part of a wait handed to the precise thread: tokio's wheel wakes up to 1 ms late and
/// scheduling adds a little, so 2 ms keeps the wheel's wake-up before the deadline.
pub const MARGIN: Duration = Duration::from_millis(2);

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

fn wake_on_time(rx: &mpsc::Receiver<Entry>) {
    let mut due: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while due.peek().is_some_and(|Reverse(e)| e.deadline <= now) {
            let Some(Reverse(e)) = due.pop() else { break };
            // The sleeper may have gone (client disconnected): nothing to wake then.
            let _ = e.tx.send(());
        }
        let next = match due.peek() {
            Some(Reverse(e)) => rx.recv_timeout(e.deadline - now),
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

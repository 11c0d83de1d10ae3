//! The connections being served, so shutdown can ask each to finish its request and close, wait
//! until all have, and drop the stragglers when the grace period is over.
//!
//! A connection reads one atomic on every wake-up and hands its task's waker over once; the
//! alternatives (hyper-util's graceful watcher, a `watch` receiver in a `select!`) poll a
//! `Notify` on every wake-up of every connection, which is most of a request's cost in record
//! mode.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use hyper_util::server::graceful::GracefulConnection;
use tokio::sync::Notify;

const SERVING: u8 = 0;
/// Shutting down, but the open connections are not asked to close yet.
const CLOSING: u8 = 1;
const DRAINING: u8 = 2;
const STOPPED: u8 = 3;

/// Every connection accepted and not yet closed.
pub struct Connections {
    state: AtomicU8,
    wakers: Mutex<Wakers>,
    /// Signalled when the last connection closes during a drain.
    closed: Notify,
}

#[derive(Default)]
struct Wakers {
    next: u64,
    /// `None` until the connection's task has first been polled.
    by_id: HashMap<u64, Option<Waker>>,
}

impl Connections {
    pub fn new() -> Arc<Connections> {
        Arc::new(Connections {
            state: AtomicU8::new(SERVING),
            wakers: Mutex::new(Wakers::default()),
            closed: Notify::new(),
        })
    }

    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        // A panic while holding the lock leaves the map consistent: every edit is one call.
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a connection until the returned handle is dropped.
    pub fn track(self: &Arc<Self>) -> Tracked {
        let mut w = self.wakers();
        let id = w.next;
        w.next += 1;
        w.by_id.insert(id, None);
        Tracked {
            connections: self.clone(),
            id,
            waker: None,
        }
    }

    pub fn count(&self) -> usize {
        self.wakers().by_id.len()
    }

    /// Shutdown has begun: [`Connections::closed`] may now resolve, but the connections are
    /// left to serve what reaches them (their answers say `connection: close`).
    pub fn close(&self) {
        self.signal(CLOSING);
    }

    /// Asks every connection to finish the request it is serving, then close.
    pub fn drain(&self) {
        self.signal(DRAINING);
    }

    /// Drops every connection still open, whatever it is doing.
    pub fn stop(&self) {
        self.signal(STOPPED);
    }

    fn signal(&self, state: u8) {
        self.state.fetch_max(state, Ordering::SeqCst);
        // Taking the lock orders this after the state change for any connection that registers
        // its waker concurrently: it either is woken here or reads the new state after.
        for waker in self.wakers().by_id.values().flatten() {
            waker.wake_by_ref();
        }
    }

    /// Resolves once no tracked connection is left.
    pub async fn closed(&self) {
        // `notify_one` keeps a permit, so a close between the check and the wait is not lost.
        while self.count() > 0 {
            self.closed.notified().await;
        }
    }
}

/// One tracked connection; dropping it (when its task ends) untracks it.
pub struct Tracked {
    connections: Arc<Connections>,
    id: u64,
    /// The waker handed to `connections`, kept to tell whether the task's waker changed.
    waker: Option<Waker>,
}

impl Tracked {
    /// The server's state, making sure a change of it wakes this task.
    fn state(&mut self, cx: &Context<'_>) -> u8 {
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let waker = cx.waker().clone();
            self.connections
                .wakers()
                .by_id
                .insert(self.id, Some(waker.clone()));
            self.waker = Some(waker);
        }
        self.connections.state.load(Ordering::SeqCst)
    }

    /// Serves `conn` to its end, asking it to shut down gracefully once a drain starts; `None`
    /// when a hard stop dropped it first.
    pub async fn serve<C: GracefulConnection>(&mut self, conn: C) -> Option<Result<(), C::Error>> {
        let mut conn = pin!(conn);
        let mut asked = false;
        poll_fn(|cx| {
            match self.state(cx) {
                STOPPED => return Poll::Ready(None),
                DRAINING if !asked => {
                    asked = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ => {}
            }
            conn.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let left = {
            let mut w = self.connections.wakers();
            w.by_id.remove(&self.id);
            w.by_id.len()
        };
        if left == 0 && self.connections.state.load(Ordering::SeqCst) != SERVING {
            self.connections.closed.notify_one();
        }
    }
}

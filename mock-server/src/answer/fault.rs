//! Transport faults beyond a status code, per endpoint, set through the phase.
//!
//! `<Endpoint>Fault` picks the kind and `<Endpoint>FaultRatio` how often it strikes. Every kind
//! but `drop` happens after the app has handled (and counted) the request, the way a proxy or a
//! network mangles an answer the service thinks it sent; `drop` loses the request before the app
//! sees it, so the server's own metrics never learn of it (the blind spot of the workshop's
//! challenge 7: the client-side SLI falls while the server-side SLI stays green).

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use tokio::time::{Duration, Sleep};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// The connection is reset (RST) instead of answered.
    Reset,
    /// No answer at all until the client gives up (bounded by the longest injectable latency).
    Hang,
    /// The connection closes without a byte of response.
    Empty,
    /// Headers promise the whole body; half of it arrives, then the connection closes.
    Truncated,
    /// Headers arrive on time; the body trickles out in chunks over the endpoint's max latency.
    SlowBody,
    /// The request is dropped (reset) before the app sees it: nothing is counted.
    Drop,
}

const KINDS: [(Fault, &str); 7] = [
    (Fault::None, "none"),
    (Fault::Reset, "reset"),
    (Fault::Hang, "hang"),
    (Fault::Empty, "empty"),
    (Fault::Truncated, "truncated"),
    (Fault::SlowBody, "slow-body"),
    (Fault::Drop, "drop"),
];

impl Fault {
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("none", |(_, n)| n)
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        KINDS.iter().map(|(_, n)| *n)
    }
}

impl FromStr for Fault {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        KINDS
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(k, _)| *k)
            .ok_or(())
    }
}

/// An endpoint's fault setting: which kind, and the share of requests it strikes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSpec {
    pub kind: Fault,
    pub ratio: f64,
}

/// Chunks a slow body is cut into.
const SLOW_CHUNKS: usize = 10;

/// A response body that misbehaves on purpose: ends early, or arrives slowly.
pub struct FaultBody {
    /// What is left to send.
    data: Bytes,
    /// How much of `data` will be sent; the rest is withheld and the body then fails.
    to_send: usize,
    chunk: usize,
    /// The pause before each chunk (slow body) or before the failure (truncated body).
    interval: Duration,
    /// Whether the first chunk waits too.
    pause_first: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl FaultBody {
    /// Sends half of `data` at once, then fails so the connection is closed mid-body.
    pub fn truncated(data: Bytes) -> FaultBody {
        let half = data.len() / 2;
        FaultBody {
            chunk: half.max(1),
            to_send: half,
            data,
            // hyper flushes what it has only while the body is pending: failing at once would
            // discard the half already queued.
            interval: Duration::from_millis(50),
            pause_first: false,
            sleep: None,
        }
    }

    /// Sends `data` in chunks spread evenly over `over`.
    pub fn slow(data: Bytes, over: Duration) -> FaultBody {
        FaultBody {
            chunk: data.len().div_ceil(SLOW_CHUNKS).max(1),
            to_send: data.len(),
            data,
            interval: over / SLOW_CHUNKS as u32,
            pause_first: true,
            sleep: None,
        }
    }

    fn pause(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.interval.is_zero() {
            return Poll::Ready(());
        }
        let interval = self.interval;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        Poll::Ready(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("fault injected: body truncated")]
pub struct Truncated;

impl Body for FaultBody {
    type Data = Bytes;
    type Error = Truncated;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Truncated>>> {
        let this = &mut *self;
        if this.to_send == 0 && this.data.is_empty() {
            return Poll::Ready(None);
        }
        if std::mem::replace(&mut this.pause_first, true) && this.pause(cx).is_pending() {
            return Poll::Pending;
        }
        if this.to_send == 0 {
            return Poll::Ready(Some(Err(Truncated)));
        }
        let n = this.chunk.min(this.to_send);
        this.to_send -= n;
        Poll::Ready(Some(Ok(Frame::data(this.data.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.to_send == 0 && self.data.is_empty()
    }
}

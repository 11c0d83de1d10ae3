//! The runner's signals: the first SIGINT (Ctrl-C) or SIGTERM (how Kubernetes stops a pod) asks
//! the run to stop and print its partial report; a second one exits at once, even while the
//! report cannot be written (a reader that stopped reading) or every runtime thread is busy.
//! A thread of its own, with its own small runtime, watches, so nothing the load does can keep
//! it from running. It starts with the first run that listens, so other commands keep the
//! default: Ctrl-C ends them.

use std::sync::OnceLock;

use tokio::sync::watch;

use crate::exit;

/// The exit code the first signal called for, once one came.
static FIRST: OnceLock<watch::Receiver<Option<i32>>> = OnceLock::new();

fn watcher() -> &'static watch::Receiver<Option<i32>> {
    FIRST.get_or_init(|| {
        let (tx, rx) = watch::channel(None);
        // Without the thread the sender is dropped, and `first` never resolves: the run goes
        // to its end rather than stopping at once.
        let _ = std::thread::Builder::new()
            .name("loadgen-signals".to_owned())
            .spawn(move || watch(tx));
        rx
    })
}

/// Resolves on the first SIGINT or SIGTERM; never, if they cannot be watched.
pub async fn first() {
    let mut rx = watcher().clone();
    if rx.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The exit code of the first signal, if one came: 130 (SIGINT) or 143 (SIGTERM).
pub fn code() -> Option<i32> {
    FIRST.get().and_then(|rx| *rx.borrow())
}

fn watch(tx: watch::Sender<Option<i32>>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        let mut next = match Signals::new() {
            Ok(s) => s,
            Err(_) => return,
        };
        let first = next.recv().await;
        let _ = tx.send(Some(first));
        let second = next.recv().await;
        eprintln!("loadgen: interrupted again: exiting without the report");
        std::process::exit(second);
    });
}

#[cfg(unix)]
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next signal, as the exit code it calls for.
    async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => exit::INTERRUPTED,
            _ = self.term.recv() => exit::TERMINATED,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn recv(&mut self) -> i32 {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        exit::INTERRUPTED
    }
}

//! The traffic split of a running load, changeable while it runs (`POST /split`, the web page):
//! Cloud Run's `update-traffic` under continuous load. `LiveSplit` is the shared handle; each
//! worker picks through its own `Picker`, which reads one atomic generation counter (Relaxed) per
//! pick and takes the lock only when the split has changed since its last pick. Each worker counts
//! its picks in atomics of its own (one writer, so a count is a plain load and store), which the
//! handle reads under its lock beside the counts workers handed in at a change or at their end:
//! every `SplitEvent`, the one `POST /split` answers included, says how many requests each target
//! had been sent at the moment it was read, not only what workers had handed in by then.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::Rng;
use tokio::time::Instant;

pub use crate::report::SplitEvent;
use crate::weighted::{SplitError, Weighted, repeated, split};

/// A split change that cannot be made; the run goes on with the split it had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitChangeError {
    #[error("give at least one target's weight, e.g. {{\"{0}\": 100}}")]
    Empty(String),
    #[error("{name:?} is not a target of this run (its targets: {known})")]
    Unknown { name: String, known: String },
    #[error("{0:?} is given twice")]
    Repeated(String),
    #[error("the weights given sum to over 100: they are percentages")]
    OverHundred,
    #[error("all weights are 0: traffic has to go somewhere")]
    AllZero,
}

/// The shared, changeable split of one run's targets. Cloning shares it.
#[derive(Debug, Clone)]
pub struct LiveSplit {
    inner: Arc<Inner>,
}

/// What a page shows of a live split: the weights in force and every change so far (the run
/// page and the swarm page both answer it in their stats document).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SplitDoc {
    pub weights: Vec<(String, u32)>,
    pub events: Vec<SplitEvent>,
}

#[derive(Debug)]
struct Inner {
    names: Vec<String>,
    /// Bumped (Release) after `state` holds the new weights; workers read it Relaxed per pick
    /// and then lock `state`, which orders the rest.
    generation: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When the run started (the first `started`); until then, when the split was made.
    start: Instant,
    started: bool,
    /// Weights of each generation, in target order; generation g is the split after change g.
    weights: Vec<Vec<u32>>,
    /// When each change after the first generation happened.
    changed_at: Vec<Instant>,
    /// Requests routed per generation per target, handed in by workers that moved on or ended.
    tallies: Vec<Vec<u64>>,
    /// The live pickers' own counts, by the slot each registered in (`None`: a free slot, reused
    /// by the next picker, so the list grows only to the most workers alive at once).
    live: Vec<Option<LiveCounts>>,
    /// The free slots of `live`: thousands of workers register and leave in O(1) each.
    free: Vec<usize>,
}

/// One live picker's counts, readable by the handle while the worker picks.
#[derive(Debug)]
struct LiveCounts {
    /// The generation the counts belong to; changed only under the state lock.
    generation: usize,
    counts: Arc<[AtomicU64]>,
}

impl LiveSplit {
    /// The split of `targets` (`(name, weight)`, weights as the plan made them), starting now.
    pub fn new(targets: &[(String, u32)]) -> LiveSplit {
        let names: Vec<String> = targets.iter().map(|(n, _)| n.clone()).collect();
        let weights = targets.iter().map(|&(_, w)| w).collect();
        LiveSplit {
            inner: Arc::new(Inner {
                generation: AtomicU64::new(0),
                state: Mutex::new(State {
                    start: Instant::now(),
                    started: false,
                    weights: vec![weights],
                    changed_at: Vec::new(),
                    tallies: vec![vec![0; names.len()]],
                    live: Vec::new(),
                    free: Vec::new(),
                }),
                names,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks when the run started, for the events' `at_secs` (the engine calls it at start).
    /// The first call wins, so the steps of a timeline share one clock.
    pub fn started(&self, at: Instant) {
        let mut state = self.state();
        if !state.started {
            state.start = at;
            state.started = true;
        }
    }

    /// The target names, in plan order.
    pub fn names(&self) -> &[String] {
        &self.inner.names
    }

    /// The current weights, by target name, in plan order.
    pub fn weights(&self) -> Vec<(String, u32)> {
        let state = self.state();
        let current = state.weights.last().map(Vec::as_slice).unwrap_or_default();
        self.inner
            .names
            .iter()
            .cloned()
            .zip(current.iter().copied())
            .collect()
    }

    /// Changes the split by Cloud Run's rule, as `--split` reads it: the names given take their
    /// percentage, the others share what is left of 100. One difference, which is
    /// `update-traffic`'s: when the names given take all 100, the others get 0 (`{"good": 100}`
    /// is the rollback), where `--split` asks for their weight, since a target given nothing
    /// from the start is more likely a mistake. Takes effect for each worker's next pick.
    pub fn change(&self, given: &[(String, u32)]) -> Result<SplitEvent, SplitChangeError> {
        let names = &self.inner.names;
        if given.is_empty() {
            return Err(SplitChangeError::Empty(
                names.first().cloned().unwrap_or_default(),
            ));
        }
        if let Some(name) = repeated(given.iter().map(|(n, _)| n.as_str())) {
            return Err(SplitChangeError::Repeated(name.to_owned()));
        }
        if let Some((name, _)) = given.iter().find(|(g, _)| !names.contains(g)) {
            return Err(SplitChangeError::Unknown {
                name: name.clone(),
                known: names.join(", "),
            });
        }
        let all = given.iter().map(|&(_, w)| u64::from(w)).sum::<u64>() == 100;
        let by_target: Vec<Option<u32>> = names
            .iter()
            .map(|n| given.iter().find(|(g, _)| g == n).map(|&(_, w)| w))
            .map(|w| if all { w.or(Some(0)) } else { w })
            .collect();
        let weights = split(&by_target, 100).map_err(|e| match e {
            // Unreachable: given all 100, the others got 0 above.
            SplitError::NothingLeft(_) => SplitChangeError::OverHundred,
            SplitError::AllZero => SplitChangeError::AllZero,
            SplitError::OverHundred => SplitChangeError::OverHundred,
        })?;
        let mut state = self.state();
        Ok(self.push(&mut state, weights))
    }

    /// Sets weights already split (a timeline step's `split`), recorded as a change like any
    /// other. Weights must match the targets in number and not all be 0; otherwise nothing changes.
    pub fn set(&self, weights: Vec<u32>) -> Option<SplitEvent> {
        if weights.len() != self.inner.names.len() || weights.iter().all(|&w| w == 0) {
            return None;
        }
        let mut state = self.state();
        if state.weights.last() == Some(&weights) {
            return None;
        }
        Some(self.push(&mut state, weights))
    }

    fn push(&self, state: &mut State, weights: Vec<u32>) -> SplitEvent {
        state.weights.push(weights);
        state.changed_at.push(Instant::now());
        state.tallies.push(vec![0; self.inner.names.len()]);
        let generation = state.weights.len() as u64 - 1;
        self.inner.generation.store(generation, Ordering::Release);
        // Read under the same lock as the change: the counts at the moment of it.
        let tallies = counted(state);
        self.event(state, &tallies, generation as usize)
    }

    /// The weights in force and the changes so far, as the pages show them.
    pub fn doc(&self) -> SplitDoc {
        SplitDoc {
            weights: self.weights(),
            events: self.events(),
        }
    }

    /// Every change so far, oldest first, with the requests sent so far, the live workers'
    /// included (final once the run has ended).
    pub fn events(&self) -> Vec<SplitEvent> {
        let state = self.state();
        let tallies = counted(&state);
        (1..state.weights.len())
            .map(|g| self.event(&state, &tallies, g))
            .collect()
    }

    /// Requests routed to each target so far, in plan order, the live workers' included.
    pub fn requests(&self) -> Vec<u64> {
        let state = self.state();
        let mut total = vec![0; self.inner.names.len()];
        for t in &counted(&state) {
            for (acc, n) in total.iter_mut().zip(t) {
                *acc += n;
            }
        }
        total
    }

    /// The event of the change that started generation `g` (g >= 1), from `tallies` (what
    /// [`counted`] read).
    fn event(&self, state: &State, tallies: &[Vec<u64>], g: usize) -> SplitEvent {
        let names = &self.inner.names;
        let by_name = |values: &[u32]| -> BTreeMap<String, u32> {
            names.iter().cloned().zip(values.iter().copied()).collect()
        };
        let sum = |gens: &[Vec<u64>]| -> BTreeMap<String, u64> {
            names
                .iter()
                .enumerate()
                .map(|(t, n)| (n.clone(), gens.iter().map(|c| c[t]).sum()))
                .collect()
        };
        SplitEvent {
            at_secs: state.changed_at[g - 1]
                .saturating_duration_since(state.start)
                .as_secs_f64(),
            weights_before: by_name(&state.weights[g - 1]),
            weights_after: by_name(&state.weights[g]),
            requests_before: sum(&tallies[..g]),
            requests_after: sum(&tallies[g..]),
        }
    }

    /// A picker for one worker, registered so the handle can read its counts.
    pub fn picker(&self) -> Picker {
        let counts: Arc<[AtomicU64]> = self.inner.names.iter().map(|_| AtomicU64::new(0)).collect();
        let slot = {
            let mut state = self.state();
            let entry = LiveCounts {
                generation: state.weights.len() - 1,
                counts: counts.clone(),
            };
            match state.free.pop() {
                Some(i) => {
                    state.live[i] = Some(entry);
                    i
                }
                None => {
                    state.live.push(Some(entry));
                    state.live.len() - 1
                }
            }
        };
        let mut p = Picker {
            split: self.clone(),
            generation: u64::MAX,
            weighted: Weighted::new([0]),
            counts,
            slot,
        };
        p.refresh();
        p
    }
}

/// Each generation's requests per target: those handed in plus the live pickers' own.
/// Read under the lock, which every hand-in takes, so no pick is counted twice or missed; a
/// count read while its worker adds to it is at most that one pick behind.
fn counted(state: &State) -> Vec<Vec<u64>> {
    let mut tallies = state.tallies.clone();
    for live in state.live.iter().flatten() {
        if let Some(tally) = tallies.get_mut(live.generation) {
            for (acc, n) in tally.iter_mut().zip(live.counts.iter()) {
                *acc += n.load(Ordering::Relaxed);
            }
        }
    }
    tallies
}

/// One worker's view of the split: a local `Weighted`, refreshed when the generation moves, and
/// its own pick counts for the generation it picks in, which the handle can read at any time.
/// Hands its counts in and frees its slot when dropped.
#[derive(Debug)]
pub struct Picker {
    split: LiveSplit,
    generation: u64,
    weighted: Weighted,
    /// Written by this picker only; read by the handle under its lock.
    counts: Arc<[AtomicU64]>,
    /// Where `counts` is registered in the handle's `live`.
    slot: usize,
}

impl Picker {
    /// The target index for the next request, counted for the split that chose it.
    #[inline]
    pub fn pick(&mut self, rng: &mut impl Rng) -> usize {
        let t = self.choose(rng);
        self.count(t);
        t
    }

    /// A target for a series of requests (a journey's task), each counted with `count`: all
    /// of them count for the split that chose the target, even if it changes meanwhile.
    #[inline]
    pub fn choose(&mut self, rng: &mut impl Rng) -> usize {
        let g = self.split.inner.generation.load(Ordering::Relaxed);
        if g != self.generation {
            self.refresh();
        }
        self.weighted.pick(rng)
    }

    /// Counts one request to target `t`, chosen by the last `choose`.
    #[inline]
    pub fn count(&mut self, t: usize) {
        // The only writer: a load and a store, no read-modify-write on the hot path.
        let c = &self.counts[t];
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Hands the counts of the generation it picked in to the shared tallies and loads the
    /// latest weights. Under the lock, the generation it reads is the one the weights belong to.
    #[cold]
    fn refresh(&mut self) {
        let split = self.split.clone();
        let mut state = split.state();
        self.flush_into(&mut state);
        let latest = state.weights.len() - 1;
        self.weighted = Weighted::new(state.weights[latest].iter().copied());
        self.generation = latest as u64;
        if let Some(Some(live)) = state.live.get_mut(self.slot) {
            live.generation = latest;
        }
    }

    /// Moves this picker's counts into its generation's tally, under the lock the readers take.
    fn flush_into(&mut self, state: &mut State) {
        if let Some(tally) = usize::try_from(self.generation)
            .ok()
            .and_then(|g| state.tallies.get_mut(g))
        {
            for (acc, n) in tally.iter_mut().zip(self.counts.iter()) {
                *acc += n.swap(0, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Picker {
    fn drop(&mut self) {
        let split = self.split.clone();
        let mut state = split.state();
        self.flush_into(&mut state);
        if let Some(slot) = state.live.get_mut(self.slot) {
            *slot = None;
            state.free.push(self.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::{LiveSplit, SplitChangeError};

    fn named(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
        pairs.iter().map(|&(n, w)| (n.to_owned(), w)).collect()
    }

    #[test]
    fn changes_follow_cloud_runs_rule() {
        let s = LiveSplit::new(&named(&[("good", 50), ("canary", 50), ("old", 0)]));
        assert_eq!(
            s.weights(),
            named(&[("good", 50), ("canary", 50), ("old", 0)])
        );
        s.change(&named(&[("canary", 10)])).unwrap();
        assert_eq!(
            s.weights(),
            named(&[("good", 45), ("canary", 10), ("old", 45)])
        );
        s.change(&named(&[("good", 100), ("canary", 0), ("old", 0)]))
            .unwrap();
        assert_eq!(
            s.weights(),
            named(&[("good", 100), ("canary", 0), ("old", 0)])
        );
        // update-traffic's rollback: the names given take all 100, the others get 0.
        s.change(&named(&[("canary", 50), ("old", 50)])).unwrap();
        assert_eq!(
            s.weights(),
            named(&[("good", 0), ("canary", 50), ("old", 50)])
        );
        s.change(&named(&[("good", 100)])).unwrap();
        assert_eq!(
            s.weights(),
            named(&[("good", 100), ("canary", 0), ("old", 0)])
        );
        assert_eq!(s.events().len(), 4);
    }

    #[test]
    fn bad_changes_are_refused_with_a_clear_message_and_change_nothing() {
        let s = LiveSplit::new(&named(&[("good", 50), ("canary", 50)]));
        let cases = [
            (
                named(&[]),
                "give at least one target's weight, e.g. {\"good\": 100}",
            ),
            (
                named(&[("nope", 1)]),
                "\"nope\" is not a target of this run (its targets: good, canary)",
            ),
            (
                named(&[("good", 1), ("good", 2)]),
                "\"good\" is given twice",
            ),
            (
                named(&[("good", 60), ("canary", 60)]),
                "the weights given sum to over 100: they are percentages",
            ),
            (
                named(&[("good", 0), ("canary", 0)]),
                "all weights are 0: traffic has to go somewhere",
            ),
        ];
        for (given, message) in cases {
            let e = s.change(&given).unwrap_err();
            assert_eq!(e.to_string(), message, "{given:?}");
        }
        assert!(matches!(
            s.change(&named(&[("good", 100), ("good", 0)])),
            Err(SplitChangeError::Repeated(_))
        ));
        assert_eq!(s.weights(), named(&[("good", 50), ("canary", 50)]));
        assert!(s.events().is_empty());
    }

    #[test]
    fn picks_are_counted_by_the_split_that_made_them() {
        let s = LiveSplit::new(&named(&[("good", 50), ("canary", 50)]));
        let mut rng = SmallRng::seed_from_u64(3);
        let mut a = s.picker();
        let mut b = s.picker();
        let mut seen = [0u64; 2];
        for _ in 0..1000 {
            seen[a.pick(&mut rng)] += 1;
            seen[b.pick(&mut rng)] += 1;
        }
        let event = s.change(&named(&[("good", 100), ("canary", 0)])).unwrap();
        // The change's own answer counts what the workers had sent, handed in or not.
        assert_eq!(event.requests_before["good"], seen[0]);
        assert_eq!(event.requests_before["canary"], seen[1]);
        assert_eq!(event.requests_after.values().sum::<u64>(), 0);
        for _ in 0..500 {
            assert_eq!(a.pick(&mut rng), 0);
        }
        drop(a);
        drop(b);
        let events = s.events();
        let e = &events[0];
        assert_eq!(e.requests_before["good"], seen[0]);
        assert_eq!(e.requests_before["canary"], seen[1]);
        assert_eq!(e.requests_after["good"], 500);
        assert_eq!(e.requests_after["canary"], 0);
        assert_eq!(e.weights_before["canary"], 50);
        assert_eq!(e.weights_after["canary"], 0);
        assert_eq!(s.requests(), vec![seen[0] + 500, seen[1]]);
        // Binomial(2000, 0.5): sd ~ 22; 5 sd either way.
        assert!((seen[0] as f64 - 1000.0).abs() < 5.0 * 22.4, "{seen:?}");
    }
}

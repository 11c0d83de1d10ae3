//! `loadgen rehearse FILE`: an incident as one command. It starts what it needs on loopback (the
//! mock in-process, unless `--host` names a running one; a real Prometheus from PATH scraping the
//! mock and loadgen's client metrics at [`slo::Resolution`]'s interval for the scale; the rules), checks that every alert the file
//! names is loaded, then plays the timeline with its load and judges each expectation from what
//! Prometheus reports, against `slo::predict`'s timing. Everything it started is stopped when
//! it returns, Ctrl-C included (the Prometheus child is also killed if the process unwinds).
//!
//! Time: `time_scale` divides the steps' durations, the fixed `within`s and every window and
//! evaluation interval of the rules by one factor: rules generated from a spec are generated
//! compressed, a user's own `--rules` go through `slo::compress_rules` (the same code as
//! `loadgen slo compress`). Prometheus scrapes and evaluates every 15 s / N, between 50 ms and
//! 1 s, so a range holds about as many samples as in production.

mod deadline;
pub mod file;
pub mod model;
pub mod notify;
mod plan;
mod play;
mod stack;
pub mod verdict;

use std::future::Future;

pub use file::{Expectation, Expected, Rehearsal, Within};
pub use notify::AlertmanagerSource;
pub use plan::{FIRST_SCRAPE, POLL, RehearseError, RehearsePlan, RulesSource, Timing};
pub use stack::{CLIENT_JOB, MOCK_JOB};
pub use verdict::{Event, RehearsalReport, Seen, Verdict};

/// Runs the rehearsal; `on_event` sees each note and each verdict as soon as there is one.
/// Everything it started is stopped before it returns, whatever the outcome.
pub async fn run(
    plan: RehearsePlan,
    mut on_event: impl FnMut(Event<'_>),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RehearsalReport, RehearseError> {
    let interrupt = stack::Interrupt::listen(shutdown);
    let scale = plan.time_scale.max(1);
    let (rules, spec) = plan::rule_files(&plan)?;
    let durations: Vec<_> = plan
        .rehearsal
        .timeline
        .steps
        .iter()
        .map(|s| s.duration / scale)
        .collect();
    let derived = deadline::deadlines(&plan, spec.as_ref(), &durations)?;
    for note in &derived.notes {
        on_event(Event::Note(note));
    }
    let deadlines = derived.timings;
    // Bad input is 64 before anything is looked for or started.
    let checked = stack::check(&plan)?;
    on_event(Event::Note(&starting(&plan)));
    let stack = stack::Stack::start(&plan, &rules, checked, &interrupt).await?;
    on_event(Event::Note(&format!(
        "Prometheus is ready at {}; waiting for its first scrape of {}",
        stack.client.base_url(),
        stack.target_list()
    )));
    let outcome = play::Play {
        plan: &plan,
        stack: &stack,
        durations: &durations,
        deadlines: &deadlines,
        interrupt: &interrupt,
    }
    .run(&mut on_event)
    .await;
    stack.stop().await;
    outcome
}

/// What start-up is about to wait for, said before it waits.
fn starting(plan: &RehearsePlan) -> String {
    let every = slo::Compression::new(plan.time_scale)
        .map(|by| slo::Resolution::for_scale(by).scrape.to_string())
        .unwrap_or_default();
    let mocks = match (&plan.host, plan.rehearsal.revisions.len()) {
        (Some(h), _) => format!("the mock at {h}"),
        (None, 0) => "an in-process mock".to_owned(),
        (None, n) => format!("{n} in-process revisions"),
    };
    let alertmanager = if plan.alertmanager.is_some() {
        " and Alertmanager"
    } else {
        ""
    };
    format!("starting Prometheus{alertmanager} from PATH, to scrape {mocks} every {every}")
}

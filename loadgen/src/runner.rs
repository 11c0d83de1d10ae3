//! The top layer: what the binary does with a parsed command line. One place builds the tokio
//! runtime (raising the open-file limit first, for every mode), installs Ctrl-C, dispatches each
//! command to its feature, prints the result, judges hey mode's gates, and maps every outcome to
//! an exit code (`crate::exit`). Usage errors print their message and return 64.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{
    AlertsCommand, CanaryRun, Cli, Command, HeyRun, JourneyArgs, JourneyPlan, MergeArgs, PhaseArgs,
    ReconcileArgs, RehearseArgs, RehearseRun, ScenarioCommand, SloCommand,
};
use crate::exit::{self, Coded, Exit, Usage};
use crate::output::{self, HeyReport, OutputFormat, Render};
use crate::scenario::{self, ScenarioOptions};
use crate::web::{self, WebOptions};
use crate::{phase_cmd, reconcile, rehearse, slo_cmd};
use engine::Live;
use engine::client_metrics::ClientMetrics;
use engine::journey::{self, report as journey_report};
use engine::load::live_split::LiveSplit;
use engine::load::run_view::RunView;
use engine::report::Report;
use engine::report::merge;

mod signals;

/// Runs a parsed command line to its exit code.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Some(Command::Merge(m)) => merge_reports(m),
        Some(Command::Journey(a)) => journey(a),
        Some(Command::Phase(a)) => phase(a),
        Some(Command::Scenario(a)) => timeline(a),
        Some(Command::Slo(a)) => slo(a),
        Some(Command::Alerts(a)) => alerts(a),
        Some(Command::Rehearse(a)) => rehearse(a),
        Some(Command::Reconcile(a)) => reconcile(a),
        Some(Command::Canary(args)) => match CanaryRun::try_from(args) {
            Ok(run) => canary(run),
            Err(e) => Ok(fail("loadgen canary", &Usage(e))),
        },
        None => match HeyRun::try_from(cli.hey) {
            Ok(run) => hey(run),
            Err(e) => Ok(fail("loadgen", &Usage(e))),
        },
    };
    result.unwrap_or_else(|e| match e.downcast_ref::<Coded>() {
        Some(coded) => fail("loadgen", coded),
        None => {
            eprintln!("loadgen: {e:#}");
            exit::FAILED
        }
    })
}

/// The one way a command ends in failure: the error on stderr after the command's name, its
/// hint if it has one, and its exit code.
fn fail(command: &str, e: &dyn Exit) -> i32 {
    eprintln!("{command}: {e}");
    if let Some(hint) = e.hint() {
        eprintln!("{hint}");
    }
    e.exit_code()
}

/// The exit code a finished hey-mode report calls for.
pub fn exit_code(report: &Report, expect_breach: bool) -> i32 {
    let broke = report.slo.iter().any(|o| !o.held);
    if report.interrupted {
        exit::INTERRUPTED
    } else if broke != expect_breach {
        exit::SLO
    } else {
        exit::OK
    }
}

/// The runtime every command runs on; `threads` is hey's `-cpus` (default: one per core).
fn runtime(threads: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    // `-c 10000` or a thousand users hold as many sockets: lift the soft descriptor limit.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        b.worker_threads(n);
    }
    b.enable_all().build().context("cannot start the runtime")
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (how Kubernetes stops a pod): the run
/// stops and prints its partial report. A second signal exits at once (`signals`).
async fn ctrl_c() {
    signals::first().await;
}

/// An interrupted run's exit code: 130 after SIGINT, 143 after SIGTERM.
fn interrupted() -> i32 {
    signals::code().unwrap_or(exit::INTERRUPTED)
}

fn hey(run: HeyRun) -> anyhow::Result<i32> {
    let runtime = runtime(Some(run.cpus))?;
    let targets: Vec<(String, u32)> = run
        .plan
        .targets
        .iter()
        .map(|t| (t.name.clone(), t.weight))
        .collect();
    // The page moves traffic between several targets; one target has nothing to move.
    let split = (run.web.is_some() && targets.len() > 1).then(|| LiveSplit::new(&targets));
    let view = run.web.as_ref().map(|_| {
        let names = targets.iter().map(|t| t.0.clone()).collect();
        RunView::new("hey".into(), names, split.clone())
    });
    let live = Live {
        csv: (run.output == OutputFormat::Csv)
            .then(|| Box::new(std::io::stdout()) as Box<dyn Write + Send>),
        progress: run.progress && std::io::stderr().is_terminal(),
        split: split.clone(),
        series: run.html.is_some(),
        view: view.clone(),
        ..Live::default()
    };
    let mut report = runtime.block_on(async {
        let _page = serve_page(run.web.as_ref(), view.as_ref()).await?;
        let report = engine::load::run(run.plan, live, ctrl_c()).await?;
        if let Some(v) = &view {
            v.finished();
        }
        anyhow::Ok(report)
    })?;
    report.slo = run.gates.iter().map(|g| g.judge(&report)).collect();
    let hey = HeyReport {
        report: &report,
        gates: &run.gates,
    };
    let mut out = std::io::stdout().lock();
    // Under `-o csv` the rows were streamed and nothing follows; gates still decide the exit code.
    hey.render(run.output, &mut out)?;
    out.flush()?;
    drop(out);
    // After the summary: a page that cannot be written must not swallow the run's figures.
    if let Some(path) = &run.html {
        write_file(path, OutputFormat::Html, &hey)?;
    }
    if report.total.responses == 0 && !report.interrupted {
        eprintln!("loadgen: no request got an answer (see the errors above)");
        return Ok(exit::FAILED);
    }
    Ok(match exit_code(&report, run.expect_breach) {
        exit::INTERRUPTED => interrupted(),
        code => code,
    })
}

fn canary(run: CanaryRun) -> anyhow::Result<i32> {
    let result = runtime(None)?.block_on(run.plan.run_reporting(&mut std::io::stderr()))?;
    let mut out = std::io::stdout().lock();
    result
        .render(run.output, &mut out)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")?;
    drop(out);
    // After the verdict, so a page that cannot be written never hides it.
    if let Some(path) = &run.html {
        write_file(path, OutputFormat::Html, &result)?;
    }
    Ok(if result.promoted {
        exit::OK
    } else {
        exit::ROLLED_BACK
    })
}

fn merge_reports(m: MergeArgs) -> anyhow::Result<i32> {
    // Every merge error is about the files given: a usage error.
    let report = match merge::merge_files(&m.reports) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen merge: {e}");
            return Ok(exit::USAGE);
        }
    };
    // A merge has no rows to stream: `-o csv` prints the summary, as it always has.
    let format = match m.output {
        OutputFormat::Json => OutputFormat::Json,
        _ => OutputFormat::Text,
    };
    let merged = HeyReport {
        report: &report,
        gates: &[],
    };
    merged.render(format, &mut std::io::stdout().lock())?;
    Ok(exit::OK)
}

/// Writes a report to the file a flag names (`--html`, `--csv`, `--junit`), rendered first so
/// a half-rendered report never lands in it.
fn write_file(
    path: &std::path::Path,
    format: OutputFormat,
    report: &(impl Render + ?Sized),
) -> anyhow::Result<()> {
    let text = report.to_text(format)?;
    let what = match format {
        OutputFormat::Html => format!("the HTML report to {}", path.display()),
        _ => path.display().to_string(),
    };
    std::fs::write(path, text).with_context(|| format!("cannot write {what}"))
}

/// Serves `--web`'s run page for `view`, until the returned guard is dropped (the run's end);
/// an address that cannot be had is 69 ([`Coded`]).
async fn serve_page(
    page: Option<&engine::serve::PageAddr>,
    view: Option<&Arc<RunView>>,
) -> anyhow::Result<Option<tokio::sync::oneshot::Sender<()>>> {
    let (Some(page), Some(view)) = (page, view) else {
        return Ok(None);
    };
    let addr = page.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Coded {
            code: exit::UNAVAILABLE,
            message: format!("cannot listen on {addr} for --web: {e}"),
        })?;
    eprintln!(
        "loadgen: the run page is on http://{}/",
        listener.local_addr()?
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve(
        view.clone(),
        listener,
        page.hosts.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    Ok(Some(stop))
}

/// Starts the client-side metrics server when asked for; it lives as long as the runtime.
async fn metrics(addr: Option<std::net::SocketAddr>) -> anyhow::Result<Option<Arc<ClientMetrics>>> {
    let Some(addr) = addr else { return Ok(None) };
    let m = ClientMetrics::new()?;
    let listener = ClientMetrics::bind(addr).await?;
    eprintln!(
        "loadgen: client metrics on http://{}/metrics",
        listener.local_addr()?
    );
    tokio::spawn(m.clone().serve(listener, std::future::pending()));
    Ok(Some(m))
}

fn journey(args: JourneyArgs) -> anyhow::Result<i32> {
    let plan = match JourneyPlan::try_from(args) {
        Ok(p) => p,
        Err(e) => return Ok(fail("loadgen journey", &Usage(e))),
    };
    let rt = runtime(None)?;
    if let Some(opts) = plan.web.clone() {
        return rt.block_on(swarm_page(plan, opts));
    }
    let report = rt.block_on(async {
        let metrics = metrics(plan.metrics_addr).await?;
        let live = Live {
            table: Some(Box::new(std::io::stderr())),
            interval: plan.stats_interval,
            metrics,
            split: None,
            series: plan.html.is_some(),
            view: None,
            ..Live::default()
        };
        anyhow::Ok(journey::run(plan.run.clone(), live, ctrl_c()).await?)
    })?;
    print_journey(&plan, &report)?;
    let run = &plan.run;
    warn_rate(
        "loadgen journey:",
        "it",
        (run.pacing, run.users, run.spawn_rate),
        &report,
    );
    Ok(if report.interrupted {
        interrupted()
    } else if report.nothing_answered() {
        eprintln!("loadgen journey: no request got an answer (see the failures above)");
        exit::FAILED
    } else {
        exit::OK
    })
}

/// `journey --web`: serves the page until Ctrl-C, then prints the last run's report as the
/// headless run would (130 if Ctrl-C cut a run short, 0 otherwise).
async fn swarm_page(plan: JourneyPlan, opts: WebOptions) -> anyhow::Result<i32> {
    let metrics = metrics(plan.metrics_addr).await?;
    let listener = match tokio::net::TcpListener::bind(opts.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "loadgen journey: cannot listen on {} for --web: {e}",
                opts.addr
            );
            return Ok(exit::UNAVAILABLE);
        }
    };
    let page = web::Web::new(
        plan.run.clone(),
        plan.journey_arg.clone(),
        metrics,
        plan.stats_interval,
        plan.html.is_some(),
    );
    eprintln!(
        "loadgen: the swarm page is on http://{}/",
        listener.local_addr()?
    );
    if opts.autostart {
        page.swarm(web::SwarmForm::default())
            .await
            .map_err(|e| anyhow::anyhow!("--autostart: {e}"))?;
    }
    if plan.status_line {
        tokio::spawn(print_status(page.clone()));
    }
    let server = tokio::spawn(web::serve(
        page.clone(),
        listener,
        opts.hosts.clone(),
        ctrl_c(),
    ));
    let _ = server.await;
    let running = page.status() != web::Status::Stopped && page.status() != web::Status::Ready;
    if running {
        let _ = page.stop();
        // The run's own drain: at most the grace, then the run records its end.
        let deadline = tokio::time::Instant::now() + journey::INTERRUPT_GRACE * 3;
        while page.status() != web::Status::Stopped && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let mut dead = false;
    if let Some(mut report) = page.report() {
        report.interrupted |= running;
        print_journey(&plan, &report)?;
        dead = !running && report.nothing_answered();
    }
    Ok(if running {
        interrupted()
    } else if dead {
        eprintln!("loadgen journey: no request of the last run got an answer");
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Says so when a `--rate` was more than the users could give, with the rate reached: for a
/// journey (`subject` "it") or a timeline step ("the step").
fn warn_rate(
    prefix: &str,
    subject: &str,
    (pacing, users, spawn_rate): (journey::plan::TaskPacing, usize, f64),
    report: &journey_report::JourneyReport,
) {
    if let Some(s) = report.rate_shortfall(pacing, users, spawn_rate) {
        let who = match users {
            1 => "its one user".to_owned(),
            n => format!("its {n} users"),
        };
        eprintln!(
            "{prefix} asked for {} tasks/s, reached {:.1}: {who} cannot start tasks faster \
             than their requests answer; give {subject} more users",
            s.asked, s.reached
        );
    }
}

/// `journey --web` without `--stats-interval`: while a run goes on, one line every few
/// seconds on stderr (the page has the table); nothing while the form waits.
async fn print_status(page: Arc<web::Web>) {
    let every = crate::cli::DEFAULT_STATS_INTERVAL;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let s = page.stats();
        if matches!(s.state, web::Status::Spawning | web::Status::Running) {
            eprintln!(
                "loadgen journey: {} users, {} requests, {:.1} req/s now, {:.2}% failed, {:.0} s in",
                s.user_count,
                s.total.requests,
                s.total_rps,
                100.0 * s.fail_ratio,
                s.elapsed_secs
            );
        }
    }
}

/// The final report on stdout in `--output`'s format, and to `--csv`'s file.
fn print_journey(plan: &JourneyPlan, report: &journey_report::JourneyReport) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    report.render(plan.output, &mut out)?;
    out.flush()?;
    if let Some(path) = &plan.html {
        write_file(path, OutputFormat::Html, report)?;
    }
    if let Some(path) = &plan.csv {
        write_file(path, OutputFormat::Csv, report)?;
    }
    if let Some(path) = &plan.json {
        write_file(path, OutputFormat::Json, report)?;
    }
    Ok(())
}

/// `loadgen reconcile REPORT METRICS`: the per-endpoint table; exit 1 when a counted endpoint
/// disagrees, so a script (`scripts/demo`, CI) can rely on it.
fn reconcile(args: ReconcileArgs) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("cannot read {}", args.report.display()))?;
    let report: journey_report::JourneyReport = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "loadgen reconcile: {} is not a journey report: {e}",
                args.report.display()
            );
            return Ok(exit::USAGE);
        }
    };
    let metrics = if args.metrics.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the metrics from stdin")?
    } else {
        std::fs::read_to_string(&args.metrics)
            .with_context(|| format!("cannot read {}", args.metrics.display()))?
    };
    let rows = reconcile::rows(&report, &metrics);
    let mut out = std::io::stdout().lock();
    output::reconcile::text(&mut out, &rows).context("cannot write to standard output")?;
    out.flush()?;
    let agree = rows.iter().all(|r| r.agrees() != Some(false));
    Ok(if agree { exit::OK } else { exit::FAILED })
}

fn phase(args: PhaseArgs) -> anyhow::Result<i32> {
    let done = match args.command.plan() {
        Ok((admin, action)) => runtime(None)?.block_on(phase_cmd::execute(&admin, &action)),
        Err(e) => Err(e),
    };
    match done {
        Ok(doc) => {
            // The server's phase document, as JSON like every report.
            let mut out = std::io::stdout().lock();
            output::json(&mut out, &doc)
                .and_then(|()| out.flush())
                .context("cannot write to standard output")?;
            Ok(exit::OK)
        }
        Err(e) => Ok(fail("loadgen phase", &e)),
    }
}

fn timeline(cmd: ScenarioCommand) -> anyhow::Result<i32> {
    let ScenarioCommand::Run(args) = cmd;
    let options = ScenarioOptions::from(&args);
    let steps = match scenario::plan(&options) {
        Ok(s) => s,
        Err(e) => return Ok(fail("loadgen scenario", &e)),
    };
    let total = steps.len();
    let rt = runtime(None)?;
    let format = args.output();
    let result = rt.block_on(async {
        let metrics = metrics(args.metrics_addr).await?;
        // Each step's table as it ends, for people; JSON waits for the whole timeline.
        let on_step = |i: usize, s: &scenario::StepReport| {
            if format == OutputFormat::Text {
                let _ = output::timeline::step(&mut std::io::stdout().lock(), i, total, s);
            }
        };
        let names: Vec<String> = steps
            .first()
            .map(|s| s.targets.iter().map(|t| t.target.name.clone()).collect())
            .unwrap_or_default();
        // The page moves traffic between several targets; one target has nothing to move.
        let split = (args.web.is_some() && names.len() > 1)
            .then(|| scenario::live_split(&steps))
            .flatten();
        let view = args.web.map(|_| {
            // A shipped name as given, a file by its name: the header has little room.
            let file = args.file.file_name().unwrap_or(args.file.as_os_str());
            let title = format!("scenario {}", file.to_string_lossy());
            RunView::new(title, names, split.clone())
        });
        let web = args.web.map(|addr| engine::serve::PageAddr {
            addr,
            hosts: args.allowed_hosts.policy(),
        });
        let _page = serve_page(web.as_ref(), view.as_ref()).await?;
        let live = Live {
            metrics,
            split,
            series: args.html.is_some(),
            view: view.clone(),
            ..Live::default()
        };
        let r = scenario::run(steps, &options, live, on_step, ctrl_c()).await;
        if let Some(v) = &view {
            v.finished();
        }
        anyhow::Ok(r)
    })?;
    let reports = match result {
        Ok(r) => r,
        Err(e) => return Ok(fail("loadgen scenario", &e)),
    };
    if let Some(path) = &args.html {
        write_file(path, OutputFormat::Html, reports.as_slice())?;
    }
    reports.render(format, &mut std::io::stdout().lock())?;
    for step in &reports {
        if let Some(r) = &step.report {
            let prefix = format!("loadgen scenario: step {:?}", step.name);
            // A step's users all start at once.
            let load = (step.load.pacing, step.load.users, f64::INFINITY);
            warn_rate(&prefix, "the step", load, r);
        }
    }
    Ok(timeline_exit(&reports))
}

/// 130 if interrupted, 1 if a step's load got no answer at all, else 0.
fn timeline_exit(reports: &[scenario::StepReport]) -> i32 {
    let interrupted = reports
        .iter()
        .any(|s| s.report.as_ref().is_some_and(|r| r.interrupted));
    let dead: Vec<&str> = reports
        .iter()
        .filter(|s| s.report.as_ref().is_some_and(|r| r.nothing_answered()))
        .map(|s| s.name.as_str())
        .collect();
    if interrupted {
        self::interrupted()
    } else if !dead.is_empty() {
        eprintln!(
            "loadgen scenario: no request got an answer in step {}",
            dead.join(", ")
        );
        exit::FAILED
    } else {
        exit::OK
    }
}

/// `loadgen rehearse FILE`: verdicts as they come on stderr, the table or JSON on stdout.
fn rehearse(args: RehearseArgs) -> anyhow::Result<i32> {
    let run = match RehearseRun::try_from(args) {
        Ok(r) => r,
        Err(e) => return Ok(fail("loadgen rehearse", &e)),
    };
    let on_event = |e: rehearse::Event<'_>| match e {
        rehearse::Event::Note(note) => eprintln!("loadgen rehearse: {note}"),
        rehearse::Event::Verdict(v) => {
            let mark = if v.passed { "PASS" } else { "FAIL" };
            eprintln!("loadgen rehearse: {mark} {}: {}", v.expectation, v.detail);
        }
    };
    let report = match runtime(None)?.block_on(rehearse::run(run.plan, on_event, ctrl_c())) {
        Ok(r) => r,
        Err(e) => return Ok(fail("loadgen rehearse", &e)),
    };
    if let Some(path) = &run.junit {
        write_file(path, OutputFormat::Junit, &report)?;
    }
    let mut out = std::io::stdout().lock();
    report.render(run.output, &mut out)?;
    out.flush()?;
    Ok(if report.interrupted {
        exit::INTERRUPTED
    } else if report.passed() {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// `loadgen slo ...`: prints what the command produced; bad specs are usage errors.
fn slo(cmd: SloCommand) -> anyhow::Result<i32> {
    let outcome = match cmd {
        SloCommand::Check(a) => slo_cmd::check(a.spec.as_deref()),
        SloCommand::Rules(a) => slo_cmd::rules(a.spec.as_deref(), a.compress),
        SloCommand::Dashboards(a) => slo_cmd::dashboards(a.spec.as_deref(), &a.out),
        SloCommand::Export(a) => slo_cmd::export(a.spec.as_deref(), a.format),
        SloCommand::Compress(a) => slo_cmd::compress(&a.file, a.time_scale),
        SloCommand::Report(a) => {
            let format = a.output();
            let render = |r: &slo::Report| r.to_text(format);
            runtime(None)?.block_on(slo_cmd::report(&a.prometheus, a.spec.as_deref(), render))
        }
    };
    print_outcome(outcome)
}

/// `loadgen alerts wait ...`: 0 held, 1 not, 64 bad input, 69 Prometheus unavailable.
fn alerts(cmd: AlertsCommand) -> anyhow::Result<i32> {
    let AlertsCommand::Wait(a) = cmd;
    let wait = match a.wait_for(unix_now()) {
        Ok(w) => w,
        Err(e) => return Ok(fail("loadgen alerts wait", &Usage(e))),
    };
    print_outcome(runtime(None)?.block_on(slo_cmd::alerts_wait(&a.prometheus, &a.alert, wait)))
}

/// Seconds since the Unix epoch, the clock Prometheus and `--since` use.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Writes `text` and a newline to stdout. `println!` panics (exit 101) when stdout is full or
/// closed; this is an error, so the run exits 1 with a message instead.
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

fn print_outcome(
    outcome: Result<slo_cmd::CommandOutput, slo_cmd::SloCmdError>,
) -> anyhow::Result<i32> {
    match outcome {
        Ok(done) => {
            for warning in &done.warnings {
                eprintln!("loadgen: {warning}");
            }
            print_out(done.text.trim_end())?;
            Ok(done.code)
        }
        Err(e) => Ok(fail("loadgen", &e)),
    }
}

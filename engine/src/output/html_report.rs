//! `--html FILE`: a run's report as one self-contained HTML page that opens offline and can be
//! kept and shared. Each command turns its report into a [`Page`] (summary figures, tables,
//! charts over time, a latency histogram, markers for split changes and steps); [`render`]
//! writes it with the workspace's shared chart helper and stylesheet inlined, and a
//! Content-Security-Policy that forbids every fetch: nothing leaves the file.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use crate::output::render::hey_buckets;
use crate::report::series::Point;
use crate::report::{Latency, Report, SplitEvent};

/// No network at all: only the page's own inline script and style, and images from `data:`.
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// One report page, whatever the command.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub title: String,
    /// A line under the title: what ran, against what.
    pub subtitle: String,
    /// Headline figures, (label, value).
    pub stats: Vec<(String, String)>,
    /// Things the reader must not miss (interrupted, requests not sent, a verdict).
    pub notices: Vec<Notice>,
    pub charts: Vec<Chart>,
    /// Vertical lines on every chart: split changes, step starts.
    pub markers: Vec<Marker>,
    /// Latency histogram bars: (label, count).
    pub histogram: Vec<(String, u64)>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub text: String,
    pub good: Option<bool>,
}

/// A line chart over time.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub title: String,
    /// chart.js's unit: "/s", "ms", "ratio".
    pub unit: String,
    /// Seconds from the start of the run.
    pub t_secs: Vec<f64>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub t_secs: f64,
    /// Shown on the chart, above the line.
    pub short: String,
    /// Shown on hover.
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub num: bool,
    /// "good" or "bad", for verdicts.
    pub class: Option<&'static str>,
}

impl Cell {
    pub fn text(t: impl Into<String>) -> Cell {
        Cell {
            text: t.into(),
            num: false,
            class: None,
        }
    }
    pub fn num(t: impl ToString) -> Cell {
        Cell {
            text: t.to_string(),
            num: true,
            class: None,
        }
    }
    pub fn verdict(held: bool, text: &str) -> Cell {
        Cell {
            text: text.to_owned(),
            num: false,
            class: Some(if held { "good" } else { "bad" }),
        }
    }
}

/// Milliseconds with 2 decimals, for tables.
pub fn ms(v: f64) -> String {
    format!("{v:.2}")
}

/// A share as a percentage with 2 decimals.
pub fn pct(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

/// The two charts every load has: throughput and failures, and latency percentiles.
pub fn load_charts(points: &[Point], offset_secs: f64) -> Vec<Chart> {
    if points.is_empty() {
        return Vec::new();
    }
    let t: Vec<f64> = points.iter().map(|p| p.t_secs + offset_secs).collect();
    let col = |f: fn(&Point) -> f64| points.iter().map(|p| Some(f(p))).collect();
    vec![
        Chart {
            title: "Requests and failures per second".into(),
            unit: "/s".into(),
            t_secs: t.clone(),
            series: vec![
                Series {
                    name: "requests/s".into(),
                    values: col(|p| p.rps),
                },
                Series {
                    name: "failures/s".into(),
                    values: col(|p| p.failures_per_sec),
                },
            ],
        },
        Chart {
            title: "Response time percentiles".into(),
            unit: "ms".into(),
            t_secs: t,
            series: [
                ("p50", (|p: &Point| p.p50_ms) as fn(&Point) -> f64),
                ("p95", |p| p.p95_ms),
                ("p99", |p| p.p99_ms),
            ]
            .into_iter()
            .map(|(name, f)| Series {
                name: name.into(),
                // A second with no answer has no latency: a gap, not a zero.
                values: points.iter().map(|p| (p.rps > 0.0).then(|| f(p))).collect(),
            })
            .collect(),
        },
    ]
}

/// One marker and one table row per split change.
pub fn split_parts(events: &[SplitEvent]) -> (Vec<Marker>, Option<Table>) {
    if events.is_empty() {
        return (Vec::new(), None);
    }
    let join = |m: Vec<String>| m.join(", ");
    let markers = events
        .iter()
        .map(|e| {
            let weights = join(
                e.weights_after
                    .iter()
                    .map(|(n, w)| format!("{n} {w}"))
                    .collect(),
            );
            Marker {
                t_secs: e.at_secs,
                short: "split".into(),
                label: format!("split changed to {weights}"),
            }
        })
        .collect();
    let rows = events
        .iter()
        .map(|e| {
            let weights = join(
                e.weights_before
                    .iter()
                    .map(|(n, b)| format!("{n} {b} → {}", e.weights_after.get(n).unwrap_or(&0)))
                    .collect(),
            );
            let counts = |m: &std::collections::BTreeMap<String, u64>| {
                join(m.iter().map(|(n, c)| format!("{n} {c}")).collect())
            };
            vec![
                Cell::num(format!("{:.1}", e.at_secs)),
                Cell::text(weights),
                Cell::text(counts(&e.requests_before)),
                Cell::text(counts(&e.requests_after)),
            ]
        })
        .collect();
    let table = Table {
        title: "Split changes".into(),
        columns: vec![
            "at (s)".into(),
            "weights".into(),
            "requests before".into(),
            "requests after".into(),
        ],
        rows,
    };
    (markers, Some(table))
}

/// hey's 11 histogram bars of a latency distribution, labelled in ms.
pub fn histogram_bars(lat: &Latency) -> Vec<(String, u64)> {
    hey_buckets(lat)
        .into_iter()
        .map(|(mark_secs, n)| (format!("{:.1}", mark_secs * 1000.0), n))
        .collect()
}

/// The page of a hey-mode run.
pub fn hey_page(r: &Report) -> Page {
    let t = &r.total;
    let lat = &t.latency;
    let mut tables = vec![targets_table(r)];
    // What changed during the run, and what was judged, before the details.
    let (markers, split_table) = split_parts(&r.split_events);
    tables.extend(split_table);
    tables.extend(gates_table(r));
    tables.push(percentiles_table(lat));
    tables.push(status_table(r));
    Page {
        title: "loadgen report".into(),
        subtitle: hey_subtitle(r),
        stats: vec![
            ("requests".into(), t.requests.to_string()),
            ("req/s".into(), format!("{:.1}", t.rps)),
            ("error rate".into(), pct(t.error_rate)),
            ("p50".into(), format!("{} ms", ms(lat.p50 * 1e3))),
            ("p95".into(), format!("{} ms", ms(lat.p95 * 1e3))),
            ("p99".into(), format!("{} ms", ms(lat.p99 * 1e3))),
            ("duration".into(), format!("{:.1} s", r.duration_secs)),
        ],
        notices: hey_notices(r),
        charts: load_charts(&r.series, 0.0),
        markers,
        histogram: histogram_bars(lat),
        tables,
    }
}

/// The line under a hey page's title: how many targets, how long, how paced.
fn hey_subtitle(r: &Report) -> String {
    format!(
        "{} target{}, {:.1} s, {} pacing",
        r.targets.len(),
        if r.targets.len() == 1 { "" } else { "s" },
        r.duration_secs,
        match r.pacing.mode {
            crate::report::PacingMode::Closed => "closed-loop".to_owned(),
            crate::report::PacingMode::PerWorker =>
                format!("{} req/s per worker", r.pacing.rate.unwrap_or(0.0)),
            crate::report::PacingMode::Open =>
                format!("open-model {} req/s", r.pacing.rate.unwrap_or(0.0)),
        }
    )
}

/// What a hey run's reader must not miss: an interrupt, requests not sent, the gates' verdict.
fn hey_notices(r: &Report) -> Vec<Notice> {
    let mut notices = Vec::new();
    if r.interrupted {
        notices.push(interrupted_notice(r.abandoned));
    }
    if r.not_sent > 0 {
        notices.push(Notice {
            text: format!(
                "{} due requests were not sent: the server could not keep up with the rate.",
                r.not_sent
            ),
            good: Some(false),
        });
    }
    if !r.slo.is_empty() {
        let held = r.slo.iter().all(|o| o.held);
        notices.push(Notice {
            text: if held {
                "Every SLO gate held.".into()
            } else {
                "An SLO gate broke.".into()
            },
            good: Some(held),
        });
    }
    notices
}

/// The notice of a run cut short, journey or hey.
pub(crate) fn interrupted_notice(abandoned: u64) -> Notice {
    Notice {
        text: format!("Interrupted: partial report ({abandoned} requests abandoned in flight)."),
        good: Some(false),
    }
}

/// One row per target, then the total.
fn targets_table(r: &Report) -> Table {
    Table {
        title: "Targets".into(),
        columns: [
            "target",
            "url",
            "weight",
            "requests",
            "req/s",
            "error rate",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        ]
        .map(String::from)
        .to_vec(),
        rows: r
            .targets
            .iter()
            .chain(std::iter::once(&r.total))
            .map(|x| {
                vec![
                    Cell::text(&x.name),
                    Cell::text(x.url.clone().unwrap_or_default()),
                    Cell::num(x.weight.map(|w| w.to_string()).unwrap_or_default()),
                    Cell::num(x.requests),
                    Cell::num(format!("{:.1}", x.rps)),
                    Cell::num(pct(x.error_rate)),
                    Cell::num(ms(x.latency.p50 * 1e3)),
                    Cell::num(ms(x.latency.p95 * 1e3)),
                    Cell::num(ms(x.latency.p99 * 1e3)),
                    Cell::num(ms(x.latency.max * 1e3)),
                ]
            })
            .collect(),
    }
}

/// The whole run's latency percentiles, in ms.
fn percentiles_table(lat: &Latency) -> Table {
    Table {
        title: "Latency percentiles".into(),
        columns: ["percentile", "ms"].map(String::from).to_vec(),
        rows: [
            ("50%", lat.p50),
            ("75%", lat.p75),
            ("90%", lat.p90),
            ("95%", lat.p95),
            ("99%", lat.p99),
            ("99.9%", lat.p99_9),
            ("99.99%", lat.p99_99),
            ("max", lat.max),
        ]
        .iter()
        .map(|(q, v)| vec![Cell::text(*q), Cell::num(ms(v * 1e3))])
        .collect(),
    }
}

/// Each target's status codes, then its errors, counted.
fn status_table(r: &Report) -> Table {
    let mut status = Vec::new();
    for x in &r.targets {
        for (code, n) in &x.status_codes {
            status.push(vec![Cell::text(&x.name), Cell::text(code), Cell::num(n)]);
        }
        for (kind, n) in &x.errors {
            status.push(vec![Cell::text(&x.name), Cell::text(kind), Cell::num(n)]);
        }
    }
    Table {
        title: "Status codes and errors".into(),
        columns: ["target", "status or error", "count"]
            .map(String::from)
            .to_vec(),
        rows: status,
    }
}

/// The SLO gates and their verdicts, when the run had any.
fn gates_table(r: &Report) -> Option<Table> {
    if r.slo.is_empty() {
        return None;
    }
    Some(Table {
        title: "SLO gates".into(),
        columns: ["gate", "actual", "threshold", "verdict"]
            .map(String::from)
            .to_vec(),
        rows: r
            .slo
            .iter()
            .map(|o| {
                vec![
                    Cell::text(&o.gate),
                    Cell::num(format!("{:.4}", o.actual)),
                    Cell::num(format!("{:.4}", o.threshold)),
                    Cell::verdict(o.held, if o.held { "held" } else { "BROKE" }),
                ]
            })
            .collect(),
    })
}

/// The page as one self-contained HTML document.
pub fn render(page: &Page) -> String {
    let e = |s: &str| webui::escape_html(s).into_owned();
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n{base}\n{own}\n</head>\n<body>\n\
         <header class=\"top\"><h1>{title}</h1><span class=\"meta\">{subtitle}</span></header>\n<main>\n",
        csp = e(CSP),
        title = e(&page.title),
        subtitle = e(&page.subtitle),
        base = webui::inline_style(webui::BASE_CSS),
        own = webui::inline_style(PAGE_CSS),
    );
    for n in &page.notices {
        let class = match n.good {
            Some(true) => "notice good",
            Some(false) => "notice bad",
            None => "notice",
        };
        let _ = writeln!(out, "<p class=\"{class}\">{}</p>", e(&n.text));
    }
    out.push_str("<section class=\"panel row stats\">\n");
    for (label, value) in &page.stats {
        let _ = writeln!(
            out,
            "<span class=\"stat\">{} <b>{}</b></span>",
            e(label),
            e(value)
        );
    }
    out.push_str("</section>\n<section class=\"grid-2 charts\">\n");
    for (i, c) in page.charts.iter().enumerate() {
        let _ = writeln!(
            out,
            "<div class=\"panel\"><h2>{}</h2><div class=\"chart-box\" id=\"chart-{i}\"></div></div>",
            e(&c.title)
        );
    }
    if !page.histogram.is_empty() {
        out.push_str(
            "<div class=\"panel\"><h2>Response time histogram (ms)</h2>\
             <div class=\"chart-box\" id=\"histogram\"></div></div>\n",
        );
    }
    out.push_str("</section>\n");
    if page.charts.is_empty() && page.histogram.is_empty() {
        out.push_str("<p class=\"muted\">No time series was recorded for this run.</p>\n");
    }
    for t in &page.tables {
        table(&mut out, t);
    }
    out.push_str("</main>\n");
    let data = json!({
        "charts": page.charts,
        "markers": page.markers,
        "histogram": {
            "labels": page.histogram.iter().map(|(l, _)| l).collect::<Vec<_>>(),
            "values": page.histogram.iter().map(|(_, n)| n).collect::<Vec<_>>(),
        },
    });
    out.push_str(&webui::inline_script(webui::CHART_JS));
    out.push('\n');
    // Labels are user text (step names, targets): `<` goes in as `\u003c`, and inline_script
    // escapes what the page's own code holds.
    out.push_str(&webui::inline_script(&format!(
        "var REPORT = {};\n{PAGE_JS}",
        script_json(&data)
    )));
    out.push_str("\n</body>\n</html>\n");
    out
}

/// `value` as JSON for an inline script, every `<` written `\u003c`. JSON puts `<` only
/// inside strings, so this is exact, and no label can start markup whatever it holds.
fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

fn table(out: &mut String, t: &Table) {
    let e = |s: &str| webui::escape_html(s).into_owned();
    // A table of two or three columns reads better narrow than spread over the page.
    let narrow = if t.columns.len() <= 3 {
        " class=\"narrow\""
    } else {
        ""
    };
    let _ = write!(
        out,
        "<section class=\"panel table\"><h2>{}</h2>\n<table{narrow}>\n<tr>",
        e(&t.title)
    );
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", e(c));
    }
    out.push_str("</tr>\n");
    if t.rows.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td class=\"muted\" colspan=\"{}\">none</td></tr>",
            t.columns.len()
        );
    }
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let mut class = Vec::new();
            if c.num {
                class.push("num");
            }
            class.extend(c.class);
            if class.is_empty() {
                let _ = write!(out, "<td>{}</td>", e(&c.text));
            } else {
                let _ = write!(out, "<td class=\"{}\">{}</td>", class.join(" "), e(&c.text));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

/// Draws the charts from `REPORT` with the shared helper, and again when the window is resized.
const PAGE_JS: &str = r#"(function () {
  'use strict';
  var W = window.WebUI;
  var markers = REPORT.markers.map(function (m) {
    return { t: m.t_secs * 1000, label: m.label, short: m.short };
  });
  function draw() {
    REPORT.charts.forEach(function (c, i) {
      var box = document.getElementById('chart-' + i);
      var t = c.t_secs.map(function (s) { return s * 1000; });
      W.lineChart(box, {
        t: t, from: 0, to: t.length ? t[t.length - 1] : 1, elapsed: true,
        series: c.series, unit: c.unit, markers: markers, title: c.title, height: 200
      });
    });
    var h = document.getElementById('histogram');
    if (h) W.barChart(h, {
      labels: REPORT.histogram.labels, values: REPORT.histogram.values,
      title: 'response time histogram', height: 200
    });
  }
  draw();
  var pending;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(draw, 100);
  });
})();"#;

/// What the report adds to the shared stylesheet.
const PAGE_CSS: &str = "main > section { margin-bottom: 12px; }
.stats { gap: 18px; }
.notice.good { background: #dcf3e4; border-color: #8cc9a3; }
.notice.bad { background: #fbe1df; border-color: #e0a29c; }
section.table { overflow-x: auto; }
table.narrow { width: auto; min-width: 360px; }
td.good { color: #0a7a38; font-weight: 600; }
td.bad { color: #b3261e; font-weight: 600; }
";

#[cfg(test)]
mod tests {
    use super::{Cell, Page, Table, render};

    #[test]
    fn text_from_the_report_is_escaped_and_nothing_is_fetched() {
        let page = Page {
            title: "t <script>".into(),
            tables: vec![Table {
                title: "x".into(),
                columns: vec!["<b>".into()],
                rows: vec![vec![Cell::text("</script><img src=http://x>")]],
            }],
            ..Page::default()
        };
        let html = render(&page);
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("t &lt;script&gt;"));
        assert!(
            html.contains("default-src &#39;none&#39;"),
            "the policy, attribute-escaped"
        );
        assert!(!html.contains("src=\"http"), "no external script or image");
        assert!(
            !html.contains("href=\"http"),
            "no external stylesheet or link"
        );
    }
}

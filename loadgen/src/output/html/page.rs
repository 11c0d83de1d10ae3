//! The page every `--html` report fills in: headline figures, notices, charts over time,
//! markers, a latency histogram and tables. Each report family builds one ([`super::hey`],
//! [`super::journey`], ...); [`super::document`] writes it.

use serde::Serialize;

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

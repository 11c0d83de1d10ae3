//! The one format enum, and the table of which report has which format: each report family's
//! [`Render`] implementation picks its writer (`hey`, `journey`, `canary`, `timeline`,
//! `verdict`, `html`) for the format asked for. A format a report does not have is an error;
//! the command line never offers one.

use std::io::{self, Write};

use serde::Serialize;

use engine::journey::report::JourneyReport;
use engine::report::Report;
use engine::report::gate::Gate;

use super::{canary, hey, html, journey, timeline, verdict};
use crate::canary::CanaryResult;
use crate::rehearse::RehearsalReport;
use crate::scenario::StepReport;

/// Every format loadgen writes, for every command. Which formats a command offers, and how its
/// flags spell them (`summary` for hey's text, `--json`, `--junit FILE`), is the command line's
/// business (`cli`); what each format looks like is this layer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// For people: hey's summary, Locust's tables, the canary, timeline and verdict tables,
    /// the SLO report's table.
    Text,
    /// The report as pretty JSON, newline-terminated (schemas under `loadgen/schema/`).
    Json,
    /// hey's per-request rows (streamed by the engine while it runs), or a journey's stats CSV.
    Csv,
    /// One self-contained HTML page (`--html FILE`).
    Html,
    /// JUnit XML, one testcase per expectation (`rehearse --junit FILE`).
    Junit,
}

impl OutputFormat {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "JSON",
            OutputFormat::Csv => "CSV",
            OutputFormat::Html => "HTML",
            OutputFormat::Junit => "JUnit",
        }
    }
}

/// A finished report that can be written in some of the formats.
pub trait Render {
    /// Writes the report in `format`; a format the report does not have is an
    /// [`io::ErrorKind::Unsupported`] error.
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()>;

    /// [`render`](Self::render) into a string.
    fn to_text(&self, format: OutputFormat) -> io::Result<String> {
        let mut out = Vec::new();
        self.render(format, &mut out)?;
        String::from_utf8(out).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// `value` as pretty JSON, newline-terminated: every report's JSON form.
pub fn json(w: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, value)?;
    writeln!(w)
}

/// The error of a format a report does not have.
fn unsupported(what: &str, format: OutputFormat) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} has no {} output", format.name()),
    )
}

/// A hey-mode (or merged) report with the gates that judged it: the summary writes each
/// gate's actual value in the gate's own unit.
#[derive(Debug, Clone, Copy)]
pub struct HeyReport<'a> {
    pub report: &'a Report,
    pub gates: &'a [Gate],
}

impl Render for HeyReport<'_> {
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Text => hey::summary(w, self.report, self.gates),
            OutputFormat::Json => json(w, self.report),
            // hey prints only the rows, which the engine streamed as requests ended.
            OutputFormat::Csv => Ok(()),
            OutputFormat::Html => html::write(w, &html::hey::page(self.report)),
            OutputFormat::Junit => Err(unsupported("a hey report", format)),
        }
    }
}

impl Render for JourneyReport {
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Text => journey::text(w, self),
            OutputFormat::Json => json(w, self),
            OutputFormat::Csv => journey::csv(w, self),
            OutputFormat::Html => html::write(w, &html::journey::page(self)),
            OutputFormat::Junit => Err(unsupported("a journey report", format)),
        }
    }
}

impl Render for CanaryResult {
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            // The table ends in one newline, whatever its last line.
            OutputFormat::Text => writeln!(w, "{}", canary::text(self).trim_end()),
            OutputFormat::Json => json(w, self),
            OutputFormat::Html => html::write(w, &html::canary::page(self)),
            OutputFormat::Csv | OutputFormat::Junit => Err(unsupported("a canary result", format)),
        }
    }
}

/// A timeline's steps, once every step has ended (each step's own table is printed as it
/// ends, by [`timeline::step`]).
impl Render for [StepReport] {
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Text => timeline::text(w, self),
            OutputFormat::Json => json(w, &self),
            OutputFormat::Html => html::write(w, &html::timeline::page(self)),
            OutputFormat::Csv | OutputFormat::Junit => Err(unsupported("a timeline", format)),
        }
    }
}

impl Render for RehearsalReport {
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Text => w.write_all(verdict::table(self).as_bytes()),
            OutputFormat::Json => json(w, self),
            OutputFormat::Junit => w.write_all(verdict::junit(self).as_bytes()),
            OutputFormat::Csv | OutputFormat::Html => Err(unsupported("a rehearsal", format)),
        }
    }
}

/// The `slo` crate's report of SLIs and burn rates (`loadgen slo report`): the crate's own
/// table (its `Display`) or its JSON, without the final newline the command prints.
impl Render for slo::Report {
    fn render(&self, format: OutputFormat, w: &mut dyn Write) -> io::Result<()> {
        match format {
            OutputFormat::Text => write!(w, "{self}"),
            OutputFormat::Json => w.write_all(self.to_json().as_bytes()),
            _ => Err(unsupported("an SLO report", format)),
        }
    }
}

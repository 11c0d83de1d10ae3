//! `loadgen reconcile`: a journey's report beside the mock-server's counters, endpoint by
//! endpoint, so a reader sees that nothing was lost: what the client counted, plus what it
//! abandoned in flight at the end, is what the server counted (`scripts/demo` ends with it).
//!
//! Which counter counts which request is the mock's route table (`mock-server/src/app`): each
//! counted (method, path) has one `movieguru_*_total` counter of requests received. Requests it
//! counts nowhere (the workshop swarm's `POST /logout`, history) are said to be uncounted,
//! rather than shown as a mismatch.

use std::collections::BTreeMap;

use engine::journey::report::JourneyReport;

/// The counter of requests received that the mock keeps for `method path`, if any.
pub fn counter_for(method: &str, path: &str) -> Option<&'static str> {
    Some(match (method, path) {
        ("POST", "/chat") => "movieguru_chat_calls_total",
        ("POST", "/login") => "movieguru_login_attempts_total",
        ("GET", "/logout") => "movieguru_Logout_attempts_total",
        ("GET", "/startup") => "movieguru_startup_attempts_total",
        ("GET", "/preferences") => "movieguru_prefGet_attempts_total",
        ("POST", "/preferences") => "movieguru_prefUpdate_attempts_total",
        ("GET", "/") => "movieguru_healthcheck_attempts_total",
        _ => return None,
    })
}

/// One endpoint of the report (every target's entries for it together) beside the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    /// Requests the client reported (answered or failed).
    pub client: u64,
    /// Requests the client sent and abandoned in flight at the end.
    pub abandoned: u64,
    pub server: Server,
}

/// What the server says about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// Its counter and the value `/metrics` gave.
    Counted { counter: &'static str, value: u64 },
    /// The mock counts these requests nowhere (`POST /logout`, history, ...).
    Uncounted,
    /// The entry's name is not `METHOD /path` (a journey file named it), so its route is unknown.
    Unknown,
    /// The counter is the mock's, but `/metrics` did not have it.
    Missing { counter: &'static str },
}

impl Row {
    /// Whether the row reconciles: client + abandoned = server. Rows the server cannot say
    /// anything about neither agree nor disagree.
    pub fn agrees(&self) -> Option<bool> {
        match self.server {
            Server::Counted { value, .. } => Some(self.client + self.abandoned == value),
            Server::Missing { .. } => Some(false),
            Server::Uncounted | Server::Unknown => None,
        }
    }
}

/// Every endpoint of `report`, in the report's order, beside the counters of `metrics` (the
/// Prometheus text exposition of one server's `/metrics`).
pub fn rows(report: &JourneyReport, metrics: &str) -> Vec<Row> {
    let values = counters(metrics);
    let mut rows: Vec<Row> = Vec::new();
    for e in &report.endpoints {
        if let Some(row) = rows.iter_mut().find(|r| r.name == e.name) {
            row.client += e.requests;
            row.abandoned += e.abandoned;
            continue;
        }
        let server = match e.name.split_once(' ') {
            Some((method, path)) if path.starts_with('/') => match counter_for(method, path) {
                Some(counter) => match values.get(counter) {
                    Some(&value) => Server::Counted { counter, value },
                    None => Server::Missing { counter },
                },
                None => Server::Uncounted,
            },
            _ => Server::Unknown,
        };
        rows.push(Row {
            name: e.name.clone(),
            client: e.requests,
            abandoned: e.abandoned,
            server,
        });
    }
    rows
}

/// Each sample's value by metric name, samples of one name (its label sets) summed.
fn counters(text: &str) -> BTreeMap<&str, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series).trim();
        if let Ok(v) = value.trim().parse::<f64>() {
            // Counters of requests are whole numbers; the text writes them as floats.
            *out.entry(name).or_insert(0) += v as u64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_samples_add_up_and_comments_are_skipped() {
        let m = counters("# HELP x y\n# TYPE x counter\nx 3\ny{a=\"1\"} 2\ny{a=\"2\"} 5\n");
        assert_eq!(m.get("x"), Some(&3));
        assert_eq!(m.get("y"), Some(&7));
    }
}

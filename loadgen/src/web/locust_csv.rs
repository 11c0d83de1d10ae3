//! Locust's CSV downloads of the swarm's current or last run, as Locust 2.47 writes them:
//! `GET /stats/requests/csv` (one row per entry of `/stats/requests`, then `Aggregated`, with
//! whole-run rates and Locust's eleven percentiles) and `GET /stats/failures/csv` (one row per
//! kind of failure at each entry), with Locust's headers, quoting and line ends.

use std::fmt::Write as _;

use crate::web::history::merged;
use crate::web::locust_stats::{Latency, content_length, error_entries, quantile_ms, rows};
use crate::web::swarm_state::Web;

/// Locust's percentiles of the requests CSV, as its header names them.
const CSV_PERCENTILES: [(f64, &str); 11] = [
    (0.5, "50%"),
    (0.66, "66%"),
    (0.75, "75%"),
    (0.8, "80%"),
    (0.9, "90%"),
    (0.95, "95%"),
    (0.98, "98%"),
    (0.99, "99%"),
    (0.999, "99.9%"),
    (0.9999, "99.99%"),
    (1.0, "100%"),
];

impl Web {
    /// `GET /stats/requests/csv`: Locust's requests CSV, whole-run rates.
    pub fn locust_requests_csv(&self) -> String {
        let rec = self.recorded();
        let merged = merged(&rec.slots);
        let mut out = String::new();
        let pct: Vec<&str> = CSV_PERCENTILES.iter().map(|(_, h)| *h).collect();
        line(
            &mut out,
            &format!(
                "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
                 Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{}",
                pct.join(",")
            ),
        );
        let rows = rows(&rec);
        let total = [("", "Aggregated", &merged)];
        let all = rows
            .iter()
            .map(|r| (r.method.as_str(), r.name.as_str(), r.stats))
            .chain(total);
        for (method, name, s) in all {
            let l = Latency::of(s);
            let n = s.requests();
            let mut row = format!(
                "{},{},{n},{},{},{},{},{},{},{},{}",
                csv_field(method),
                csv_field(name),
                s.failed_requests(),
                l.median,
                l.mean,
                l.min,
                l.max,
                content_length(s),
                n as f64 / rec.secs,
                s.failed_requests() as f64 / rec.secs,
            );
            for (q, _) in CSV_PERCENTILES {
                match n {
                    0 => row.push_str(",N/A"),
                    _ => {
                        let _ = write!(row, ",{}", quantile_ms(s, q));
                    }
                }
            }
            line(&mut out, &row);
        }
        out
    }

    /// `GET /stats/failures/csv`: one row per kind of failure at each row.
    pub fn locust_failures_csv(&self) -> String {
        let rec = self.recorded();
        let mut out = String::new();
        line(
            &mut out,
            "Method,Name,Error,Occurrences,First Seen,Last Seen",
        );
        for e in rows(&rec).iter().flat_map(error_entries) {
            let at = |t: Option<f64>| t.map(utc).unwrap_or_default();
            line(
                &mut out,
                &format!(
                    "{},{},{},{},{},{}",
                    csv_field(&e.method),
                    csv_field(&e.name),
                    csv_field(&e.error),
                    e.occurrences,
                    at(e.first_seen),
                    at(e.last_seen)
                ),
            );
        }
        out
    }
}

/// `2026-12-04T20:44:10Z`, Locust's `format_utc_timestamp`.
fn utc(secs: f64) -> String {
    let secs = secs as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One CSV line, ended as Python's `csv` module ends it.
fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push_str("\r\n");
}

/// A field quoted as Python's `csv` module quotes it (when it holds a comma, quote or newline).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_timestamps_read_as_locust_writes_them() {
        assert_eq!(utc(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400.5), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_417_050.0), "2026-12-04T20:44:10Z");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("/chat"), "/chat");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

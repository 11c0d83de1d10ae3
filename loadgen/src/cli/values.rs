//! Value parsers for flags: counts with k/m suffixes, Go-style durations, rates, `I/N` shards,
//! `NAME=VALUE` pairs. Each says what it wanted in its error.

use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::output::OutputFormat;

/// `I/N` with 0 <= I < N.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?} is not I/N with 0 <= I < N (e.g. 0/4)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// A count with an optional k/m suffix: 500, 10k, 5m.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1_000),
        Some((i, 'm' | 'M')) => (&s[..i], 1_000_000),
        _ => (s, 1),
    };
    digits
        .replace('_', "")
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a count (e.g. 500, 10k, 5m)"))
}

/// A Go-style duration as hey takes it: 10s, 3m, 1m30s, 250ms; at most a century, so no
/// deadline built from it can overflow the clock.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    scenarios::duration::parse(s).map_err(|e| e.to_string())
}

pub fn parse_rate(s: &str) -> Result<f64, String> {
    let r = parse_count(s)
        .map(|n| n as f64)
        .or_else(|_| s.parse::<f64>().map_err(|_| ()));
    match r {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a positive rate in requests per second"
        )),
    }
}

pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// A base URL as given, or a bare `host:port` (how the workshop's BACKEND_ADDRESS often looks,
/// and what curl accepts) as `http://host:port`. Anything else is left for the plan to judge.
pub fn parse_base_url(s: &str) -> Result<String, String> {
    let bare = !s.contains("://")
        && s.parse::<http::uri::Authority>()
            .is_ok_and(|a| a.port_u16().is_some() && a.as_str() == s);
    Ok(if bare {
        format!("http://{s}")
    } else {
        s.to_owned()
    })
}

/// `NAME=URL`, the URL read as [`parse_base_url`] does.
pub fn parse_named_url(s: &str) -> Result<(String, String), String> {
    let (name, url) = parse_pair(s)?;
    Ok((name, parse_base_url(&url)?))
}

/// `--allowed-host`, on every command that serves a page (`--web`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AllowedHosts {
    /// With --web: a host name the page also answers (repeatable; * for any). It answers IP
    /// addresses and localhost only, so a site reached through DNS rebinding cannot drive it
    #[arg(
        long = "allowed-host",
        env = "LOADGEN_ALLOWED_HOSTS",
        value_name = "NAME",
        value_delimiter = ',',
        value_parser = parse_allowed_host
    )]
    pub names: Vec<String>,
}

impl AllowedHosts {
    /// The page's host policy; the names were checked by [`parse_allowed_host`], and a list
    /// built some other way falls back to the strictest policy.
    pub fn policy(&self) -> webui::guard::HostPolicy {
        webui::guard::HostPolicy::new(&self.names).unwrap_or_default()
    }
}

/// `--allowed-host NAME`: a host name alone (no scheme, port or path), or `*`.
pub fn parse_allowed_host(s: &str) -> Result<String, String> {
    webui::guard::HostPolicy::new(&[s])
        .map(|_| s.to_owned())
        .map_err(|e| e.to_string())
}

/// One value of a format flag: its spelling on the command line, the format it means, and its
/// line under `--help` (none: the value is listed bare).
pub type Choice<T> = (&'static str, T, Option<&'static str>);

/// The values one format flag takes. Every command writes the one [`OutputFormat`], but each
/// has always spelled and offered its own (`summary` is hey's text, `-o junit` is no one's):
/// the list keeps each flag's values, its help and clap's messages for a wrong value as they
/// were.
#[derive(Debug, Clone, Copy)]
pub struct Choices<T: 'static>(pub &'static [Choice<T>]);

impl<T: 'static> Choices<T> {
    fn possible(&self) -> impl Iterator<Item = PossibleValue> + '_ {
        self.0.iter().map(|(name, _, help)| {
            let v = PossibleValue::new(*name);
            match help {
                Some(h) => v.help(*h),
                None => v,
            }
        })
    }
}

impl<T: Copy + Send + Sync + 'static> TypedValueParser for Choices<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        // clap's own check, so a wrong value is told (and a near miss suggested) as before.
        let name = PossibleValuesParser::new(self.possible()).parse_ref(cmd, arg, value)?;
        self.0
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, v, _)| *v)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.possible()))
    }
}

/// hey mode's and `merge`'s `-o`.
pub const HEY_OUTPUT: Choices<OutputFormat> = Choices(&[
    (
        "summary",
        OutputFormat::Text,
        Some("hey's summary (the default)"),
    ),
    (
        "csv",
        OutputFormat::Csv,
        Some("hey's per-request rows, streamed"),
    ),
    (
        "json",
        OutputFormat::Json,
        Some("The report as JSON (schema: loadgen/schema/report.schema.json)"),
    ),
]);

/// `journey -o`.
pub const JOURNEY_OUTPUT: Choices<OutputFormat> = Choices(&[
    (
        "text",
        OutputFormat::Text,
        Some("A table per endpoint and in total, as Locust prints"),
    ),
    (
        "json",
        OutputFormat::Json,
        Some("The report as JSON (schema: loadgen/schema/journey-report.schema.json)"),
    ),
    (
        "csv",
        OutputFormat::Csv,
        Some("Locust's stats CSV: one row per endpoint, then \"Aggregated\""),
    ),
]);

/// `canary --output`.
pub const CANARY_OUTPUT: Choices<OutputFormat> = Choices(&[
    ("text", OutputFormat::Text, None),
    ("json", OutputFormat::Json, None),
]);

/// `rehearse --output`.
pub const REHEARSE_OUTPUT: Choices<OutputFormat> = Choices(&[
    ("text", OutputFormat::Text, Some("The verdict table")),
    ("json", OutputFormat::Json, Some("The report as JSON")),
]);

/// A `--json` switch: JSON, or the command's text.
pub fn json_or_text(json: bool) -> OutputFormat {
    if json {
        OutputFormat::Json
    } else {
        OutputFormat::Text
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bare_host_and_port_is_an_http_url() {
        use super::parse_base_url as b;
        assert_eq!(b("127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(b("localhost:8080").unwrap(), "http://localhost:8080");
        assert_eq!(b("[::1]:8080").unwrap(), "http://[::1]:8080");
        assert_eq!(b("https://a:1/x").unwrap(), "https://a:1/x");
        // Not bare host:port: left as given, for the plan's own error.
        assert_eq!(b("localhost").unwrap(), "localhost");
        assert_eq!(b("a:1/x").unwrap(), "a:1/x");
        assert_eq!(
            super::parse_named_url("good=127.0.0.1:1").unwrap(),
            ("good".to_owned(), "http://127.0.0.1:1".to_owned())
        );
    }
}

//! `alerts_wait`: poll Prometheus until an alert reaches a state or a deadline passes, so a CI
//! pipeline can assert "this breach pages within 2 minutes" or "this healthy run pages nobody".

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::api::{ApiError, LoadedRule, PrometheusClient};

/// How often Prometheus is asked; its own rule evaluation is rarely faster than this.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// An alert's state as Prometheus reports it. An alert name can have several instances (one per
/// label set); its state is the most advanced one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    /// No instance is pending or firing.
    Inactive,
    /// Some instance waits out its `for:` duration (and none fires).
    Pending,
    /// Some instance fires.
    Firing,
}

impl AlertState {
    fn of(state: &str) -> Self {
        match state {
            "firing" => Self::Firing,
            "pending" => Self::Pending,
            _ => Self::Inactive,
        }
    }

    /// Whether being in `self` satisfies a wait for `wanted`. Waiting for `pending` is also
    /// satisfied by `firing`, since an alert without `for:` skips the pending state entirely.
    fn satisfies(self, wanted: AlertState) -> bool {
        match wanted {
            AlertState::Pending => self >= AlertState::Pending,
            _ => self == wanted,
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
        })
    }
}

impl FromStr for AlertState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "inactive" => Ok(Self::Inactive),
            "pending" => Ok(Self::Pending),
            "firing" => Ok(Self::Firing),
            _ => Err(format!(
                "{s:?} is not an alert state: use firing, pending or inactive"
            )),
        }
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The alert was in the wanted state this long after the reference start (and, with a
    /// hold, stayed in it for the whole hold).
    Reached { after: Duration },
    /// The deadline passed; the alert was last seen in `last`.
    TimedOut { last: AlertState },
    /// The alert reached the state `after` the reference start but left it `left` later, before
    /// the hold was over; it was then `now`.
    NotHeld {
        after: Duration,
        left: Duration,
        now: AlertState,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Without this check, waiting for a misspelt alert to be `inactive` would always succeed.
    #[error("Prometheus at {url} has no alerting rule named {alert:?}; {}", near_text(.near, .known))]
    UnknownAlert {
        url: String,
        alert: String,
        /// Loaded names close to the one asked for, closest first.
        near: Vec<String>,
        /// How many alerting rules Prometheus has loaded.
        known: usize,
    },
    /// Generated rules share a name and differ by labels (Sloth's `sloth_severity`, Pyrra's
    /// `slo`, `severity`, `long`): a matcher no rule of the name can satisfy would never match.
    #[error(
        "no alerting rule {alert:?} carries {asked}; its rules carry: {}",
        .carried.join("; ")
    )]
    UnknownLabels {
        alert: String,
        asked: String,
        /// Each rule of that name's own labels, as `{k="v", ...}`.
        carried: Vec<String>,
    },
}

/// Labels as PromQL writes a selector's matchers: `{k="v", ...}` (`{}` when none).
pub fn label_text(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Whether an alert with `have` matches every `want` label.
pub fn labels_match(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}

/// Fails unless some alerting rule named `alert` can carry `labels`: for each matcher, the rule
/// sets that label to that value or leaves it to its series. Checks the name first.
pub async fn check_alert_labels(
    client: &PrometheusClient,
    alert: &str,
    labels: &BTreeMap<String, String>,
) -> Result<(), WaitError> {
    // One read of the rules serves both checks.
    let mut rules = alerting_rules(client).await?;
    name_is_known(client, alert, &rules)?;
    if labels.is_empty() {
        return Ok(());
    }
    rules.retain(|r| r.name == alert);
    let can = |r: &LoadedRule| {
        labels
            .iter()
            .all(|(k, v)| r.labels.get(k).is_none_or(|own| own == v))
    };
    if rules.iter().any(can) {
        return Ok(());
    }
    let mut carried: Vec<String> = rules.iter().map(|r| label_text(&r.labels)).collect();
    carried.sort();
    carried.dedup();
    Err(WaitError::UnknownLabels {
        alert: alert.to_owned(),
        asked: label_text(labels),
        carried,
    })
}

fn near_text(near: &[String], known: &usize) -> String {
    match (near.is_empty(), known) {
        (_, 0) => "it has loaded no alerting rules".into(),
        (true, n) => format!("none of its {n} alerting rules has a similar name"),
        (false, _) => format!("did you mean {}?", near.join(", ")),
    }
}

/// What a wait asks for, beyond the alert's name.
#[derive(Clone, Copy, Debug)]
pub struct WaitFor {
    pub state: AlertState,
    /// How long the state may take to arrive, counted from when the wait begins.
    pub within: Duration,
    /// Once reached, the state must last this long (zero: reaching it is enough).
    pub hold: Duration,
    /// How long before this wait the caller's reference start was: reported times count from
    /// it, so a pipeline's sequential waits read on one clock.
    pub since_reference: Duration,
}

/// The names of the alerting rules Prometheus has loaded, sorted and without repeats.
pub async fn loaded_alerts(client: &PrometheusClient) -> Result<Vec<String>, ApiError> {
    Ok(names(&alerting_rules(client).await?))
}

/// Every alerting rule Prometheus has loaded.
async fn alerting_rules(client: &PrometheusClient) -> Result<Vec<LoadedRule>, ApiError> {
    Ok(client
        .rule_groups()
        .await?
        .into_iter()
        .flat_map(|g| g.rules)
        .filter(|r| r.kind == "alerting")
        .collect())
}

/// The rules' names, sorted, each once.
fn names(rules: &[LoadedRule]) -> Vec<String> {
    let mut known: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    known.sort();
    known.dedup();
    known
}

/// Names among `known` that `name` is plausibly a misspelling of, closest first: an edit
/// distance of at most a third of the name's length, or a case-insensitive substring match.
pub fn near_names(name: &str, known: &[String]) -> Vec<String> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .filter_map(|k| {
            let d = edit_distance(&lower, &k.to_lowercase());
            let contains = k.to_lowercase().contains(&lower) || lower.contains(&k.to_lowercase());
            (d <= limit || contains).then_some((d, k))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, k)| k.clone()).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Fails with [`WaitError::UnknownAlert`] unless Prometheus has an alerting rule named `alert`.
pub async fn check_alert_exists(client: &PrometheusClient, alert: &str) -> Result<(), WaitError> {
    name_is_known(client, alert, &alerting_rules(client).await?)
}

/// Fails unless one of `rules` is named `alert`, naming the near misses.
fn name_is_known(
    client: &PrometheusClient,
    alert: &str,
    rules: &[LoadedRule],
) -> Result<(), WaitError> {
    let known = names(rules);
    if known.iter().any(|name| name == alert) {
        return Ok(());
    }
    Err(WaitError::UnknownAlert {
        url: client.base_url().to_owned(),
        alert: alert.to_owned(),
        near: near_names(alert, &known),
        known: known.len(),
    })
}

/// The state of `alert` now: the most advanced of its instances.
pub async fn current_state(client: &PrometheusClient, alert: &str) -> Result<AlertState, ApiError> {
    Ok(client
        .alerts()
        .await?
        .iter()
        .filter(|a| a.labels.get("alertname").is_some_and(|n| n == alert))
        .map(|a| AlertState::of(&a.state))
        .max()
        .unwrap_or(AlertState::Inactive))
}

/// Polls `prometheus_url` until `alert` is in `state` or `within` has passed. Fails when
/// Prometheus cannot be asked, or has no alerting rule of that name.
pub async fn alerts_wait(
    prometheus_url: &str,
    alert: &str,
    state: AlertState,
    within: Duration,
) -> Result<WaitOutcome, WaitError> {
    let wait = WaitFor {
        state,
        within,
        hold: Duration::ZERO,
        since_reference: Duration::ZERO,
    };
    alerts_wait_for(prometheus_url, alert, wait).await
}

/// [`alerts_wait`] with a hold and a reference start.
pub async fn alerts_wait_for(
    prometheus_url: &str,
    alert: &str,
    wait: WaitFor,
) -> Result<WaitOutcome, WaitError> {
    let client = PrometheusClient::new(prometheus_url)?;
    let started = Instant::now();
    check_alert_exists(&client, alert).await?;
    let at = |now: Instant| wait.since_reference + (now - started);
    let deadline = started + wait.within;
    let reached = loop {
        let current = current_state(&client, alert).await?;
        let now = Instant::now();
        if current.satisfies(wait.state) {
            break now;
        }
        if now >= deadline {
            return Ok(WaitOutcome::TimedOut { last: current });
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    };
    let hold_until = reached + wait.hold;
    while Instant::now() < hold_until {
        tokio::time::sleep(POLL_INTERVAL.min(hold_until - Instant::now())).await;
        let current = current_state(&client, alert).await?;
        if !current.satisfies(wait.state) {
            return Ok(WaitOutcome::NotHeld {
                after: at(reached),
                left: reached.elapsed(),
                now: current,
            });
        }
    }
    Ok(WaitOutcome::Reached { after: at(reached) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_satisfied_by_firing_but_inactive_only_by_inactive() {
        use AlertState::*;
        assert!(Firing.satisfies(Pending));
        assert!(Pending.satisfies(Pending));
        assert!(!Inactive.satisfies(Pending));
        assert!(!Pending.satisfies(Firing));
        assert!(!Pending.satisfies(Inactive));
        assert!(Inactive.satisfies(Inactive));
    }

    #[test]
    fn near_names_catch_typos_and_case_but_not_strangers() {
        let known: Vec<String> = [
            "ChatLatencyPage1h",
            "ChatLatencyTicket3d",
            "LoginAvailabilityPage1h",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            near_names("ChatLatencyPage1", &known),
            ["ChatLatencyPage1h"]
        );
        assert_eq!(
            near_names("chatlatencypage1h", &known),
            ["ChatLatencyPage1h"]
        );
        assert!(near_names("DiskFull", &known).is_empty());
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn states_parse_from_their_printed_names() {
        for s in [
            AlertState::Inactive,
            AlertState::Pending,
            AlertState::Firing,
        ] {
            assert_eq!(s.to_string().parse::<AlertState>(), Ok(s));
        }
        assert!(
            "Firing"
                .parse::<AlertState>()
                .unwrap_err()
                .contains("firing, pending or inactive")
        );
    }
}

//! `alerts_wait`: poll Prometheus until an alert reaches a state or a deadline passes, so a CI
//! pipeline can assert "this breach pages within 2 minutes" or "this healthy run pages nobody".

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::{ApiError, PrometheusClient};

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
    /// The alert was in the wanted state this long after the wait began.
    Reached { after: Duration },
    /// The deadline passed; the alert was last seen in `last`.
    TimedOut { last: AlertState },
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Without this check, waiting for a misspelt alert to be `inactive` would always succeed.
    #[error("Prometheus at {url} has no alerting rule named {alert:?}; it has: {known}")]
    UnknownAlert {
        url: String,
        alert: String,
        known: String,
    },
}

/// Polls `prometheus_url` until `alert` is in `state` or `within` has passed. Fails when
/// Prometheus cannot be asked, or has no alerting rule of that name.
pub async fn alerts_wait(
    prometheus_url: &str,
    alert: &str,
    state: AlertState,
    within: Duration,
) -> Result<WaitOutcome, WaitError> {
    let client = PrometheusClient::new(prometheus_url)?;
    let started = Instant::now();
    let mut known: Vec<String> = client
        .rule_groups()
        .await?
        .into_iter()
        .flat_map(|g| g.rules)
        .filter(|r| r.kind == "alerting")
        .map(|r| r.name)
        .collect();
    if !known.iter().any(|name| name == alert) {
        known.sort();
        known.dedup();
        return Err(WaitError::UnknownAlert {
            url: client.base_url().to_owned(),
            alert: alert.to_owned(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    }
    let deadline = started + within;
    loop {
        let current = client
            .alerts()
            .await?
            .iter()
            .filter(|a| a.labels.get("alertname").is_some_and(|n| n == alert))
            .map(|a| AlertState::of(&a.state))
            .max()
            .unwrap_or(AlertState::Inactive);
        if current.satisfies(state) {
            return Ok(WaitOutcome::Reached {
                after: started.elapsed(),
            });
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(WaitOutcome::TimedOut { last: current });
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
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

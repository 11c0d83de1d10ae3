//! The phase document's vocabulary: the ratios and timed endpoints it sets, every key it
//! accepts and where each lands, and the bounds its values must respect.

/// Upper bound on any injected latency: a typo such as `80000000` must not park requests for days.
pub const MAX_LATENCY_MS: u64 = 300_000;

/// Slack allowed when a group of weights sums past 1, for decimal payloads such as 0.7 + 0.2 + 0.1.
pub(super) const WEIGHT_SLACK: f64 = 1e-6;

/// The success ratios and chat weights, in the workshop payload's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ratio {
    ChatSuccess,
    ChatSafetyIssue,
    ChatEngaged,
    ChatAcknowledged,
    ChatRejected,
    ChatUnclassified,
    ChatSPositive,
    ChatSNegative,
    ChatSNeutral,
    ChatSUnclassified,
    LoginSuccess,
    StartupSuccess,
    PrefUpdateSuccess,
    PrefGetSuccess,
}

pub(super) const RATIO_COUNT: usize = 14;

/// The endpoints whose latency the phase sets (Logout and the health check borrow or measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    Login,
    Chat,
    Startup,
    PrefGet,
    PrefUpdate,
}

pub(super) const TIMED_COUNT: usize = 5;

impl Timed {
    pub const ALL: [Timed; TIMED_COUNT] = [
        Timed::Login,
        Timed::Chat,
        Timed::Startup,
        Timed::PrefGet,
        Timed::PrefUpdate,
    ];

    /// The `endpoint` label of the phase gauges (the workshop's metric-name spelling).
    pub fn label(self) -> &'static str {
        match self {
            Timed::Login => "login",
            Timed::Chat => "chat",
            Timed::Startup => "startup",
            Timed::PrefGet => "prefGet",
            Timed::PrefUpdate => "prefUpdate",
        }
    }

    /// The ratio that decides whether a request to this endpoint succeeds.
    pub fn success(self) -> Ratio {
        match self {
            Timed::Login => Ratio::LoginSuccess,
            Timed::Chat => Ratio::ChatSuccess,
            Timed::Startup => Ratio::StartupSuccess,
            Timed::PrefGet => Ratio::PrefGetSuccess,
            Timed::PrefUpdate => Ratio::PrefUpdateSuccess,
        }
    }
}

/// Where a key of the document lands.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
    Ratio(Ratio),
    Min(Timed),
    Max(Timed),
    Shape(Timed),
    Fault(Timed),
    FaultRatio(Timed),
}

/// Every key the document accepts, in output order. The first 24 are the original's; the
/// latency shapes and faults are ours, and are written out only when set.
pub(super) const FIELDS: &[(&str, Slot)] = &[
    ("ChatSuccess", Slot::Ratio(Ratio::ChatSuccess)),
    ("ChatSafetyIssue", Slot::Ratio(Ratio::ChatSafetyIssue)),
    ("ChatEngaged", Slot::Ratio(Ratio::ChatEngaged)),
    ("ChatAcknowledged", Slot::Ratio(Ratio::ChatAcknowledged)),
    ("ChatRejected", Slot::Ratio(Ratio::ChatRejected)),
    ("ChatUnclassified", Slot::Ratio(Ratio::ChatUnclassified)),
    ("ChatSPositive", Slot::Ratio(Ratio::ChatSPositive)),
    ("ChatSNegative", Slot::Ratio(Ratio::ChatSNegative)),
    ("ChatSNeutral", Slot::Ratio(Ratio::ChatSNeutral)),
    ("ChatSUnclassified", Slot::Ratio(Ratio::ChatSUnclassified)),
    ("LoginSuccess", Slot::Ratio(Ratio::LoginSuccess)),
    ("StartupSuccess", Slot::Ratio(Ratio::StartupSuccess)),
    ("PrefUpdateSuccess", Slot::Ratio(Ratio::PrefUpdateSuccess)),
    ("PrefGetSuccess", Slot::Ratio(Ratio::PrefGetSuccess)),
    ("LoginLatencyMinMS", Slot::Min(Timed::Login)),
    ("LoginLatencyMaxMS", Slot::Max(Timed::Login)),
    ("ChatLatencyMinMS", Slot::Min(Timed::Chat)),
    ("ChatLatencyMaxMS", Slot::Max(Timed::Chat)),
    ("StartupLatencyMinMS", Slot::Min(Timed::Startup)),
    ("StartupLatencyMaxMS", Slot::Max(Timed::Startup)),
    ("PrefGetLatencyMinMS", Slot::Min(Timed::PrefGet)),
    ("PrefGetLatencyMaxMS", Slot::Max(Timed::PrefGet)),
    ("PrefUpdateLatencyMinMS", Slot::Min(Timed::PrefUpdate)),
    ("PrefUpdateLatencyMaxMS", Slot::Max(Timed::PrefUpdate)),
    ("LoginLatencyDistribution", Slot::Shape(Timed::Login)),
    ("ChatLatencyDistribution", Slot::Shape(Timed::Chat)),
    ("StartupLatencyDistribution", Slot::Shape(Timed::Startup)),
    ("PrefGetLatencyDistribution", Slot::Shape(Timed::PrefGet)),
    (
        "PrefUpdateLatencyDistribution",
        Slot::Shape(Timed::PrefUpdate),
    ),
    ("LoginFault", Slot::Fault(Timed::Login)),
    ("LoginFaultRatio", Slot::FaultRatio(Timed::Login)),
    ("ChatFault", Slot::Fault(Timed::Chat)),
    ("ChatFaultRatio", Slot::FaultRatio(Timed::Chat)),
    ("StartupFault", Slot::Fault(Timed::Startup)),
    ("StartupFaultRatio", Slot::FaultRatio(Timed::Startup)),
    ("PrefGetFault", Slot::Fault(Timed::PrefGet)),
    ("PrefGetFaultRatio", Slot::FaultRatio(Timed::PrefGet)),
    ("PrefUpdateFault", Slot::Fault(Timed::PrefUpdate)),
    ("PrefUpdateFaultRatio", Slot::FaultRatio(Timed::PrefUpdate)),
];

/// The names of every accepted key, for error messages and docs.
pub fn field_names() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|(name, _)| *name)
}

/// The chat outcome and sentiment groups: each is a cumulative choice whose remainder is
/// Unclassified, so its weights may not sum past 1.
pub(super) const OUTCOMES: [Ratio; 4] = [
    Ratio::ChatEngaged,
    Ratio::ChatAcknowledged,
    Ratio::ChatRejected,
    Ratio::ChatUnclassified,
];
pub(super) const SENTIMENTS: [Ratio; 4] = [
    Ratio::ChatSPositive,
    Ratio::ChatSNegative,
    Ratio::ChatSNeutral,
    Ratio::ChatSUnclassified,
];

pub(super) fn field_of(slot: Slot) -> (&'static str, Slot) {
    let found = FIELDS.iter().find(|(_, s)| match (s, slot) {
        (Slot::Ratio(a), Slot::Ratio(b)) => *a == b,
        (Slot::Min(a), Slot::Min(b)) | (Slot::Max(a), Slot::Max(b)) => *a == b,
        (Slot::Shape(a), Slot::Shape(b))
        | (Slot::Fault(a), Slot::Fault(b))
        | (Slot::FaultRatio(a), Slot::FaultRatio(b)) => *a == b,
        _ => false,
    });
    // FIELDS lists every slot; the table test below keeps it that way.
    *found.expect("every slot has a field name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_has_exactly_one_field() {
        for (name, slot) in FIELDS {
            assert_eq!(field_of(*slot).0, *name);
        }
        assert_eq!(FIELDS.len(), RATIO_COUNT + 5 * TIMED_COUNT);
    }
}

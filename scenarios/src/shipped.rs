//! What the scenarios crate ships, embedded so a binary resolves a name wherever it runs: the
//! phase presets and the timelines, by name. Data only: `names` resolves names against it.

/// Every preset, by name: the workshop's challenge payloads, verbatim, and the later edition's
/// "bad change".
pub const PRESETS: &[(&str, &str)] = &[
    ("challenge1", include_str!("../phases/challenge1.json")),
    ("challenge5", include_str!("../phases/challenge5.json")),
    ("challenge6", include_str!("../phases/challenge6.json")),
    ("challenge7", include_str!("../phases/challenge7.json")),
    ("bad-change", include_str!("../phases/bad-change.json")),
];

/// Every shipped timeline, by name (`scenarios/timelines/NAME.toml`), embedded so a binary
/// resolves the name wherever it runs.
pub const TIMELINES: &[(&str, &str)] = &[
    ("blind-spot", include_str!("../timelines/blind-spot.toml")),
    (
        "chat-latency-breach",
        include_str!("../timelines/chat-latency-breach.toml"),
    ),
    (
        "engagement-breach",
        include_str!("../timelines/engagement-breach.toml"),
    ),
    ("recovery", include_str!("../timelines/recovery.toml")),
    (
        "startup-success-breach",
        include_str!("../timelines/startup-success-breach.toml"),
    ),
    (
        "workshop-day",
        include_str!("../timelines/workshop-day.toml"),
    ),
];

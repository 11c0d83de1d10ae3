//! `loadgen slo rules|report` and `loadgen alerts wait` through the binary.

use std::process::Command;

fn loadgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .unwrap()
}

fn checked_in(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../scenarios/slo/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn slo_rules_print_the_checked_in_rule_files() {
    let real = loadgen(&["slo", "rules"]);
    assert_eq!(
        real.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&real.stdout).trim_end(),
        checked_in("rules.yml").trim_end()
    );
    let spec = format!("{}/../scenarios/slo/slos.toml", env!("CARGO_MANIFEST_DIR"));
    let fast = loadgen(&["slo", "rules", &spec, "--compress", "60"]);
    assert_eq!(
        String::from_utf8_lossy(&fast.stdout).trim_end(),
        checked_in("rules.compressed-60x.yml").trim_end()
    );
}

#[test]
fn a_bad_spec_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("loadgen-slo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("bad.toml");
    std::fs::write(&spec, "[[slo]]\nname = 3\n").unwrap();
    let out = loadgen(&["slo", "rules", spec.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stderr.is_empty());
    let out = loadgen(&["slo", "rules", "--compress", "0"]);
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn waiting_on_an_unreachable_prometheus_fails_with_a_reason() {
    let out = loadgen(&[
        "alerts",
        "wait",
        "--prometheus",
        "http://127.0.0.1:1",
        "--alert",
        "CanaryAvailabilityFastBurn5m",
        "--state",
        "firing",
        "--within",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("loadgen:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad_state = loadgen(&[
        "alerts",
        "wait",
        "--prometheus",
        "http://x",
        "--alert",
        "A",
        "--state",
        "burning",
    ]);
    assert_eq!(bad_state.status.code(), Some(64));
}

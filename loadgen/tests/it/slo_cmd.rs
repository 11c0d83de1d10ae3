//! `loadgen slo check|rules|dashboards|export|report` and `loadgen alerts wait` through the binary.

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
fn an_alert_that_can_never_fire_is_a_warning_with_every_command_and_listed_by_check() {
    let why = "ChatEngagementFastBurn5m skipped: slo chat-engagement policy fast-burn-5m can \
               never fire: it needs an error ratio above 200.0% (10 x the 20.0% error budget)";
    let rules = loadgen(&["slo", "rules"]);
    assert_eq!(rules.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&rules.stderr);
    assert!(
        stderr.contains(&format!("loadgen: warning: {why}")),
        "{stderr}"
    );

    let check = loadgen(&["slo", "check"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("spec OK: 7 SLOs, 25 alerts, 1 skipped\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  chat-engagement: 80% over 1d: ChatEngagementTicket3d, ChatEngagementSlowBurn5m\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("warning: {why}")), "{stdout}");
    // Said once: in the answer, not again on stderr.
    assert!(
        check.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let dir = std::env::temp_dir().join(format!("loadgen-slo-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[slo]]\nname = 3\n").unwrap();
    let out = loadgen(&["slo", "check", bad.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(out.stdout.is_empty());
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
fn waiting_on_an_unreachable_prometheus_is_unavailable_69_not_a_failed_wait() {
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
    // 69, not 1: `! loadgen alerts wait ...` must not pass because Prometheus is down.
    assert_eq!(out.status.code(), Some(69));
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

fn deploy_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../deploy/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn slo_export_prints_the_checked_in_openslo_and_gcp_bodies() {
    let openslo = loadgen(&["slo", "export", "--format", "openslo"]);
    assert_eq!(openslo.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&openslo.stdout).trim_end(),
        deploy_file("openslo/slos.yaml").trim_end()
    );
    let gcp = loadgen(&["slo", "export", "--format", "gcp"]);
    assert_eq!(gcp.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&gcp.stdout);
    let bodies: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let checked_in: serde_json::Value =
        serde_json::from_str(&deploy_file("gcp/chat-engagement.json")).unwrap();
    assert!(bodies.contains(&checked_in), "{stdout}");
    assert_eq!(bodies.len(), 7);
}

#[test]
fn an_openslo_spec_drives_the_same_rules_and_dashboards() {
    let openslo = format!("{}/../deploy/openslo/slos.yaml", env!("CARGO_MANIFEST_DIR"));
    let rules = loadgen(&["slo", "rules", &openslo]);
    assert_eq!(
        rules.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rules.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&rules.stdout).trim_end(),
        checked_in("rules.yml").trim_end()
    );
    let out = tempfile::tempdir().unwrap();
    let written = loadgen(&[
        "slo",
        "dashboards",
        "--spec",
        &openslo,
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(written.status.code(), Some(0));
    for file in [
        "dashboards/movieguru-chat.json",
        "dashboards/movieguru-slo-overview.json",
        "provisioning/datasources/prometheus.yml",
    ] {
        assert_eq!(
            std::fs::read_to_string(out.path().join(file)).unwrap(),
            deploy_file(&format!("grafana/{file}")),
            "{file}"
        );
    }
}

#[test]
fn a_bad_openslo_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.yaml");
    std::fs::write(
        &spec,
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: { name: x }\n",
    )
    .unwrap();
    let out = loadgen(&[
        "slo",
        "export",
        "--format",
        "gcp",
        "--spec",
        spec.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SLO x: spec is missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/it/fixtures/rules/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn slo_compress_divides_every_duration_of_a_hand_written_file() {
    let path = fixture("hand.yml");
    let out = loadgen(&["slo", "compress", &path, "--time-scale", "60"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = std::fs::read_to_string(&path).unwrap();
    let before = slo::compress::durations(&input).unwrap();
    let after = slo::compress::durations(&stdout).unwrap();
    // Written out by hand, so the walker itself is checked too.
    let kinds: Vec<String> = before
        .iter()
        .map(|f| format!("{} {}", f.kind, f.value))
        .collect();
    assert_eq!(
        kinds,
        [
            "interval 30s",
            "range 5m",
            "range 5m",
            "subquery range 10m",
            "subquery step 1m",
            "for 2m",
            "keep_firing_for 1m",
            "offset 1h",
            "for 5m"
        ]
    );
    assert_eq!(before.len(), after.len(), "{stdout}");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (b.kind, b.value.as_millis()),
            (a.kind, a.value.as_millis() * 60)
        );
    }
    // Strings, labels and annotations are untouched.
    assert!(stdout.contains(r#"window: "[5m]""#), "{stdout}");
    assert!(
        stdout.contains("offset 5m is not a duration here"),
        "{stdout}"
    );
    assert!(stdout.starts_with("# Written by hand"), "{stdout}");
    promtool_checks(&stdout);
}

/// `promtool check rules` accepts `rules`; skipped without promtool unless REQUIRE_PROMETHEUS.
fn promtool_checks(rules: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.yml");
    std::fs::write(&file, rules).unwrap();
    match Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if std::env::var_os("REQUIRE_PROMETHEUS").is_some() => {
            panic!("promtool: {e}")
        }
        Err(e) => eprintln!("skipping promtool check rules: {e}"),
    }
}

#[test]
fn slo_compress_refuses_bad_files_with_64() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: x @ 100\n",
    )
    .unwrap();
    let out = loadgen(&[
        "slo",
        "compress",
        bad.to_str().unwrap(),
        "--time-scale",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("group \"g\", alert \"A\": expr: an @ modifier"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = dir.path().join("missing.yml");
    let out = loadgen(&[
        "slo",
        "compress",
        missing.to_str().unwrap(),
        "--time-scale",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(out.stdout.is_empty());
}

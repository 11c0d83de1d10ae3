//! `promtool check rules` and `promtool test rules` on every checked-in rule and test file.
//! Skips, saying so, when promtool is not installed; CI installs Debian's `prometheus` package.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::scenario_dir;

fn promtool() -> Option<PathBuf> {
    crate::support::have("promtool").then(|| PathBuf::from("promtool"))
}

fn run(promtool: &Path, args: &[&str], file: &Path) -> (String, Output) {
    let output = Command::new(promtool)
        .args(args)
        .arg(file)
        .current_dir(scenario_dir())
        .output()
        .expect("promtool runs");
    (file.display().to_string(), output)
}

fn assert_all_succeed(results: Vec<(String, Output)>) {
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, out)| !out.status.success())
        .map(|(file, out)| {
            format!(
                "{file}: {}\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn generated(prefix: &str) -> Vec<PathBuf> {
    let spec = crate::support::checked_in_spec();
    slo::generated_files(&spec)
        .unwrap()
        .into_iter()
        .filter(|f| f.path.starts_with(prefix))
        .map(|f| scenario_dir().join(f.path))
        .collect()
}

#[test]
fn promtool_checks_every_rule_file() {
    let Some(promtool) = promtool() else { return };
    let files = generated("rules");
    assert_eq!(files.len(), 2, "the real and the compressed rules");
    assert_all_succeed(
        files
            .iter()
            .map(|f| run(&promtool, &["check", "rules"], f))
            .collect(),
    );
}

#[test]
fn promtool_unit_tests_pass_for_every_alert() {
    let Some(promtool) = promtool() else { return };
    let files = generated("tests/");
    assert!(files.len() >= 2);
    // Every alert of the rule files has a test group, in the real and the compressed tests.
    let rules = std::fs::read_to_string(scenario_dir().join("rules.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(!alerts.is_empty());
    let tests: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for alert in &alerts {
        let groups = tests.matches(&format!("- name: \"{alert} fires")).count();
        assert_eq!(
            groups, 2,
            "{alert} needs a firing and silent test in both the real and compressed files"
        );
    }
    // promtool is single-threaded; run the files side by side.
    let handles: Vec<_> = files
        .into_iter()
        .map(|f| {
            let promtool = promtool.clone();
            std::thread::spawn(move || run(&promtool, &["test", "rules"], &f))
        })
        .collect();
    assert_all_succeed(handles.into_iter().map(|h| h.join().unwrap()).collect());
}

#[test]
fn promtool_checks_the_local_stack_configs_and_the_rules_they_load() {
    let Some(promtool) = promtool() else { return };
    // prometheus.yml: the Movie Guru mock; prometheus-canary.yml: the README's Serverless
    // Journey walkthrough (good revision on 8080, failing canary on 8081).
    for name in ["prometheus.yml", "prometheus-canary.yml"] {
        let (file, out) = run(&promtool, &["check", "config"], &scenario_dir().join(name));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("rules.compressed-60x.yml"),
            "{file}: {stdout}"
        );
    }
}

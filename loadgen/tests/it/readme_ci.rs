//! The "Test your alerts in CI" page's jobs, run as written: the `rehearse` step's lines of the
//! GitHub Actions job and the GitLab `script:` lines are extracted from docs/ci.md, checked to be
//! the same commands, and run by bash from the workspace root with this build's loadgen first on
//! PATH (the jobs' install steps are what CI does before). Needs the prometheus binary; skipped,
//! saying why, without it (failed under REQUIRE_PROMETHEUS=1).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::CPU;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The CI page, where both jobs are shown.
fn ci_page() -> String {
    std::fs::read_to_string(workspace().join("docs/ci.md")).expect("docs/ci.md is readable")
}

/// The lines under `run: |` of the step named `rehearse`.
fn github_lines(section: &str) -> Vec<String> {
    let mut lines = section
        .lines()
        .skip_while(|l| l.trim() != "- name: rehearse");
    let run = lines.nth(1).expect("the rehearse step has a run: line");
    assert_eq!(run.trim(), "run: |");
    lines
        .take_while(|l| l.starts_with("          ") && !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect()
}

/// The items of the GitLab job's `script:`.
fn gitlab_lines(section: &str) -> Vec<String> {
    section
        .lines()
        .skip_while(|l| l.trim() != "script:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim().trim_start_matches("- ").to_owned())
        .collect()
}

#[test]
fn the_ci_jobs_extract_to_the_same_commands() {
    let page = ci_page();
    let s = page.as_str();
    let github = github_lines(s);
    assert!(github.len() >= 2, "{github:?}");
    assert!(
        github.iter().all(|l| l.starts_with("loadgen rehearse ")),
        "{github:?}"
    );
    assert_eq!(github, gitlab_lines(s));
}

#[tokio::test]
async fn the_ci_page_job_lines_pass_verbatim() {
    let Some(prometheus) = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).find(|d| d.join("prometheus").is_file()))
    else {
        assert!(
            std::env::var_os("REQUIRE_PROMETHEUS").is_none_or(|v| v != "1"),
            "prometheus is not on PATH and REQUIRE_PROMETHEUS=1"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED: prometheus is not on PATH");
        return;
    };
    let _cpu = CPU.write().await;
    let script = github_lines(&ci_page()).join("\n");
    let out_dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_loadgen")).parent().unwrap();
    let path =
        std::env::join_paths([bin, &prometheus, Path::new("/usr/bin"), Path::new("/bin")]).unwrap();
    // The scenario paths are relative to the repository root, where CI runs; the JUnit file goes
    // there too, so it is moved out afterwards.
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(workspace())
        .env("PATH", path)
        .output()
        .await
        .unwrap();
    let junit = workspace().join("rehearsal.xml");
    let kept = out_dir.path().join("rehearsal.xml");
    let _ = std::fs::rename(&junit, &kept);
    assert!(
        out.status.success(),
        "{script}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&kept).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 12, "{xml}");
    assert!(!xml.contains("<failure "), "{xml}");
    // The workshop's challenge-6 policy: both slow burns and the latency fast burn fire, and
    // all resolve after the fix. (This is the suite's one challenge-6 run: 200x, 40 s.)
    for wanted in [
        "challenge 6: ChatLatencyFastBurn5m fires",
        "challenge 6: ChatLatencySlowBurn5m fires",
        "challenge 6: ChatEngagementSlowBurn5m fires",
        "fixed: ChatLatencyFastBurn5m resolves",
        "fixed: ChatEngagementSlowBurn5m resolves",
    ] {
        assert!(
            xml.contains(&format!("name=\"{wanted}\"")),
            "{wanted}: {xml}"
        );
    }
    // Start-up says what it waits for, and when the wait is over.
    let stderr = String::from_utf8_lossy(&out.stderr);
    for said in [
        "loadgen rehearse: starting Prometheus from PATH, to scrape an in-process mock every 75ms",
        "; waiting for its first scrape of 127.0.0.1:",
        "; playing the timeline",
    ] {
        assert!(stderr.contains(said), "{said:?} not in {stderr}");
    }
    // The verdict table prints observed against predicted times.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let header = stdout
        .lines()
        .find(|l| l.contains("predicted"))
        .unwrap_or_else(|| panic!("no verdict table: {stdout}"));
    assert!(header.contains("observed"), "{header}");
}

//! `loadgen phase apply|show|reset` through the binary against a real mock-server with an
//! admin token: presets by name, the token from the environment, and the server's refusal shown
//! verbatim with exit code 64.

use std::io::Write;

use super::mock::Mock;

async fn loadgen(args: &[&str], token: Option<&str>) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.args(args).env_remove("LOADGEN_ADMIN_TOKEN");
    if let Some(t) = token {
        cmd.env("LOADGEN_ADMIN_TOKEN", t);
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_show_reset_and_refusals() {
    let token = "t0ken";
    let mock = Mock::start(Some(token)).await;
    let url = mock.url();

    let (code, out, err) = loadgen(
        &["phase", "apply", "challenge6", "--host", &url],
        Some(token),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let applied: serde_json::Value = serde_json::from_str(&out).unwrap();
    let preset: serde_json::Value =
        serde_json::from_str(scenarios::preset("challenge6").unwrap()).unwrap();
    for (k, v) in preset.as_object().unwrap() {
        assert_eq!(&applied["CurrentProbMetrics"][k], v, "{k}");
    }
    let (code, out, _) = loadgen(&["phase", "show", "--host", &url], None).await;
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        applied
    );

    // Without the token: the server's 401, and the phase unchanged.
    let (code, _, err) = loadgen(&["phase", "apply", "challenge5", "--host", &url], None).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401"), "{err}");

    // A bad document: the server's 400 body, verbatim, and exit 64.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::File::create(&bad)
        .unwrap()
        .write_all(br#"{"ChatSucess": 0.5}"#)
        .unwrap();
    let (code, _, err) = loadgen(
        &[
            "phase",
            "apply",
            bad.to_str().unwrap(),
            "--host",
            &url,
            "--token",
            token,
        ],
        None,
    )
    .await;
    assert_eq!(code, 64, "{err}");
    let body = err
        .split_once("answered 400: ")
        .map(|(_, b)| b.trim())
        .unwrap_or_else(|| panic!("{err}"));
    let refusal: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(refusal["field"], "ChatSucess", "{err}");
    assert!(
        refusal["error"].as_str().unwrap().contains("ChatSuccess"),
        "did you mean: {err}"
    );

    let (code, out, err) = loadgen(&["phase", "apply", "nope", "--host", &url], Some(token)).await;
    assert_eq!((code, out.as_str()), (64, ""), "{err}");
    assert!(err.contains("no preset or file named \"nope\""), "{err}");

    let (code, out, err) = loadgen(&["phase", "reset", "--host", &url], Some(token)).await;
    assert_eq!(code, 0, "{err}");
    let reset: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(reset, applied);
    assert_eq!(
        (mock.metrics().await)["mockserver_phase_changes_total"],
        2.0
    );
    mock.stop().await;
}

/// Issue 22 item 5: the workshop's BACKEND_ADDRESS is often a bare `host:port`, as curl takes
/// it; `--host` reads it as `http://host:port` (here `phase apply` and `phase show`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_host_and_port_is_read_as_http() {
    let mock = Mock::start(None).await;
    let bare = mock.url();
    let bare = bare
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert!(!bare.contains('/'), "{bare}");
    let (code, out, err) = loadgen(&["phase", "apply", "challenge6", "--host", &bare], None).await;
    assert_eq!(code, 0, "{err}");
    let applied: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (code, out, err) = loadgen(&["phase", "show", "--host", &bare], None).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        applied
    );
}

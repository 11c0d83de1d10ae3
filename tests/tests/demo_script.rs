//! `scripts/demo` with its port already taken (issue 15, item 5): it must stop at once with a
//! message naming the port and how to choose another, and must send nothing to the program that
//! holds the port (before, it load-tested it and called it challenge 1).

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[test]
fn demo_refuses_a_taken_port_without_touching_its_owner() {
    let foreign = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = foreign.local_addr().unwrap().port();
    // The foreign program: counts every byte anyone sends it.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    std::thread::spawn(move || {
        for mut conn in foreign.incoming().flatten() {
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = conn.read(&mut buf) {
                    counter.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/demo");
    let mut child = Command::new("bash")
        .arg(&script)
        .env("PORT", port.to_string())
        .env("DURATION", "1s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Generous: "at once" means before any build, which would take minutes, not seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("scripts/demo still running 30 s after being given a taken port");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert_eq!(status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains(&format!("port {port}")) && stderr.contains("PORT="),
        "{stderr}"
    );
    assert!(
        !stdout.contains("swarm"),
        "it went on to run the swarm: {stdout}"
    );
    // Let any stray request arrive before counting.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        received.load(Ordering::SeqCst),
        0,
        "bytes were sent to the port's owner"
    );
}

/// Issue 22, item 2: the demo's closing table puts, per endpoint, the client's count, what it
/// abandoned in flight at the end and the server's counter side by side, and they agree. Runs
/// the script against this build's debug binaries (`BIN_DIR`), which `cargo test --workspace`
/// builds beside the test binaries, for a 2-second swarm on a free port.
#[test]
fn demo_ends_with_client_abandoned_and_server_agreeing() {
    let exe = std::env::current_exe().unwrap();
    let bin_dir = exe.parent().and_then(Path::parent).unwrap();
    for name in ["mock-server", "loadgen"] {
        assert!(
            bin_dir.join(name).is_file(),
            "{name} is not in {}: run this through `cargo test --workspace`, which builds it",
            bin_dir.display()
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/demo");
    let out = Command::new("bash")
        .arg(&script)
        .env("PORT", port.to_string())
        .env("DURATION", "2s")
        .env("USERS", "10")
        .env("BIN_DIR", bin_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let table = stdout
        .split(
            "== the client's counts, what it abandoned at the end, and what the server counted\n",
        )
        .nth(1)
        .unwrap_or_else(|| panic!("no closing table: {stdout}"));
    let header = table.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("Endpoint") && header.ends_with("client  abandoned   server  counter"),
        "{table}"
    );
    // Every counted row: client + abandoned = server, marked `=`; chats are always among them
    // (the workshop's journey sends them from its first task).
    let rows: Vec<&str> = table
        .lines()
        .skip(1)
        .filter(|l| l.contains(" = movieguru_"))
        .collect();
    assert!(rows.iter().any(|l| l.starts_with("POST /chat ")), "{table}");
    for line in rows {
        let n: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!(n.len() == 3 && n[0] + n[1] == n[2], "{line}");
    }
    assert!(
        table.contains("counted endpoints agree: client + abandoned = server."),
        "{table}"
    );
}

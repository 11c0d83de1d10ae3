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

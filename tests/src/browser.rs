//! A real headless Chromium for page tests: starts Debian's `chromedriver` on a free loopback
//! port, opens a WebDriver session at 1280x800, and stops the driver (and with it the browser)
//! when dropped. Missing binaries skip the test with `SKIPPED`, or fail it when
//! `REQUIRE_CHROMIUM=1` (CI, which installs them).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// The viewport the screenshots and the layout checks use.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 800;

/// A chromedriver process and a browser session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// `chromium` and `chromedriver`, when both are installed. When not, says `SKIPPED` (or panics
/// under `REQUIRE_CHROMIUM=1`).
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = on_path("chromium").or_else(|| on_path("chromium-browser"));
    let driver = on_path("chromedriver");
    if let (Some(c), Some(d)) = (chromium.clone(), driver.clone()) {
        return Some((c, d));
    }
    let missing = if chromium.is_none() {
        "chromium"
    } else {
        "chromedriver"
    };
    assert!(
        std::env::var_os("REQUIRE_CHROMIUM").is_none_or(|v| v != "1"),
        "{missing} is not on PATH and REQUIRE_CHROMIUM=1 (Debian: apt-get install chromium chromium-driver)"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {missing} is not on PATH (apt-get install chromium chromium-driver)"
    );
    None
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    l.local_addr().expect("a bound address").port()
}

impl Browser {
    /// Starts chromedriver and a headless session; `None` (test skipped) without the binaries.
    pub async fn start() -> Option<Browser> {
        let (chromium, chromedriver) = binaries()?;
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let browser = Browser {
            client: connect(port, &chromium).await,
            driver,
        };
        browser
            .client
            .set_window_size(WIDTH, HEIGHT)
            .await
            .expect("sizing the window");
        // Headless Chromium counts the window, not the viewport; make the viewport 1280x800.
        let inner = browser
            .client
            .execute("return [window.innerWidth, window.innerHeight]", vec![])
            .await
            .expect("reading the viewport");
        if let (Some(w), Some(h)) = (inner[0].as_u64(), inner[1].as_u64()) {
            let (dw, dh) = (u64::from(WIDTH) - w, u64::from(HEIGHT) - h);
            if dw > 0 || dh > 0 {
                browser
                    .client
                    .set_window_size(WIDTH + dw as u32, HEIGHT + dh as u32)
                    .await
                    .expect("sizing the window");
            }
        }
        Some(browser)
    }

    /// Opens `path` on the server at `addr`.
    pub async fn open(&self, addr: SocketAddr, path: &str) {
        self.client
            .goto(&format!("http://{addr}{path}"))
            .await
            .expect("opening the page");
    }

    /// Polls `check` (a JavaScript expression's value, through `f`) every 200 ms until it holds,
    /// for at most `limit`; panics naming `what` and the last value otherwise.
    pub async fn wait_until<F>(
        &self,
        what: &str,
        script: &str,
        limit: Duration,
        f: F,
    ) -> serde_json::Value
    where
        F: Fn(&serde_json::Value) -> bool,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // A WebDriver error (a crashed tab, a script timeout) is kept for the message: a bare
            // `null` once hid which of them it was.
            let (v, err) = match self
                .client
                .execute(&format!("return ({script});"), vec![])
                .await
            {
                Ok(v) => (v, None),
                Err(e) => (serde_json::Value::Null, Some(e)),
            };
            if f(&v) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {limit:?} for {what}; last value of `{script}`: {}",
                err.map_or_else(|| v.to_string(), |e| format!("WebDriver error: {e}"))
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the element with `id`.
    pub async fn click(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no element #{id}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking #{id}: {e}"));
    }

    /// Replaces the text of the input with `id`.
    pub async fn type_into(&self, id: &str, text: &str) {
        let input = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("no element #{id}: {e}"));
        input.clear().await.expect("clearing an input");
        input.send_keys(text).await.expect("typing");
    }

    /// Ends the session (chromedriver then quits the browser) and the driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("taking a screenshot")
    }
}

async fn connect(port: u16, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--force-device-scale-factor=1",
                     format!("--window-size={WIDTH},{HEIGHT}")],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    // chromedriver takes a moment to listen: retry the session for up to 20 s.
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no WebDriver session from chromedriver on {url}: {last:?}");
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Our own child, by its pid; `close` has normally ended the browser session already.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The width and height a PNG's header states.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let sig = b"\x89PNG\r\n\x1a\n";
    if png.len() < 24 || &png[..8] != sig || &png[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&png[16..20]), be(&png[20..24])))
}

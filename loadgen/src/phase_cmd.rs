//! `loadgen phase apply|show|reset`: set, read and reset a mock-server's phase over HTTP.
//! Names resolve to the `scenarios/` presets; the server's own validation error (a 400 with
//! `{"error","field"}`) is shown verbatim, since it names the field at fault.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{Method, Request};
use http_body_util::Full;

use engine::journey::plan::{JourneyTarget, journey_target};
use engine::net::conn;
use engine::plan::{PlanError, Protocol};

#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    #[error(transparent)]
    Preset(#[from] scenarios::PresetError),
    #[error(transparent)]
    Url(#[from] PlanError),
    #[error("the admin token is not a valid header value")]
    Token,
    #[error("{url}: {}", .kind.label())]
    Transport {
        url: String,
        kind: engine::failure::ErrorKind,
    },
    #[error("{url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the server's answer is not JSON: {0}")]
    NotJson(String),
    #[error(
        "{url} answered {status} with a body over {MAX_ANSWER} bytes (a phase is about 1 KB); not read further"
    )]
    TooLarge { url: String, status: u16 },
}

/// The most of an answer the phase client reads: a phase document is about 1 KB, an error a
/// line. A longer body is refused, so an endless one cannot fill memory.
pub const MAX_ANSWER: usize = 1 << 20;
/// The most of a refusal's body an error message quotes.
const QUOTED: usize = 2000;
/// The whole exchange, connection included: a server that trickles its answer is given up on.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl crate::exit::Exit for PhaseError {
    /// A document the server refused as invalid is a usage error (64); anything else failed (1).
    fn exit_code(&self) -> i32 {
        match self {
            PhaseError::Refused { status: 400, .. }
            | PhaseError::Preset(_)
            | PhaseError::Url(_)
            | PhaseError::Token => crate::exit::USAGE,
            _ => crate::exit::FAILED,
        }
    }
}

/// A client for one mock-server's `/phase`.
pub struct Admin {
    target: JourneyTarget,
    token: Option<HeaderValue>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl Admin {
    pub fn new(host: &str, token: Option<&str>, insecure: bool) -> Result<Admin, PhaseError> {
        let target = journey_target("admin", host, 1)?;
        let token = token
            .map(|t| HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| PhaseError::Token))
            .transpose()?;
        let tls = target
            .target
            .tls_name
            .is_some()
            .then(|| engine::net::tls::connector(Protocol::Http1, insecure));
        Ok(Admin { target, token, tls })
    }

    fn url(&self) -> String {
        format!(
            "{}://{}{}/phase",
            self.target.target.url.scheme_str().unwrap_or("http"),
            self.target
                .target
                .url
                .authority()
                .map_or("", |a| a.as_str()),
            self.target.base_path
        )
    }

    /// Sends one request to `/phase`; answers the body of a 2xx, or `Refused` verbatim.
    async fn call(&self, method: Method, body: Option<String>) -> Result<String, PhaseError> {
        let url = self.url();
        let transport = |kind| PhaseError::Transport {
            url: url.clone(),
            kind,
        };
        let start = tokio::time::Instant::now();
        tokio::time::timeout(CALL_TIMEOUT, self.call_within(method, body, &url, start))
            .await
            .map_err(|_| transport(engine::failure::ErrorKind::Timeout))?
    }

    async fn call_within(
        &self,
        method: Method,
        body: Option<String>,
        url: &str,
        start: tokio::time::Instant,
    ) -> Result<String, PhaseError> {
        let transport = |kind| PhaseError::Transport {
            url: url.to_owned(),
            kind,
        };
        let (mut c, _) = conn::open(
            &self.target.target,
            Protocol::Http1,
            conn::Engine::Hyper,
            self.tls.as_ref(),
            start,
        )
        .await
        .map_err(transport)?;
        let has_body = body.is_some();
        let mut req = Request::new(Full::new(Bytes::from(body.unwrap_or_default())));
        *req.method_mut() = method;
        *req.uri_mut() = format!("{}/phase", self.target.base_path)
            .parse()
            .map_err(|_| transport(engine::failure::ErrorKind::Protocol))?;
        req.headers_mut().clone_from(&self.target.target.headers);
        if has_body {
            req.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(t) = &self.token {
            req.headers_mut().insert(AUTHORIZATION, t.clone());
        }
        let reply = conn::exchange(&mut c, req, Some(MAX_ANSWER))
            .await
            .map_err(transport)?;
        let status = reply.status;
        if reply.truncated {
            return Err(PhaseError::TooLarge {
                url: url.to_owned(),
                status,
            });
        }
        let text = String::from_utf8_lossy(&reply.body.unwrap_or_default()).into_owned();
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(PhaseError::Refused {
                url: url.to_owned(),
                status,
                body: quoted(text.trim_end()),
            })
        }
    }

    /// `POST /phase` with a JSON document; answers the phase now in force.
    pub async fn apply(&self, doc: &str) -> Result<serde_json::Value, PhaseError> {
        let text = self.call(Method::POST, Some(doc.to_owned())).await?;
        serde_json::from_str(&text).map_err(|_| PhaseError::NotJson(quoted(&text)))
    }

    pub async fn show(&self) -> Result<serde_json::Value, PhaseError> {
        let text = self.call(Method::GET, None).await?;
        serde_json::from_str(&text).map_err(|_| PhaseError::NotJson(quoted(&text)))
    }

    pub async fn reset(&self) -> Result<serde_json::Value, PhaseError> {
        let text = self.call(Method::DELETE, None).await?;
        serde_json::from_str(&text).map_err(|_| PhaseError::NotJson(quoted(&text)))
    }
}

/// `text`, cut to its first [`QUOTED`] characters (saying how much was left out).
fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}... ({} more bytes)", &text[..at], text.len() - at),
    }
}

/// What `loadgen phase` does to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Merge this phase document (a preset's or a file's, resolved) into the server's phase.
    Apply(String),
    Show,
    Reset,
}

/// Carries out `action` on the server `admin` reaches; answers the document to print.
pub async fn execute(admin: &Admin, action: &Action) -> Result<serde_json::Value, PhaseError> {
    match action {
        Action::Apply(doc) => admin.apply(doc).await,
        Action::Show => admin.show().await,
        Action::Reset => admin.reset().await,
    }
}

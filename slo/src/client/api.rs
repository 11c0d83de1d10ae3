//! A small client for the parts of Prometheus' HTTP API that CI needs: instant queries, active
//! alerts and loaded rules. Plain HTTP/1.1 over hyper; every request has a deadline, so a hung
//! Prometheus fails a pipeline with a message instead of stalling it.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// How long one API call may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read: the rules of a big installation or a range of `ALERTS` run to a few
/// MiB; beyond this the answer is refused rather than read until memory runs out.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Why a call to Prometheus failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{url:?} is not a Prometheus base URL like http://127.0.0.1:9090: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach Prometheus at {url}: {source}")]
    Connect {
        url: String,
        source: hyper_util::client::legacy::Error,
    },
    #[error("Prometheus at {url} did not answer within {REQUEST_TIMEOUT:?}")]
    Timeout { url: String },
    #[error("reading the answer of {url}: {source}")]
    Body {
        url: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{url} answered with more than {} MiB; not read further", MAX_ANSWER_BYTES >> 20)]
    TooLarge { url: String },
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("{url} answered with unexpected JSON: {source}")]
    Json {
        url: String,
        source: serde_json::Error,
    },
    #[error("Prometheus refused {url}: {kind}: {message}")]
    Api {
        url: String,
        kind: String,
        message: String,
    },
}

impl ApiError {
    /// Whether the fault is the address the caller gave (bad input) rather than the server
    /// behind it (missing, not ready, or answering nonsense).
    pub fn is_bad_url(&self) -> bool {
        matches!(self, ApiError::BadUrl { .. })
    }
}

/// One sample of an instant vector; `value` may be NaN (e.g. an error ratio with no traffic).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The raw samples of one series in a range vector, oldest first: `(unix seconds, value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(f64, f64)>,
}

/// One alert instance from `/api/v1/alerts` (pending or firing; inactive ones are not listed).
#[derive(Clone, Debug, Deserialize)]
pub struct ActiveAlert {
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub state: String,
}

/// One rule as `/api/v1/rules` lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct LoadedRule {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub health: String,
    #[serde(default, rename = "lastError")]
    pub last_error: Option<String>,
    /// The rule's PromQL, as loaded (the report reads its window to tell a compressed file).
    #[serde(default)]
    pub query: String,
    /// The labels the rule sets on its alerts (its `labels:`), beside those of its series.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RuleGroup {
    pub name: String,
    pub file: String,
    pub rules: Vec<LoadedRule>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct VectorData {
    result: Vec<RawSample>,
}

#[derive(Deserialize)]
struct RawSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixData {
    result: Vec<RawSeries>,
}

#[derive(Deserialize)]
struct RawSeries {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct AlertsData {
    alerts: Vec<ActiveAlert>,
}

#[derive(Deserialize)]
struct RulesData {
    groups: Vec<RuleGroup>,
}

/// A Prometheus server's API, addressed by its base URL.
#[derive(Clone, Debug)]
pub struct PrometheusClient {
    base: String,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl PrometheusClient {
    /// `url` is the server's base, e.g. `http://127.0.0.1:9090` (a path prefix is kept).
    pub fn new(url: &str) -> Result<Self, ApiError> {
        let bad = |reason: &str| ApiError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// is supported"));
        }
        if uri.authority().is_none() {
            return Err(bad("it needs a host and port"));
        }
        if uri.query().is_some() {
            return Err(bad("it must not have a query string"));
        }
        Ok(Self {
            base: url.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Evaluates `promql` now, expecting an instant vector.
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, ApiError> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", promql)
            .finish();
        let data: VectorData = self.get(&format!("/api/v1/query?{query}")).await?;
        Ok(data
            .result
            .into_iter()
            .map(|s| Sample {
                labels: s.metric,
                // Prometheus writes NaN and infinities as "NaN", "+Inf", "-Inf", which Rust reads.
                value: s
                    .value
                    .1
                    .trim_start_matches('+')
                    .parse()
                    .unwrap_or(f64::NAN),
            })
            .collect())
    }

    /// Evaluates a range selector such as `ALERTS[10m]` now and returns the stored samples, with
    /// the timestamps Prometheus gave them: a test's record of what was scraped or evaluated when.
    pub async fn range(&self, promql: &str) -> Result<Vec<Series>, ApiError> {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", promql)
            .finish();
        let data: MatrixData = self.get(&format!("/api/v1/query?{query}")).await?;
        Ok(data
            .result
            .into_iter()
            .map(|s| Series {
                labels: s.metric,
                samples: s
                    .values
                    .into_iter()
                    .map(|(at, v)| (at, v.trim_start_matches('+').parse().unwrap_or(f64::NAN)))
                    .collect(),
            })
            .collect())
    }

    /// The alerts now pending or firing.
    pub async fn alerts(&self) -> Result<Vec<ActiveAlert>, ApiError> {
        let data: AlertsData = self.get("/api/v1/alerts").await?;
        Ok(data.alerts)
    }

    /// The rule groups Prometheus has loaded, with each rule's health.
    pub async fn rule_groups(&self) -> Result<Vec<RuleGroup>, ApiError> {
        let data: RulesData = self.get("/api/v1/rules").await?;
        Ok(data.groups)
    }

    async fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, ApiError> {
        let url = format!("{}{path_and_query}", self.base);
        let uri: Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| ApiError::BadUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let call = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|source| ApiError::Connect {
                    url: url.clone(),
                    source,
                })?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|source| {
                    if source.is::<http_body_util::LengthLimitError>() {
                        ApiError::TooLarge { url: url.clone() }
                    } else {
                        ApiError::Body {
                            url: url.clone(),
                            source,
                        }
                    }
                })?
                .to_bytes();
            Ok::<_, ApiError>((status, body))
        };
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, call)
            .await
            .map_err(|_| ApiError::Timeout { url: url.clone() })??;
        // Prometheus explains refused queries in a JSON envelope, whatever the status code.
        let envelope: Envelope<T> = match serde_json::from_slice(&body) {
            Ok(envelope) => envelope,
            Err(source) if status.is_success() => return Err(ApiError::Json { url, source }),
            Err(_) => {
                return Err(ApiError::Status {
                    url,
                    status,
                    body: String::from_utf8_lossy(&body).chars().take(300).collect(),
                });
            }
        };
        match envelope {
            Envelope {
                status,
                data: Some(data),
                ..
            } if status == "success" => Ok(data),
            Envelope {
                error_type, error, ..
            } => Err(ApiError::Api {
                url,
                kind: error_type.unwrap_or_else(|| "error".into()),
                message: error.unwrap_or_else(|| format!("status {status} without data")),
            }),
        }
    }
}

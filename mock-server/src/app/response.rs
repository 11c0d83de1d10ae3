//! The answers the app gives: response types, the content types it sends and the helpers that
//! build a canned or JSON answer.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Body;

use crate::answer::fault::FaultBody;

pub const JSON: HeaderValue = HeaderValue::from_static("application/json");
pub const TEXT: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
pub const PROMETHEUS_TEXT: HeaderValue =
    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");

pub type HttpResponse = Response<Full<Bytes>>;

/// What a response body is: the canned bytes, or a deliberately broken body.
pub type ResponseBody = Either<Full<Bytes>, FaultBody>;

/// What the connection should do with a request.
pub enum Outcome {
    Respond(Response<ResponseBody>),
    /// Close the connection without an answer; with `reset`, abortively (RST).
    Abort {
        reset: bool,
    },
}

pub fn respond(status: StatusCode, body: Bytes) -> HttpResponse {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, JSON);
    r
}

pub fn json_response(status: StatusCode, doc: serde_json::Value) -> HttpResponse {
    respond(status, Bytes::from(doc.to_string()))
}

/// The bytes of a `Full` body, which are ready on its first poll (so no waker is ever needed).
pub fn full_bytes(mut body: Full<Bytes>) -> Bytes {
    match Pin::new(&mut body).poll_frame(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        _ => Bytes::new(),
    }
}

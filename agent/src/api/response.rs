//! The response envelope: `{"status":…,"data":…,"warnings":…,"infos":…}` on
//! success, `{"status":"error","errorType":…,"error":…}` on failure, with
//! Prometheus's status codes per error kind.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use warden_rules::promql::{Annotations, PromqlError};

use super::encode::write_str;

/// Prometheus's error kinds, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// 400: the request's parameters are wrong.
    BadData,
    /// 422: the query could not be executed.
    Execution,
    /// 503: the query timed out.
    Timeout,
    /// 503: the query was cancelled.
    Canceled,
    /// 500: the store failed.
    Internal,
    /// 503: the store is not open yet.
    Unavailable,
}

impl ErrorType {
    fn name(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Canceled | ErrorType::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A failed API call.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind, which decides the status code.
    pub kind: ErrorType,
    /// The message, as Prometheus words it.
    pub message: String,
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorType::BadData,
            message: message.into(),
        }
    }

    /// A 503 while the store replays its WAL.
    pub fn unavailable() -> ApiError {
        ApiError {
            kind: ErrorType::Unavailable,
            message: "Service Unavailable: warden is not ready yet".into(),
        }
    }

    /// A 500 with `message`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorType::Internal,
            message: message.into(),
        }
    }
}

impl From<PromqlError> for ApiError {
    fn from(e: PromqlError) -> ApiError {
        let kind = match &e {
            PromqlError::Parse { .. } | PromqlError::BadData(_) => ErrorType::BadData,
            PromqlError::Execution(_) | PromqlError::TooManySamples(_) => ErrorType::Execution,
            PromqlError::Timeout(_) => ErrorType::Timeout,
            PromqlError::Canceled(_) => ErrorType::Canceled,
            PromqlError::Storage(_) => ErrorType::Internal,
        };
        ApiError {
            kind,
            message: e.to_string(),
        }
    }
}

impl From<super::params::ParamError> for ApiError {
    fn from(e: super::params::ParamError) -> ApiError {
        ApiError::bad_data(e.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = String::from("{\"status\":\"error\",\"errorType\":");
        write_str(&mut body, self.kind.name());
        body.push_str(",\"error\":");
        write_str(&mut body, &self.message);
        body.push('}');
        json_response(self.kind.status(), body)
    }
}

/// A success envelope around already-encoded `data` JSON.
pub fn success(data_json: &str, annotations: &Annotations) -> Response {
    let mut body = String::with_capacity(data_json.len() + 64);
    body.push_str("{\"status\":\"success\",\"data\":");
    body.push_str(data_json);
    write_list(&mut body, "warnings", &annotations.warnings);
    write_list(&mut body, "infos", &annotations.infos);
    body.push('}');
    json_response(StatusCode::OK, body)
}

fn write_list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":[");
    for (i, w) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, w);
    }
    out.push(']');
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

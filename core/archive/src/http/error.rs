//! The one error type of the archive's handlers. A handler returns `Result<_, ApiError>`;
//! the error becomes the answer a client of that resource expects: a DALI error document
//! (a VOTable with QUERY_STATUS=ERROR) for TAP, UWS and TAP+, plain text for the login
//! resources, JSON for `/timeseries`. The service's own failures are logged whole and
//! answered without the server's paths or internals.

use crate::jobs::JobError;
use crate::query::QueryError;
use crate::store::ArchiveError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What a handler answers with when it cannot do what it was asked.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    body: Body,
}

/// How an error is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// A DALI error document.
    VoTable,
    /// The message alone, as `text/plain` (login, logout, credentials).
    Text,
    /// `{"error": message}`.
    Json,
}

/// A handler's outcome.
pub type ApiResult<T = Response> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), body: Body::VoTable }
    }

    /// The caller's mistake: a parameter missing or wrong.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// No caller, or the wrong credentials: the client is asked for Basic credentials.
    pub fn unauthorised(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn too_many_requests(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, message)
    }

    /// The service failed, not the caller: `cause` goes to the log, `what` to the caller.
    pub fn internal(what: &str, cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "{what}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} (the server's log has the details)"))
    }

    /// The same error, written as plain text.
    pub fn as_text(self) -> ApiError {
        ApiError { body: Body::Text, ..self }
    }

    /// The same error, written as JSON.
    pub fn as_json(self) -> ApiError {
        ApiError { body: Body::Json, ..self }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Body::VoTable => dali_error(self.status, &self.message),
            Body::Text => (self.status, self.message).into_response(),
            Body::Json => {
                let body = serde_json::json!({ "error": self.message }).to_string();
                let mut response = (self.status, body).into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
        };
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Skyglass\""));
        }
        response
    }
}

/// A DALI error document: a VOTable whose RESOURCE holds QUERY_STATUS=ERROR and the reason.
/// UWS's `…/error` resource answers one with 200.
pub fn dali_error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\">\n\
         <INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n\
         </RESOURCE>\n\
         </VOTABLE>\n",
        super::format::xml_escape(message)
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-votable+xml"));
    response
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> ApiError {
        match error {
            JobError::NotFound(_) => ApiError::not_found(error.to_string()),
            JobError::WrongPhase { .. } | JobError::BadValue(_) => ApiError::bad_request(error.to_string()),
            JobError::Metadata(cause) => ApiError::internal("the job store failed", cause),
            JobError::Failed(cause) => ApiError::internal("the job store failed", cause),
        }
    }
}

impl From<ArchiveError> for ApiError {
    fn from(error: ArchiveError) -> ApiError {
        match error {
            ArchiveError::Io { source, .. } | ArchiveError::Ingest(crate::IngestError::Io { source, .. }) => {
                let what = format!("the archive's storage failed: {source}");
                ApiError::internal(&what, source)
            }
            ArchiveError::Metadata(cause) => ApiError::internal("the archive's metadata failed", cause),
            ArchiveError::Engine(cause) => ApiError::internal("the query engine failed", cause),
            ArchiveError::NoSuchTable(_) => ApiError::not_found(error.to_string()),
            _ => ApiError::bad_request(error.to_string()),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> ApiError {
        // A query's own failure is told to its caller whole: it is about their query.
        let status = if error.is_user_error() { StatusCode::BAD_REQUEST } else { StatusCode::INTERNAL_SERVER_ERROR };
        ApiError::new(status, error.to_string())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> ApiError {
        ApiError::internal("the server failed while answering", error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn errors_are_dali_documents_with_the_message_escaped() {
        let response = ApiError::bad_request("MAXREC=<x> is not a count").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/x-votable+xml");
        let body = body_of(response).await;
        assert!(body.contains("<INFO name=\"QUERY_STATUS\" value=\"ERROR\">MAXREC=&lt;x&gt; is not a count</INFO>"));
    }

    #[tokio::test]
    async fn unauthorised_asks_for_basic_credentials_in_every_body() {
        for error in [ApiError::unauthorised("log in first"), ApiError::unauthorised("log in first").as_text()] {
            let response = error.into_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Basic realm=\"Skyglass\"");
        }
    }

    #[tokio::test]
    async fn the_services_own_failures_do_not_show_its_paths() {
        let source = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let error = ArchiveError::Io { path: "/srv/archive/tables/x.parquet".into(), source };
        let response = ApiError::from(error).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert!(body.contains("the archive's storage failed: denied"), "{body}");
        assert!(!body.contains("/srv/archive"), "{body}");
    }

    #[tokio::test]
    async fn json_errors_for_json_resources() {
        let response = ApiError::bad_request("width must be a whole number").as_json().into_response();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let value: serde_json::Value = serde_json::from_str(&body_of(response).await).unwrap_or_default();
        assert_eq!(value["error"], "width must be a whole number");
    }
}

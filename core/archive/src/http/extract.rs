//! What handlers take from a request: bodies within the service's limit, form and multipart
//! parameters (DALI: names case-insensitive), and the caller's base URL for self-references.

use super::error::{ApiError, ApiResult};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use std::collections::HashMap;

/// Request bodies larger than this are refused (table uploads have their own limit).
pub(crate) const MAX_BODY_BYTES: usize = 16 << 20;

/// Bodies past the limit are still read, up to this much, before the refusal: clients that
/// send the whole body before they listen then get the error document, not a broken pipe.
const DRAIN_LIMIT: usize = 4 * MAX_BODY_BYTES;

/// The refusal of a body over [`MAX_BODY_BYTES`].
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request is larger than the {} MiB this service accepts", MAX_BODY_BYTES >> 20),
    )
}

/// A request body, whole, within [`MAX_BODY_BYTES`].
pub(crate) async fn read_body(body: axum::body::Body) -> ApiResult<Bytes> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("unreadable request: {e}")))?;
        seen += chunk.len();
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(Bytes::from(kept))
}

/// Parameters as name–value pairs, in the order sent, looked up without regard to case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The first value of `name` (any case), trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.trim())
    }

    /// The same pairs with their names upper-cased, as UWS keeps them.
    pub fn upper(self) -> Vec<(String, String)> {
        self.0.into_iter().map(|(key, value)| (key.to_ascii_uppercase(), value)).collect()
    }
}

/// A form body (`application/x-www-form-urlencoded`) within the body limit, decoded.
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> ApiResult<Form> {
        let body = read_body(request.into_body()).await?;
        Ok(Form(Params(form_pairs(&body)?)))
    }
}

/// A POST's parameters (form-encoded or multipart) and the bytes of its parts by name, as
/// TAP's sync and async resources take them (a part may be an upload named `param:NAME`).
pub struct Posted {
    pub params: Params,
    pub parts: HashMap<String, Vec<u8>>,
}

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> ApiResult<Posted> {
        let (parts, body) = request.into_parts();
        let body = read_body(body).await?;
        read_posted(Request::from_parts(parts, axum::body::Body::from(body))).await.map_err(ApiError::bad_request)
    }
}

async fn read_posted(request: Request) -> Result<Posted, String> {
    let content_type = content_type(request.headers());
    let mut params = Vec::new();
    let mut parts = HashMap::new();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = multipart(request).await.map_err(|e| format!("unreadable multipart request: {e}"))?;
        while let Some(field) = multipart.next_field().await.map_err(|e| format!("unreadable multipart part: {e}"))? {
            let name = field.name().unwrap_or("").to_owned();
            let is_file = field.file_name().is_some();
            let bytes = field.bytes().await.map_err(|e| format!("unreadable part {name}: {e}"))?;
            if is_file || parts.contains_key(&name) {
                parts.insert(name, bytes.to_vec());
            } else {
                // A plain field may also be an upload named by param:NAME.
                parts.insert(name.clone(), bytes.to_vec());
                params.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        return Ok(Posted { params: Params(params), parts });
    }
    if !content_type.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(format!("send the parameters as a form (urlencoded or multipart), not {content_type}"));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| format!("unreadable request body: {e}"))?;
    params = form_pairs(&body).map_err(|e| e.message().to_owned())?;
    Ok(Posted { params: Params(params), parts })
}

/// The request's Content-Type, or "".
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// A multipart reader of the request, its boundary quoted where TAP+ clients leave it bare.
pub(crate) async fn multipart(
    mut request: Request,
) -> Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection> {
    if let Some(quoted) = quoted_boundary(&content_type(request.headers())) {
        request.headers_mut().insert(header::CONTENT_TYPE, quoted);
    }
    axum::extract::Multipart::from_request(request, &()).await
}

/// The Content-Type with its boundary quoted, when it needs quotes and has none: TAP+
/// clients send `boundary====1700000000000===`, which a strict parser refuses.
fn quoted_boundary(content_type: &str) -> Option<HeaderValue> {
    let (before, boundary) = content_type.split_once("boundary=")?;
    let boundary = boundary.split(';').next().unwrap_or("").trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$&-^_`|~.+'*%".contains(c);
    if boundary.starts_with('"') || boundary.chars().all(token) {
        return None;
    }
    HeaderValue::from_str(&format!("{before}boundary=\"{boundary}\"")).ok()
}

/// Form-encoded pairs, decoded.
pub(crate) fn form_pairs(body: &[u8]) -> ApiResult<Vec<(String, String)>> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::bad_request("the request body is not UTF-8"));
    }
    Ok(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

/// The service's base URL as the client reached it (`Host`, and `X-Forwarded-Proto` as a
/// reverse proxy or our own TLS listener sets it), for self-references.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let https = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// The base URL of the request, as an extractor.
pub struct BaseUrl(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<BaseUrl, Self::Rejection> {
        Ok(BaseUrl(base_url(&parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_plus_boundaries_are_quoted_and_plain_ones_left_alone() {
        let quoted = quoted_boundary("multipart/form-data; boundary====1700000000000===");
        assert_eq!(
            quoted.as_ref().and_then(|v| v.to_str().ok()),
            Some("multipart/form-data; boundary=\"===1700000000000===\"")
        );
        assert_eq!(quoted_boundary("multipart/form-data; boundary=abc123"), None);
        assert_eq!(quoted_boundary("multipart/form-data; boundary=\"a=b\""), None);
    }

    #[test]
    fn parameters_are_found_in_any_case_and_trimmed() {
        let params = Params(vec![("lang".into(), " ADQL ".into()), ("LANG".into(), "SQL".into())]);
        assert_eq!(params.get("LANG"), Some("ADQL"));
        assert_eq!(params.get("query"), None);
    }

    #[test]
    fn form_bodies_that_are_not_utf8_are_refused() {
        assert!(form_pairs(b"QUERY=\xff").is_err());
        assert_eq!(form_pairs(b"a=1&b=x%20y").ok(), Some(vec![("a".into(), "1".into()), ("b".into(), "x y".into())]));
    }
}

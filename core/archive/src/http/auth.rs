//! Who is calling: a login form that answers a session cookie (as ESA's TAP+ clients
//! expect: `POST …/login` with `username` and `password`, the cookie `JSESSIONID`), logout,
//! HTTP Basic and bearer tokens (a session's token) for scripts. Every request carries its
//! [`Caller`]; credentials that are given and wrong are refused (401) rather than taken as
//! anonymous, but a stale session cookie (TAP+ keeps it after logout) is anonymous.

use super::error::{ApiError, ApiResult};
use super::{Service, blocking};
use crate::users::LoginError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::sync::Arc;

/// The cookie that holds a session.
pub const SESSION_COOKIE: &str = "JSESSIONID";

/// The user a request is made for; `None` is anonymous.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller(pub Option<String>);

/// Finds the caller of each request and hands it on as a request extension.
pub async fn identify(State(service): State<Arc<Service>>, mut request: Request, next: Next) -> Response {
    // Only the parts needed are held across the checks' awaits (a body is not Sync).
    let (headers, path) = (request.headers().clone(), request.uri().path().to_owned());
    match identified(&service, headers, &path).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// The caller of a request, or why it is refused.
async fn identified(service: &Arc<Service>, headers: HeaderMap, path: &str) -> ApiResult<Caller> {
    // Most requests carry no credentials: no database, no blocking task for them.
    let credentials = headers.contains_key(header::AUTHORIZATION) || session_token(&headers).is_some();
    let caller = if credentials {
        let archive = Arc::clone(&service.archive);
        blocking(move || caller(&archive, &headers)).await?
    } else {
        Caller(None)
    };
    let tap_path = path.strip_prefix("/tap-server/tap").or_else(|| path.strip_prefix("/tap")).unwrap_or(path);
    let way_in = ["/login", "/logout", "/availability", "/capabilities"].contains(&tap_path)
        || ["/tap-server/login", "/tap-server/logout", "/data-server/login", "/data-server/logout"].contains(&path);
    if service.options.login_only && caller.0.is_none() && !way_in {
        return Err(ApiError::unauthorised(
            "this archive serves its users only: log in (POST …/login) or give Basic credentials",
        )
        .as_text());
    }
    // A job of another user does not exist for this caller: not its parameters, phase,
    // results, nor the changing of any of them.
    if let Some(id) = job_id(path) {
        let no_such_job = || ApiError::not_found("no such job").as_text();
        // Ids are plain letters and digits: an escaped one (`%36f…`) would be checked here
        // undecoded and served decoded.
        if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(no_such_job());
        }
        let (jobs, id) = (Arc::clone(&service.jobs), id.to_owned());
        let owner = blocking(move || Ok(jobs.owner(&id))).await?;
        if owner.is_some_and(|owner| caller.0.as_deref() != Some(owner.as_str())) {
            return Err(no_such_job());
        }
    }
    Ok(caller)
}

/// The job id of a `/tap/async/{id}…` (or `/tap-server/tap/async/{id}…`) path.
fn job_id(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/tap/async/").or_else(|| path.strip_prefix("/tap-server/tap/async/"))?;
    rest.split('/').next().filter(|id| !id.is_empty())
}

/// Why credentials were refused, as the answer says it.
fn refused(error: LoginError) -> ApiError {
    match error {
        LoginError::TooMany => ApiError::too_many_requests(error.to_string()).as_text(),
        LoginError::Wrong => ApiError::unauthorised("wrong user name or password").as_text(),
    }
}

fn caller(archive: &crate::store::Archive, headers: &HeaderMap) -> ApiResult<Caller> {
    let malformed = || ApiError::unauthorised("malformed Basic credentials").as_text();
    if let Some(authorization) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, value) = authorization.split_once(' ').unwrap_or((authorization, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(malformed)?;
            let (name, password) = decoded.split_once(':').ok_or_else(malformed)?;
            return archive.verify_password(name, password).map(|()| Caller(Some(name.to_owned()))).map_err(refused);
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return archive
                .session_user(value.trim())
                .map(|user| Caller(Some(user)))
                .ok_or_else(|| ApiError::unauthorised("the token is unknown or has expired: log in again").as_text());
        }
    }
    Ok(Caller(session_token(headers).and_then(|token| archive.session_user(&token))))
}

/// The session token of the request's cookies (`JSESSIONID`, or `SESSION`).
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|cookies| {
        cookies.split(';').find_map(|cookie| {
            let (name, value) = cookie.trim().split_once('=')?;
            (name == SESSION_COOKIE || name == "SESSION").then(|| value.trim().to_owned())
        })
    })
}

/// `POST login` with `username` and `password` (a form): 200 and the session cookie, 401,
/// or 429 after repeated failures.
pub async fn login(State(service): State<Arc<Service>>, body: axum::body::Bytes) -> ApiResult {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(name), Some(password)) = (field("username"), field("password")) else {
        return Err(ApiError::bad_request("log in with the form fields username and password").as_text());
    };
    let archive = Arc::clone(&service.archive);
    let token = blocking(move || archive.login(&name, &password).map_err(refused)).await?;
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    let mut response = (StatusCode::OK, "OK").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST logout`: the request's session ends.
pub async fn logout(State(service): State<Arc<Service>>, headers: HeaderMap) -> ApiResult {
    if let Some(token) = session_token(&headers) {
        let archive = Arc::clone(&service.archive);
        blocking(move || {
            archive.logout(&token);
            Ok(())
        })
        .await?;
    }
    Ok((StatusCode::OK, "OK").into_response())
}

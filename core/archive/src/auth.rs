//! Who is calling: a login form that answers a session cookie (as ESA's TAP+ clients
//! expect: `POST …/login` with `username` and `password`, the cookie `JSESSIONID`), logout,
//! HTTP Basic and bearer tokens (a session's token) for scripts. Every request carries its
//! [`Caller`]; credentials that are given and wrong are refused (401) rather than taken as
//! anonymous, but a stale session cookie (TAP+ keeps it after logout) is anonymous.

use crate::tap::Service;
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
    // Most requests carry no credentials: no database, no blocking task for them.
    let credentials =
        request.headers().contains_key(header::AUTHORIZATION) || session_token(request.headers()).is_some();
    let found = if credentials {
        let (archive, headers) = (Arc::clone(&service.archive), request.headers().clone());
        tokio::task::spawn_blocking(move || caller(&archive, &headers)).await
    } else {
        Ok(Ok(Caller(None)))
    };
    let caller = match found {
        Ok(Ok(caller)) => caller,
        Ok(Err(Refusal::Unauthorised(message))) => return unauthorised(message),
        Ok(Err(Refusal::TooMany)) => {
            return (StatusCode::TOO_MANY_REQUESTS, LoginError::TooMany.to_string()).into_response();
        }
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "cannot check the credentials").into_response(),
    };
    let path = request.uri().path();
    let tap_path = path.strip_prefix("/tap-server/tap").or_else(|| path.strip_prefix("/tap")).unwrap_or(path);
    let way_in = ["/login", "/logout", "/availability", "/capabilities"].contains(&tap_path)
        || ["/tap-server/login", "/tap-server/logout", "/data-server/login", "/data-server/logout"].contains(&path);
    if service.options.login_only && caller.0.is_none() && !way_in {
        return unauthorised("this archive serves its users only: log in (POST …/login) or give Basic credentials");
    }
    // A job of another user does not exist for this caller: not its parameters, phase,
    // results, nor the changing of any of them.
    if let Some(id) = job_id(request.uri().path()) {
        // Ids are plain letters and digits: an escaped one (`%36f…`) would be checked here
        // undecoded and served decoded.
        let plain = id.chars().all(|c| c.is_ascii_alphanumeric());
        let others = service.jobs.owner(id).is_some_and(|owner| caller.0.as_deref() != Some(owner.as_str()));
        if !plain || others {
            return (StatusCode::NOT_FOUND, "no such job").into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The job id of a `/tap/async/{id}…` (or `/tap-server/tap/async/{id}…`) path.
fn job_id(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/tap/async/").or_else(|| path.strip_prefix("/tap-server/tap/async/"))?;
    rest.split('/').next().filter(|id| !id.is_empty())
}

fn unauthorised(message: &str) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, message.to_owned()).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Skyglass\""));
    response
}

/// Why credentials were refused.
enum Refusal {
    Unauthorised(&'static str),
    TooMany,
}

fn caller(archive: &crate::store::Archive, headers: &HeaderMap) -> Result<Caller, Refusal> {
    if let Some(authorization) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, value) = authorization.split_once(' ').unwrap_or((authorization, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(Refusal::Unauthorised("malformed Basic credentials"))?;
            let (name, password) =
                decoded.split_once(':').ok_or(Refusal::Unauthorised("malformed Basic credentials"))?;
            return match archive.verify_password(name, password) {
                Ok(()) => Ok(Caller(Some(name.to_owned()))),
                Err(LoginError::TooMany) => Err(Refusal::TooMany),
                Err(LoginError::Wrong) => Err(Refusal::Unauthorised("wrong user name or password")),
            };
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return archive
                .session_user(value.trim())
                .map(|user| Caller(Some(user)))
                .ok_or(Refusal::Unauthorised("the token is unknown or has expired: log in again"));
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
pub async fn login(State(service): State<Arc<Service>>, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(name), Some(password)) = (field("username"), field("password")) else {
        return (StatusCode::BAD_REQUEST, "log in with the form fields username and password").into_response();
    };
    let archive = Arc::clone(&service.archive);
    let outcome = tokio::task::spawn_blocking(move || archive.login(&name, &password)).await;
    match outcome {
        Ok(Ok(token)) => {
            let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
            let mut response = (StatusCode::OK, "OK").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Ok(Err(LoginError::TooMany)) => {
            (StatusCode::TOO_MANY_REQUESTS, LoginError::TooMany.to_string()).into_response()
        }
        Ok(Err(LoginError::Wrong)) => unauthorised("wrong user name or password"),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot log in").into_response(),
    }
}

/// `POST logout`: the request's session ends.
pub async fn logout(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        service.archive.logout(&token);
    }
    (StatusCode::OK, "OK").into_response()
}

//! The archive over HTTP (axum): TAP 1.1 (`tap`), its UWS jobs (`uws`), the VOSI resources
//! (`vosi`), ESA's TAP+ (`tapplus`), `/timeseries` (`timeseries`), who is calling (`auth`)
//! and HTTPS (`tls`).
//!
//! How the parts fit: this module builds the router and holds what every handler shares
//! ([`Service`]); `extract` reads requests (bodies within limits, form and multipart
//! parameters); `error` is the one error type, [`ApiError`], which every handler returns
//! through `Result` and which answers as the resource's clients expect; `format` writes
//! results and documents. Handlers never block the runtime: metadata and file work runs in
//! [`blocking`].
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let archive = skyglass_archive::Archive::open(std::path::Path::new("data")).await?;
//! let app = skyglass_archive::http::router(std::sync::Arc::new(archive))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod error;
pub mod extract;
pub mod format;
pub mod tap;
pub mod tapplus;
pub mod timeseries;
pub mod tls;
pub mod uws;
pub mod vosi;

pub use auth::Caller;
pub use error::{ApiError, ApiResult};

use crate::jobs::{JobError, Jobs, Runner};
use crate::store::Archive;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// What the handlers share: the archive and its UWS jobs.
pub struct Service {
    pub archive: Arc<Archive>,
    pub jobs: Arc<Jobs>,
    pub options: Options,
}

/// How a service is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Anonymous callers get nothing but the way in (login, availability, capabilities).
    pub login_only: bool,
    /// The largest table upload into a user's schema, in bytes (spooled to disk, not held
    /// in memory while it arrives).
    pub upload_limit: u64,
    /// Whether uploads by URL may come from the service's own network (loopback, private,
    /// link-local hosts): right for a personal server on loopback, wrong for a public one,
    /// whose callers could otherwise read what only the server can reach.
    pub private_fetches: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { login_only: false, upload_limit: crate::quota::PER_USER.bytes, private_fetches: false }
    }
}

/// The handlers' state.
pub(crate) type Shared = axum::extract::State<Arc<Service>>;

/// The archive's routes: the TAP service under `/tap` (and `/tap-server/tap`, where ESA's
/// TAP+ clients look), TAP+'s server context, and `/timeseries`. Jobs left running by a
/// stopped server are marked as failed here.
pub fn router(archive: Arc<Archive>) -> Result<Router, JobError> {
    router_with(archive, Options::default())
}

/// [`router`] run with `options`.
pub fn router_with(archive: Arc<Archive>, options: Options) -> Result<Router, JobError> {
    let private = options.private_fetches;
    let runner: Runner = Arc::new(move |archive, job, folder| Box::pin(tap::run_job(archive, job, folder, private)));
    let jobs = Arc::new(Jobs::open(Arc::clone(&archive), runner)?);
    let service = Arc::new(Service { archive, jobs, options });
    let tap = Router::new()
        .route("/sync", get(tap::sync_get).post(tap::sync_post))
        .route("/async", get(uws::list).post(uws::create))
        .route("/async/{id}", get(uws::job).post(uws::job_post).delete(uws::delete))
        .route("/async/{id}/phase", get(uws::phase).post(uws::phase_post))
        .route("/async/{id}/executionduration", get(uws::execution_duration).post(uws::execution_duration_post))
        .route("/async/{id}/destruction", get(uws::destruction).post(uws::destruction_post))
        .route("/async/{id}/error", get(uws::error))
        .route("/async/{id}/quote", get(uws::quote))
        .route("/async/{id}/owner", get(uws::owner))
        .route("/async/{id}/parameters", get(uws::parameters).post(uws::job_post))
        .route("/async/{id}/results", get(uws::results))
        .route("/async/{id}/results/result", get(uws::result))
        .route("/availability", get(vosi::availability))
        .route("/capabilities", get(vosi::capabilities))
        .route("/tables", get(vosi::tables))
        .route("/examples", get(vosi::examples))
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .merge(tapplus::tap_routes())
        // TAP+ clients whose server context is the TAP service's own (TapPlus on `…/tap`
        // with upload and table-edit contexts) find the table tools there too.
        .merge(tapplus::table_tool_routes());
    Ok(Router::new()
        .nest("/tap", tap.clone())
        .nest("/tap-server/tap", tap)
        .merge(tapplus::server_routes())
        .route("/timeseries/{table}", get(timeseries::series))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&service), auth::identify))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(finish_response))
        .with_state(service))
}

/// Runs `work` on the runtime's blocking threads (SQLite, files, serialising results), so
/// that no handler holds up the others while it waits.
pub(crate) async fn blocking<T, F>(work: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> ApiResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?
}

/// Every response names the server (VOSI capabilities checkers look for it); a body refused
/// by the size limit before our handlers saw it still gets an error document.
async fn finish_response(response: Response) -> Response {
    let votable = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-votable+xml"));
    let mut response = if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !votable {
        extract::too_large().into_response()
    } else {
        response
    };
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static(concat!("Skyglass/", env!("CARGO_PKG_VERSION"))));
    response
}

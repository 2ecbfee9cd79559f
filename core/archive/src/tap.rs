//! The TAP 1.1 service over HTTP (axum): `/tap/sync`, and the VOSI resources
//! `/tap/availability`, `/tap/capabilities` and `/tap/tables`. Errors are VOTable error
//! documents (DALI) with a 4xx status for the caller's mistakes.

use crate::auth::Caller;
use crate::jobs::{Job, JobError, Jobs, Outcome, Runner};
use crate::query::{DEFAULT_MAXREC, EXECUTION_LIMIT, HARD_MAXREC, QueryError, QueryResult};
use crate::store::Archive;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use skyglass_votable::model::Info;
use skyglass_votable::{Serialization, WriteOptions, write_votable};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// Request bodies larger than this are refused (uploads come later, with their own limit).
pub(crate) const MAX_BODY_BYTES: usize = 16 << 20;

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
        Options { login_only: false, upload_limit: crate::user_tables::MOST_BYTES_PER_USER, private_fetches: false }
    }
}

type Shared = State<Arc<Service>>;

/// The TAP service's routes, under `/tap`. Jobs left running by a stopped server are
/// marked as failed here.
pub fn router(archive: Arc<Archive>) -> Result<Router, JobError> {
    router_with(archive, Options::default())
}

/// [`router`] run with `options`.
pub fn router_with(archive: Arc<Archive>, options: Options) -> Result<Router, JobError> {
    let private = options.private_fetches;
    let runner: Runner = Arc::new(move |archive, job, folder| Box::pin(run_job(archive, job, folder, private)));
    let jobs = Arc::new(Jobs::open(Arc::clone(&archive), runner)?);
    let service = Arc::new(Service { archive, jobs, options });
    // The TAP service, also under ESA's server context as TAP+ clients (astroquery) expect.
    let tap = Router::new()
        .route("/sync", get(sync_get).post(sync_post))
        .route("/async", get(crate::uws::list).post(crate::uws::create))
        .route("/async/{id}", get(crate::uws::job).post(crate::uws::job_post).delete(crate::uws::delete))
        .route("/async/{id}/phase", get(crate::uws::phase).post(crate::uws::phase_post))
        .route(
            "/async/{id}/executionduration",
            get(crate::uws::execution_duration).post(crate::uws::execution_duration_post),
        )
        .route("/async/{id}/destruction", get(crate::uws::destruction).post(crate::uws::destruction_post))
        .route("/async/{id}/error", get(crate::uws::error))
        .route("/async/{id}/quote", get(crate::uws::quote))
        .route("/async/{id}/owner", get(crate::uws::owner))
        .route("/async/{id}/parameters", get(crate::uws::parameters).post(crate::uws::job_post))
        .route("/async/{id}/results", get(crate::uws::results))
        .route("/async/{id}/results/result", get(crate::uws::result))
        .route("/availability", get(availability))
        .route("/capabilities", get(capabilities))
        .route("/tables", get(tables))
        .route("/examples", get(examples))
        .route("/login", axum::routing::post(crate::auth::login))
        .route("/logout", axum::routing::post(crate::auth::logout))
        .merge(crate::tapplus::tap_routes());
    // TAP+ clients whose server context is the TAP service's own (TapPlus on `…/tap` with
    // upload and table-edit contexts) find the table tools there too.
    let tap = tap.merge(crate::tapplus::table_tool_routes());
    Ok(Router::new()
        .nest("/tap", tap.clone())
        .nest("/tap-server/tap", tap)
        .merge(crate::tapplus::server_routes())
        .route("/timeseries/{table}", get(timeseries))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&service), crate::auth::identify))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(finish_response))
        .with_state(service))
}

/// Every response names the server (VOSI capabilities checkers look for it); a body refused
/// by the size limit before our handlers saw it still gets an error document.
async fn finish_response(response: Response) -> Response {
    let votable = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-votable+xml"));
    let mut response =
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !votable { too_large() } else { response };
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static(concat!("Skyglass/", env!("CARGO_PKG_VERSION"))));
    response
}

/// An asynchronous job's work: the query, its result written beside the job.
async fn run_job(archive: Arc<Archive>, job: Job, folder: std::path::PathBuf, private_fetches: bool) -> Outcome {
    let request = match parse_request(job.parameters.clone()) {
        Ok(request) => request,
        Err(message) => return Err(message),
    };
    let uploads_folder = folder.join("uploads");
    let uploads = resolve_uploads(&job.parameters, private_fetches, |part| {
        let file = std::fs::File::open(uploads_folder.join(part)).ok()?;
        let mut bytes = Vec::new();
        // One byte past the limit tells an oversize part, without reading all of it.
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_BODY_BYTES as u64 + 1), &mut bytes).ok()?;
        Some(bytes)
    })
    .await?;
    let result = archive
        .query_with_uploads(job.owner.as_deref(), &request.query, request.maxrec, uploads)
        .await
        .map_err(|e| e.to_string())?;
    let body = serialize(&result, request.format, &request.query)?;
    let name = format!("result.{}", request.format.extension());
    std::fs::create_dir_all(&folder).map_err(|e| format!("cannot store the result: {e}"))?;
    let path = folder.join(&name);
    let partial = folder.join(format!("{name}.partial"));
    std::fs::write(&partial, &body)
        .and_then(|()| std::fs::File::open(&partial).and_then(|f| f.sync_all()))
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|e| format!("cannot store the result: {e}"))?;
    Ok((name, request.format.mime().to_owned(), result.rows() as u64))
}

/// The parameters of a query request, checked.
pub(crate) struct QueryRequest {
    pub query: String,
    pub format: Format,
    pub maxrec: usize,
}

/// Checks REQUEST, LANG, QUERY, RESPONSEFORMAT and MAXREC (names case-insensitive, DALI).
pub(crate) fn parse_request(pairs: Vec<(String, String)>) -> Result<QueryRequest, String> {
    let mut params: HashMap<String, String> = HashMap::new();
    for (key, value) in pairs {
        params.entry(key.to_ascii_uppercase()).or_insert(value);
    }
    if let Some(request) = params.get("REQUEST")
        && !request.eq_ignore_ascii_case("doQuery")
    {
        return Err(format!("REQUEST={request} is not supported: use doQuery"));
    }
    match params.get("LANG").map(|l| l.to_ascii_uppercase()) {
        Some(lang) if ["ADQL", "ADQL-2.0", "ADQL-2.1"].contains(&lang.as_str()) => {}
        Some(lang) => return Err(format!("LANG={lang} is not supported: use ADQL")),
        None => return Err("LANG is missing: use LANG=ADQL".into()),
    }
    let Some(query) = params.get("QUERY").filter(|q| !q.trim().is_empty()) else {
        return Err("QUERY is missing".into());
    };
    let format_text = params.get("RESPONSEFORMAT").or_else(|| params.get("FORMAT")).map_or("votable", String::as_str);
    let Some(format) = Format::parse(format_text) else {
        return Err(format!(
            "RESPONSEFORMAT={format_text} is not supported: use votable, votable/b2, csv, tsv, json or parquet"
        ));
    };
    let maxrec = match params.get("MAXREC") {
        None => DEFAULT_MAXREC,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(HARD_MAXREC).min(HARD_MAXREC),
            _ => return Err(format!("MAXREC={text} is not a count of rows")),
        },
    };
    Ok(QueryRequest { query: query.clone(), format, maxrec })
}

async fn sync_get(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    run_sync(&service.archive, &caller, params, service.options.private_fetches).await
}

async fn sync_post(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    request: axum::extract::Request,
) -> Response {
    let (params, parts) = match read_post(request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let uploads = match resolve_uploads(&params, service.options.private_fetches, |name| parts.get(name).cloned()).await
    {
        Ok(uploads) => uploads,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, &message),
    };
    run_sync_with(&service.archive, &caller, params, uploads).await
}

/// A POST's parameters (form-encoded or multipart), and the bytes of its file parts by name;
/// or the error document to answer with.
pub(crate) async fn read_post(
    request: axum::extract::Request,
) -> Result<(Vec<(String, String)>, HashMap<String, Vec<u8>>), Response> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await?;
    read_post_body(axum::extract::Request::from_parts(parts, axum::body::Body::from(body)))
        .await
        .map_err(|message| error_response(StatusCode::BAD_REQUEST, &message))
}

/// Bodies past the limit are still read, up to this much, before the refusal: clients that
/// send the whole body before they listen then get the error document, not a broken pipe.
const DRAIN_LIMIT: usize = 4 * MAX_BODY_BYTES;

/// A request body, whole, or the 413 error document when it is over the limit.
pub(crate) async fn read_body(body: axum::body::Body) -> Result<Bytes, Response> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| error_response(StatusCode::BAD_REQUEST, &format!("unreadable request: {e}")))?;
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

fn too_large() -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the request is larger than the {} MiB this service accepts", MAX_BODY_BYTES >> 20),
    )
}

/// A form body read with [`read_body`]: the extractor for UWS's POSTs.
pub struct FormBody(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormBody {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, _state: &S) -> Result<FormBody, Response> {
        read_body(request.into_body()).await.map(FormBody)
    }
}

async fn read_post_body(
    request: axum::extract::Request,
) -> Result<(Vec<(String, String)>, HashMap<String, Vec<u8>>), String> {
    use axum::extract::FromRequest;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut params = Vec::new();
    let mut parts = HashMap::new();
    if content_type.starts_with("multipart/form-data") {
        let mut request = request;
        if let Some(quoted) = quoted_boundary(&content_type) {
            request.headers_mut().insert(header::CONTENT_TYPE, quoted);
        }
        let mut multipart = axum::extract::Multipart::from_request(request, &())
            .await
            .map_err(|e| format!("unreadable multipart request: {e}"))?;
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
        return Ok((params, parts));
    }
    if !content_type.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(format!("send the parameters as a form (urlencoded or multipart), not {content_type}"));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| format!("unreadable request body: {e}"))?;
    params = serde_urlencoded_pairs(&body)?;
    Ok((params, parts))
}

/// The Content-Type with its boundary quoted, when it needs quotes and has none: TAP+
/// clients send `boundary====1700000000000===`, which a strict parser refuses.
pub(crate) fn quoted_boundary(content_type: &str) -> Option<HeaderValue> {
    let (before, boundary) = content_type.split_once("boundary=")?;
    let boundary = boundary.split(';').next().unwrap_or("").trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$&-^_`|~.+'*%".contains(c);
    if boundary.starts_with('"') || boundary.chars().all(token) {
        return None;
    }
    HeaderValue::from_str(&format!("{before}boundary=\"{boundary}\"")).ok()
}

/// The tables named by UPLOAD (`name,param:part` or `name,http(s)://…`, `;`-separated),
/// read as VOTable, or CSV when they are not XML.
pub(crate) async fn resolve_uploads(
    params: &[(String, String)],
    private_fetches: bool,
    part: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<(String, skyglass_votable::TableData)>, String> {
    let Some((_, upload)) = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("UPLOAD")) else {
        return Ok(Vec::new());
    };
    let mut tables = Vec::new();
    for item in upload.split(';').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((name, uri)) = item.split_once(',') else {
            return Err(format!("UPLOAD={item}: expected NAME,URI"));
        };
        let name = name.trim();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("UPLOAD table name {name:?} is not an ADQL identifier"));
        }
        let uri = uri.trim();
        let bytes = if let Some(part_name) = uri.strip_prefix("param:") {
            // A part's name names a file of a job's uploads: never a path of any other file.
            if !crate::uws::is_safe_part(part_name) {
                return Err(format!("UPLOAD {name}: {part_name:?} is not a part name"));
            }
            part(part_name).ok_or_else(|| format!("UPLOAD {name}: no part named {part_name} in the request"))?
        } else if uri.starts_with("http://") || uri.starts_with("https://") {
            fetch(uri, MAX_BODY_BYTES as u64, private_fetches)
                .await
                .map_err(|e| format!("UPLOAD {name}: cannot fetch {uri}: {e}"))?
        } else {
            return Err(format!("UPLOAD {name}: {uri} is neither param:PART nor an http(s) URL"));
        };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(format!("UPLOAD {name} is larger than {} MiB", MAX_BODY_BYTES >> 20));
        }
        let trimmed = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).trim_start().to_owned();
        let format = if trimmed.starts_with('<') {
            skyglass_votable::TableFormat::VoTable
        } else {
            skyglass_votable::TableFormat::Csv
        };
        let data = skyglass_votable::read_table(std::io::Cursor::new(bytes), format)
            .map_err(|e| format!("UPLOAD {name} is not a table: {e}"))?;
        tables.push((name.to_owned(), data));
    }
    Ok(tables)
}

/// The body at `url`, refused once it passes `limit` bytes. The service fetches on its
/// callers' behalf, so hosts of its own network (loopback, private, link-local) are refused
/// unless the service allows them, the address checked is the one connected to, and
/// redirects are not followed.
pub(crate) async fn fetch(url: &str, limit: u64, private_hosts: bool) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL names no host")?.to_owned();
    let port = parsed.port_or_known_default().ok_or("the URL names no port")?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((bare_host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let Some(address) = addresses.iter().find(|a| private_hosts || is_public(a.ip())).copied() else {
        return Err(format!("{host} is a host of the service's own network, which it does not fetch from"));
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&bare_host, address)
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if response.status().is_redirection() {
        return Err(format!("HTTP {}: give the URL it redirects to", response.status()));
    }
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(format!("larger than the {} MiB this service takes", limit >> 20));
        }
    }
    Ok(body)
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// unspecified, multicast, or an IPv6 unique-local or mapped one of those).
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(std::net::IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Form-encoded pairs, decoded.
pub(crate) fn serde_urlencoded_pairs(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    if std::str::from_utf8(body).is_err() {
        return Err("the request body is not UTF-8".to_owned());
    }
    Ok(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

/// The output formats of RESPONSEFORMAT, with their aliases.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Format {
    VoTable,
    VoTableBinary2,
    Csv,
    Tsv,
    Parquet,
    Json,
}

impl Format {
    fn parse(text: &str) -> Option<Format> {
        let lower = text.trim().to_ascii_lowercase();
        let base = lower.split(';').next().unwrap_or("").trim();
        Some(match base {
            // votable_plain and votable_gzip: ESA's TAP+ names (a client reads either plain).
            "votable"
            | "application/x-votable+xml"
            | "text/xml"
            | "votable/td"
            | "application/xml"
            | "votable_plain"
            | "votable_gzip" => {
                if lower.contains("serialization=binary2") {
                    Format::VoTableBinary2
                } else {
                    Format::VoTable
                }
            }
            "votable/b2" | "votable/binary2" => Format::VoTableBinary2,
            "csv" | "text/csv" => Format::Csv,
            "tsv" | "text/tab-separated-values" => Format::Tsv,
            "parquet" | "application/vnd.apache.parquet" | "application/x-parquet" => Format::Parquet,
            "json" | "application/json" => Format::Json,
            _ => return None,
        })
    }

    fn extension(self) -> &'static str {
        match self {
            Format::VoTable | Format::VoTableBinary2 => "vot",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Json => "json",
        }
    }

    fn mime(self) -> &'static str {
        match self {
            Format::VoTable => "application/x-votable+xml",
            Format::VoTableBinary2 => "application/x-votable+xml;serialization=BINARY2",
            Format::Csv => "text/csv",
            Format::Tsv => "text/tab-separated-values",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Json => "application/json",
        }
    }
}

async fn run_sync(archive: &Archive, caller: &Caller, pairs: Vec<(String, String)>, private_fetches: bool) -> Response {
    let uploads = match resolve_uploads(&pairs, private_fetches, |_| None).await {
        Ok(uploads) => uploads,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, &message),
    };
    run_sync_with(archive, caller, pairs, uploads).await
}

async fn run_sync_with(
    archive: &Archive,
    caller: &Caller,
    pairs: Vec<(String, String)>,
    uploads: Vec<(String, skyglass_votable::TableData)>,
) -> Response {
    let request = match parse_request(pairs) {
        Ok(request) => request,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, &message),
    };
    match archive.query_with_uploads(caller.0.as_deref(), &request.query, request.maxrec, uploads).await {
        Ok(result) => result_response(&result, request.format, &request.query),
        Err(error @ QueryError::Execution(_)) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        Err(error) => error_response(StatusCode::BAD_REQUEST, &error.to_string()),
    }
}

fn result_response(result: &QueryResult, format: Format, query: &str) -> Response {
    let body = match serialize(result, format, query) {
        Ok(body) => body,
        Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.mime()));
    response
}

/// A result in the asked format.
fn serialize(result: &QueryResult, format: Format, query: &str) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let written: Result<(), String> = match format {
        Format::VoTable | Format::VoTableBinary2 => {
            let options = WriteOptions {
                infos_before: vec![info("QUERY_STATUS", "OK", None), info("QUERY", query, None)],
                infos_after: if result.overflow { vec![info("QUERY_STATUS", "OVERFLOW", None)] } else { vec![] },
                ..WriteOptions::default()
            };
            let serialization =
                if format == Format::VoTable { Serialization::TableData } else { Serialization::Binary2 };
            write_votable(&mut body, &result.schema, &result.batches, serialization, &options)
                .map_err(|e| e.to_string())
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut writer = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .with_delimiter(delimiter)
                .build(&mut body);
            result.batches.iter().try_for_each(|batch| writer.write(batch)).map_err(|e| e.to_string())
        }
        Format::Parquet => {
            let mut write = || -> Result<(), parquet::errors::ParquetError> {
                let mut writer = parquet::arrow::ArrowWriter::try_new(&mut body, result.schema.clone(), None)?;
                for batch in &result.batches {
                    writer.write(batch)?;
                }
                writer.close()?;
                Ok(())
            };
            write().map_err(|e| e.to_string())
        }
        Format::Json => {
            json_result(result).and_then(|value| serde_json::to_writer(&mut body, &value).map_err(|e| e.to_string()))
        }
    };
    written.map_err(|message| format!("cannot write the result: {message}"))?;
    Ok(body)
}

/// A result as JSON: `metadata` (name, datatype, unit, UCD, description per column) and
/// `data` (rows as arrays; numbers as numbers, NaN and nulls as null).
fn json_result(result: &QueryResult) -> Result<serde_json::Value, String> {
    use datafusion::arrow::array::{Array, BooleanArray, Float64Array};
    use datafusion::arrow::datatypes::DataType;
    use serde_json::{Value, json};
    let metadata: Vec<Value> = result
        .schema
        .fields()
        .iter()
        .map(|field| {
            let get = |key: &str| field.metadata().get(key).cloned();
            let (datatype, arraysize) = crate::ingest::votable_datatype(field.data_type());
            json!({
                "name": field.name(),
                "datatype": datatype,
                "arraysize": arraysize,
                "unit": get("unit"),
                "ucd": get("ucd"),
                "description": get("description"),
            })
        })
        .collect();
    let mut data: Vec<Value> = Vec::with_capacity(result.rows());
    for batch in &result.batches {
        let columns: Vec<Box<dyn Fn(usize) -> Value>> = batch
            .columns()
            .iter()
            .map(|column| -> Result<Box<dyn Fn(usize) -> Value>, String> {
                let column = column.clone();
                if column.data_type().is_numeric() {
                    let numbers =
                        datafusion::arrow::compute::cast(&column, &DataType::Float64).map_err(|e| e.to_string())?;
                    let numbers = numbers.as_any().downcast_ref::<Float64Array>().cloned().ok_or("not numbers")?;
                    let integral = column.data_type().is_integer();
                    return Ok(Box::new(move |row| {
                        if numbers.is_null(row) || !numbers.value(row).is_finite() {
                            Value::Null
                        } else if integral {
                            json!(numbers.value(row) as i64)
                        } else {
                            json!(numbers.value(row))
                        }
                    }));
                }
                if let Some(booleans) = column.as_any().downcast_ref::<BooleanArray>().cloned() {
                    return Ok(Box::new(
                        move |row| if booleans.is_null(row) { Value::Null } else { json!(booleans.value(row)) },
                    ));
                }
                let strings = datafusion::arrow::compute::cast(&column, &DataType::Utf8).map_err(|e| e.to_string())?;
                let strings = strings
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::StringArray>()
                    .cloned()
                    .ok_or("not text")?;
                Ok(Box::new(move |row| if strings.is_null(row) { Value::Null } else { json!(strings.value(row)) }))
            })
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            data.push(Value::Array(columns.iter().map(|cell| cell(row)).collect()));
        }
    }
    Ok(json!({ "metadata": metadata, "data": data, "overflow": result.overflow }))
}

fn info(name: &str, value: &str, content: Option<&str>) -> Info {
    Info { name: name.to_owned(), value: value.to_owned(), id: None, content: content.map(str::to_owned) }
}

/// A DALI error document: a VOTable whose RESOURCE holds QUERY_STATUS=ERROR and the reason.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\">\n\
         <INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n\
         </RESOURCE>\n\
         </VOTABLE>\n",
        xml_escape(message)
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-votable+xml"));
    response
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub(crate) fn xml_response(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

async fn availability() -> Response {
    xml_response(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n\
         <vosi:available>true</vosi:available>\n\
         <vosi:note>Skyglass archive: accepting queries</vosi:note>\n\
         </vosi:availability>\n"
            .to_owned(),
    )
}

async fn capabilities(State(service): Shared, headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let mut xml = String::new();
    let _ = write!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\" \
xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" xmlns:tr=\"http://www.ivoa.net/xml/TAPRegExt/v1.0\">
  <capability standardID=\"ivo://ivoa.net/std/TAP\" xsi:type=\"tr:TableAccess\">
    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.1\">
      <accessURL use=\"base\">{base}/tap</accessURL>
    </interface>
    <language>
      <name>ADQL</name>
      <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.0\">2.0</version>
      <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>
      <description>ADQL 2.1; geometry: CONTAINS and INTERSECTS of any two of POINT, CIRCLE, BOX and POLYGON (concave ones too), DISTANCE, COORD1, COORD2, AREA (geometry values are arguments of these, not result columns); COALESCE; bitwise operators and hexadecimal literals</description>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adqlgeo\">
        <feature><form>POINT</form></feature>
        <feature><form>CIRCLE</form></feature>
        <feature><form>BOX</form></feature>
        <feature><form>POLYGON</form></feature>
        <feature><form>CONTAINS</form></feature>
        <feature><form>INTERSECTS</form></feature>
        <feature><form>DISTANCE</form></feature>
        <feature><form>COORD1</form></feature>
        <feature><form>COORD2</form></feature>
        <feature><form>AREA</form></feature>
      </languageFeatures>
      <!-- COALESCE is supported too; the features-adql-conditional key is left out because
           taplint 3.4 (Debian's) does not know it yet and reports it as an error. -->
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-string\">
        <feature><form>LOWER</form></feature>
        <feature><form>UPPER</form></feature>
        <feature><form>ILIKE</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-sets\">
        <feature><form>UNION</form></feature>
        <feature><form>EXCEPT</form></feature>
        <feature><form>INTERSECT</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-common-table\">
        <feature><form>WITH</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-type\">
        <feature><form>CAST</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-unit\">
        <feature><form>IN_UNIT</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-offset\">
        <feature><form>OFFSET</form></feature>
      </languageFeatures>
    </language>
    <outputFormat ivo-id=\"ivo://ivoa.net/std/TAPRegExt#output-votable-td\">
      <mime>application/x-votable+xml</mime><alias>votable</alias>
    </outputFormat>
    <outputFormat ivo-id=\"ivo://ivoa.net/std/TAPRegExt#output-votable-binary2\">
      <mime>application/x-votable+xml;serialization=BINARY2</mime><alias>votable/b2</alias>
    </outputFormat>
    <outputFormat><mime>text/csv</mime><alias>csv</alias></outputFormat>
    <outputFormat><mime>text/tab-separated-values</mime><alias>tsv</alias></outputFormat>
    <outputFormat><mime>application/vnd.apache.parquet</mime><alias>parquet</alias></outputFormat>
    <outputFormat><mime>application/json</mime><alias>json</alias></outputFormat>
    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-inline\"/>
    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-http\"/>
    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-https\"/>
    <executionDuration><default>{limit}</default><hard>{limit}</hard></executionDuration>
    <outputLimit><default unit=\"row\">{default}</default><hard unit=\"row\">{hard}</hard></outputLimit>
    <uploadLimit><hard unit=\"byte\">{upload}</hard></uploadLimit>
  </capability>
  <capability standardID=\"ivo://skyglass/archive#user-tables\">
    <description>Users' own tables (ESA TAP+): at most {tables} tables and {quota} MiB per user; one upload up to {upload_mib} MiB</description>
    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"base\">{base}/tap-server/Upload</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/VOSI#capabilities\">
    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">{base}/tap/capabilities</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/VOSI#availability\">
    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">{base}/tap/availability</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/DALI#examples\">
    <interface xsi:type=\"vr:WebBrowser\"><accessURL use=\"full\">{base}/tap/examples</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/VOSI#tables-1.1\">
    <interface xsi:type=\"vs:ParamHTTP\" version=\"1.1\"><accessURL use=\"full\">{base}/tap/tables</accessURL></interface>
  </capability>
</vosi:capabilities>
",
        limit = EXECUTION_LIMIT.as_secs(),
        default = DEFAULT_MAXREC,
        hard = HARD_MAXREC,
        upload = MAX_BODY_BYTES,
        upload_mib = service.options.upload_limit >> 20,
        tables = crate::user_tables::MOST_TABLES_PER_USER,
        quota = crate::user_tables::MOST_BYTES_PER_USER >> 20,
    );
    xml_response(xml)
}

/// The service's base URL as the client reached it (`Host`, and `X-Forwarded-Proto` as a
/// reverse proxy or our own TLS listener sets it), for self-references.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let https = headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// Queries to start from, as DALI examples (XHTML with RDFa).
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "cone",
        "Bright stars within a degree of the Orion Nebula",
        "SELECT hip, ra, dec, hpmag FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.82, -5.39, 1)) ORDER BY hpmag",
    ),
    (
        "distance",
        "The ten Messier objects nearest to M 31 on the sky",
        "SELECT TOP 10 name, messier, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 10.6848, 41.2691)) AS separation FROM catalogs.openngc WHERE messier IS NOT NULL ORDER BY separation",
    ),
    (
        "tables",
        "The tables of this service and their descriptions",
        "SELECT table_name, description FROM TAP_SCHEMA.tables",
    ),
];

async fn examples() -> Response {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head><title>Skyglass archive: examples</title></head>\n\
         <body vocab=\"http://www.ivoa.net/rdf/examples#\">\n<h1>Examples</h1>\n",
    );
    for (id, name, query) in EXAMPLES {
        let _ = writeln!(
            html,
            "<div typeof=\"example\" id=\"{id}\" resource=\"#{id}\">\n  <h2 property=\"name\">{}</h2>\n  <pre property=\"query\">{}</pre>\n</div>",
            xml_escape(name),
            xml_escape(query)
        );
    }
    html.push_str("</body>\n</html>\n");
    let mut response = (StatusCode::OK, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xhtml+xml"));
    response
}

/// `/timeseries/{schema.table}?x=…&y=…[&start&end&width&method&format]`: a series
/// downsampled for a plot (see `timeseries.rs`), as JSON or VOTable.
async fn timeseries(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    axum::extract::Path(table): axum::extract::Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    use crate::timeseries::{Method, SeriesRequest};
    let param = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let number = |name: &str| -> Result<Option<f64>, String> {
        param(name).map(|v| v.parse::<f64>().map_err(|_| format!("{name} must be a number, not {v:?}"))).transpose()
    };
    let votable = matches!(param("format"), Some("votable" | "application/x-votable+xml"));
    let refuse = |status: StatusCode, message: &str| {
        if votable {
            error_response(status, message)
        } else {
            let mut response = (status, serde_json::json!({ "error": message }).to_string()).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    };
    let request = (|| -> Result<SeriesRequest, String> {
        let table = crate::store::TableName::parse(&table).map_err(|e| e.to_string())?;
        let x = param("x").ok_or("name the time column: x=COLUMN")?.to_owned();
        let y = param("y").ok_or("name the columns to plot: y=COLUMN[,COLUMN…]")?;
        let width = match param("width") {
            Some(v) => v.parse().map_err(|_| format!("width must be a whole number of pixels, not {v:?}"))?,
            None => 1000,
        };
        let method = match param("method").map(str::to_ascii_lowercase).as_deref() {
            None | Some("minmaxlttb") => Method::MinMaxLttb,
            Some("lttb") => Method::Lttb,
            Some(other) => return Err(format!("method is lttb or minmaxlttb, not {other:?}")),
        };
        Ok(SeriesRequest {
            table,
            x,
            y: y.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
            start: number("start")?,
            end: number("end")?,
            width,
            method,
        })
    })();
    let request = match request {
        Ok(request) => request,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message),
    };
    let found =
        match tokio::time::timeout(EXECUTION_LIMIT, service.archive.timeseries(&request, caller.0.as_deref())).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                let status =
                    if error.is_user_error() { StatusCode::BAD_REQUEST } else { StatusCode::INTERNAL_SERVER_ERROR };
                return refuse(status, &error.to_string());
            }
            Err(_) => return refuse(StatusCode::SERVICE_UNAVAILABLE, "the series took too long to read"),
        };
    if votable {
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
             <RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE>\n\
             <FIELD name=\"series\" datatype=\"char\" arraysize=\"*\"/>\n",
        );
        let _ = writeln!(xml, "<FIELD name=\"{}\" datatype=\"double\"/>", xml_escape(&request.x));
        xml.push_str("<FIELD name=\"value\" datatype=\"double\"/>\n<DATA><TABLEDATA>\n");
        for series in &found.series {
            for (x, y) in series.x.iter().zip(&series.y) {
                let _ = writeln!(xml, "<TR><TD>{}</TD><TD>{x:?}</TD><TD>{y:?}</TD></TR>", xml_escape(&series.name));
            }
        }
        xml.push_str("</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n");
        let mut response = xml.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-votable+xml"));
        return response;
    }
    let body = serde_json::json!({
        "table": request.table.qualified(),
        "x": request.x,
        "start": found.start,
        "end": found.end,
        "rows": found.rows,
        "width": request.width,
        "method": if request.method == Method::Lttb { "lttb" } else { "minmaxlttb" },
        "series": found.series.iter().map(|s| serde_json::json!({ "name": s.name, "x": s.x, "y": s.y })).collect::<Vec<_>>(),
    });
    let mut response = body.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// VOSI tables: those the caller may read. TAP+'s parameters are understood: `tables=A,B`
/// (only these), `only_tables=true` (no columns); under `/tap-server` every column carries
/// `esatapplus:flags` (its client requires it) and every table `esatapplus:size_bytes`.
async fn tables(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    // The TAP+ attributes only where TAP+ clients look: VODataService's schema allows no
    // foreign attributes, and VOSI validators (taplint) check /tap/tables against it.
    let tap_plus = uri.path().starts_with("/tap-server/");
    let param = |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let mut tables = match service.archive.tables_for(caller.0.as_deref()) {
        Ok(tables) => tables,
        Err(error) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    };
    if let Some(wanted) = param("tables") {
        let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
        tables.retain(|t| wanted.iter().any(|w| w.eq_ignore_ascii_case(&t.qualified())));
    }
    let only_tables = param("only_tables").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let positions = service.archive.indexed_tables().unwrap_or_default();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\"{}>\n",
        if tap_plus { " xmlns:esatapplus=\"http://esa.int/xml/EsaTapPlus\"" } else { "" }
    );
    let mut schema = None;
    for table in &tables {
        if schema.as_deref() != Some(table.schema.as_str()) {
            if schema.is_some() {
                xml.push_str("  </schema>\n");
            }
            let _ = writeln!(xml, "  <schema>\n    <name>{}</name>", xml_escape(&table.schema));
            schema = Some(table.schema.clone());
        }
        let size = if tap_plus {
            let bytes = crate::store::TableName::parse(&table.qualified())
                .ok()
                .and_then(|name| std::fs::metadata(service.archive.parquet_path(&name)).ok())
                .map_or(0, |m| m.len());
            format!(" esatapplus:size_bytes=\"{bytes}\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            xml,
            "    <table type=\"table\"{size}>\n      <name>{}</name>\n      <description>{}</description>",
            xml_escape(&table.qualified()),
            xml_escape(&table.description)
        );
        let position = positions.get(&table.qualified()).map(|t| (t.ra.clone(), t.dec.clone()));
        for column in table.columns.iter().filter(|_| !only_tables) {
            let arraysize = column.arraysize.as_deref().map(|a| format!(" arraysize=\"{a}\"")).unwrap_or_default();
            let _ = write!(
                xml,
                "      <column{}>\n        <name>{}</name>\n        <description>{}</description>\n",
                if tap_plus {
                    format!(" esatapplus:flags=\"{}\"", crate::tapplus::column_flags(position.as_ref(), &column.name))
                } else {
                    String::new()
                },
                xml_escape(&column.name),
                xml_escape(&column.description)
            );
            if !column.unit.is_empty() {
                let _ = writeln!(xml, "        <unit>{}</unit>", xml_escape(&column.unit));
            }
            if !column.ucd.is_empty() {
                let _ = writeln!(xml, "        <ucd>{}</ucd>", xml_escape(&column.ucd));
            }
            let _ = writeln!(
                xml,
                "        <dataType xsi:type=\"vs:VOTableType\"{arraysize}>{}</dataType>",
                column.datatype
            );
            if column.indexed {
                xml.push_str("        <flag>indexed</flag>\n");
            }
            xml.push_str("      </column>\n");
        }
        for (_, from, from_column, target, target_column) in crate::store::TAP_SCHEMA_KEYS {
            if *from == table.qualified() {
                let _ = writeln!(
                    xml,
                    "      <foreignKey>\n        <targetTable>{target}</targetTable>\n        <fkColumn>\n          \
                     <fromColumn>{from_column}</fromColumn>\n          <targetColumn>{target_column}</targetColumn>\n        \
                     </fkColumn>\n      </foreignKey>"
                );
            }
        }
        xml.push_str("    </table>\n");
    }
    if schema.is_some() {
        xml.push_str("  </schema>\n");
    }
    xml.push_str("</vosi:tableset>\n");
    xml_response(xml)
}

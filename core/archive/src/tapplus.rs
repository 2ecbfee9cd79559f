//! ESA's TAP+ extensions, as astroquery's TapPlus (and `astroquery.gaia`) speak them: the
//! server context `/tap-server` with `login`, `logout`, `Upload` and `TableTool` (and the
//! context itself, where a TapPlus without those contexts sends them), and beside the TAP
//! service `share` (groups and shared tables), `users`, `deletejobs`, `jobs/async` and
//! `notification`. What the client sends and parses is set out in TAPPLUS.md of the project's
//! shared notes; bodies here are parsed as leniently as that client writes them (the share
//! and deletejobs bodies are not URL-encoded).

use crate::auth::Caller;
use crate::store::ArchiveError;
use crate::tap::{Service, error_response, read_post, xml_escape, xml_response};
use crate::user_tables::SpooledFile;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

type Shared = State<Arc<Service>>;

/// The server context's own routes, under `/tap-server`.
pub fn server_routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/tap-server/login", post(crate::auth::login))
        .route("/tap-server/logout", post(crate::auth::logout))
        // Uploads have a limit of their own (Options::upload_limit), spooled to disk.
        .route("/tap-server", post(user_table_request).layer(DefaultBodyLimit::disable()))
        .route("/tap-server/Upload", post(user_table_request).layer(DefaultBodyLimit::disable()))
        .route("/tap-server/TableTool", post(user_table_request).layer(DefaultBodyLimit::disable()))
        // astroquery.gaia logs into its data server too, and logs out of both if that fails.
        .route("/data-server/login", post(crate::auth::login))
        .route("/data-server/logout", post(crate::auth::logout))
}

/// The upload and table-edit resources, relative to a context.
pub fn table_tool_routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/Upload", post(user_table_request).layer(DefaultBodyLimit::disable()))
        .route("/TableTool", post(user_table_request).layer(DefaultBodyLimit::disable()))
}

/// The TAP+ resources beside a TAP service's own, relative to it.
pub fn tap_routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/share", get(share_get).post(share_post))
        .route("/users", get(users))
        .route("/deletejobs", post(delete_jobs))
        .route("/jobs/async", get(search_jobs))
        .route("/notification", get(|| async { (StatusCode::OK, "") }))
}

fn not_logged_in() -> Response {
    error_response(StatusCode::UNAUTHORIZED, "log in first")
}

/// An archive error as the caller's fault (400) or the service's (500).
/// The service's own failures are logged whole and answered without the server's paths.
fn archive_error(error: &ArchiveError) -> Response {
    let service_failure = |what: &str| {
        tracing::error!(%error, "a table request failed");
        error_response(StatusCode::INTERNAL_SERVER_ERROR, &format!("{what} (the server's log has the details)"))
    };
    match error {
        ArchiveError::Io { source, .. } | ArchiveError::Ingest(crate::IngestError::Io { source, .. }) => {
            service_failure(&format!("the archive's storage failed: {source}"))
        }
        ArchiveError::Metadata(_) => service_failure("the archive's metadata failed"),
        ArchiveError::Engine(_) => service_failure("the query engine failed"),
        ArchiveError::NoSuchTable(_) => error_response(StatusCode::NOT_FOUND, &error.to_string()),
        _ => error_response(StatusCode::BAD_REQUEST, &error.to_string()),
    }
}

fn text(message: String) -> Response {
    (StatusCode::OK, message).into_response()
}

/// A body of `key=value&…`: form-encoded, or raw as TapPlus writes share requests.
fn raw_pairs(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned())).collect()
}

/// `GET share?action=GetGroups|GetSharedItems`.
async fn share_get(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(user) = caller.0.as_deref() else { return not_logged_in() };
    let action = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("action")).map(|(_, v)| v.as_str());
    match action {
        Some("GetGroups") => match service.archive.groups_for(user) {
            Ok(groups) => {
                let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sharedGroups>\n");
                for group in groups {
                    let _ = writeln!(
                        xml,
                        "  <sharedGroup id=\"{}\" owner=\"{}\">\n    <title>{}</title>\n    <description>{}</description>\n    <users>",
                        group.id,
                        xml_escape(&group.owner),
                        xml_escape(&group.title),
                        xml_escape(&group.description)
                    );
                    for member in &group.members {
                        let member = xml_escape(member);
                        let _ = writeln!(xml, "      <user id=\"{member}\" name=\"{member}\"/>");
                    }
                    xml.push_str("    </users>\n  </sharedGroup>\n");
                }
                xml.push_str("</sharedGroups>\n");
                xml_response(xml)
            }
            Err(error) => archive_error(&error),
        },
        Some("GetSharedItems") => match service.archive.shared_items(user) {
            Ok(items) => {
                let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sharedItems>\n");
                for item in items {
                    let _ = writeln!(
                        xml,
                        "  <sharedItem id=\"{}\" type=\"0\">\n    <title>{}</title>\n    <description>{}</description>\n    <sharedToItems>",
                        item.id,
                        xml_escape(&item.table.qualified()),
                        xml_escape(&item.description)
                    );
                    for group in item.groups {
                        let _ = writeln!(
                            xml,
                            "      <sharedToItem shareTo=\"{group}\" shareType=\"Group\" shareMode=\"Read\"/>"
                        );
                    }
                    xml.push_str("    </sharedToItems>\n  </sharedItem>\n");
                }
                xml.push_str("</sharedItems>\n");
                xml_response(xml)
            }
            Err(error) => archive_error(&error),
        },
        _ => error_response(StatusCode::BAD_REQUEST, "action is GetGroups or GetSharedItems"),
    }
}

/// `POST share`: CreateOrUpdateGroup, RemoveGroup, CreateOrUpdateItem, RemoveItem.
async fn share_post(State(service): Shared, Extension(caller): Extension<Caller>, body: axum::body::Bytes) -> Response {
    let Some(user) = caller.0.as_deref() else { return not_logged_in() };
    let form = raw_pairs(&body);
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let number = |name: &str| field(name).parse::<i64>().ok();
    let archive = &service.archive;
    let outcome = match field("action") {
        "CreateOrUpdateGroup" => match number("group_id") {
            Some(id) => {
                let members: Option<Vec<String>> = form
                    .get("users_list")
                    .map(|list| list.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned).collect());
                archive
                    .update_group(user, id, field("title"), field("description"), members.as_deref())
                    .map(|()| format!("Group {id} updated"))
            }
            None => {
                archive.create_group(user, field("title"), field("description")).map(|id| format!("Group {id} created"))
            }
        },
        "RemoveGroup" => match number("group_id") {
            Some(id) => archive.delete_group(user, id).map(|()| format!("Group {id} removed")),
            None => Err(ArchiveError::Invalid("name the group: group_id".into())),
        },
        "CreateOrUpdateItem" => (|| {
            let table = archive.user_table_name(user, field("title"))?;
            let mut groups = Vec::new();
            for target in field("items_list").split([',', ';']).map(str::trim).filter(|t| !t.is_empty()) {
                let mut parts = target.split('|');
                let id = parts.next().and_then(|id| id.trim().parse::<i64>().ok());
                let kind = parts.next().unwrap_or("Group");
                match id {
                    Some(id) if kind.eq_ignore_ascii_case("Group") => groups.push(id),
                    _ => {
                        return Err(ArchiveError::Invalid(format!(
                            "{target:?}: tables are shared with groups, as GROUP_ID|Group|Read"
                        )));
                    }
                }
            }
            let id = archive.share_table(user, &table, field("description"), &groups)?;
            Ok(format!("Shared {} as item {id}", table.qualified()))
        })(),
        "RemoveItem" => match number("resource_id") {
            Some(id) => archive.stop_sharing(user, id).map(|()| format!("Item {id} no longer shared")),
            None => Err(ArchiveError::Invalid("name the shared item: resource_id".into())),
        },
        other => Err(ArchiveError::Invalid(format!(
            "action {other:?}: use CreateOrUpdateGroup, RemoveGroup, CreateOrUpdateItem or RemoveItem"
        ))),
    };
    match outcome {
        Ok(message) => text(message),
        Err(error) => archive_error(&error),
    }
}

/// `GET users?USER=name`: `name:name` when such a user exists (for adding to groups).
async fn users(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if caller.0.is_none() {
        return not_logged_in();
    }
    let wanted = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("user")).map(|(_, v)| v.trim()).unwrap_or("");
    match service.archive.users() {
        Ok(users) if users.iter().any(|u| u == wanted) => text(format!("{wanted}:{wanted}")),
        Ok(_) => text(String::new()),
        Err(error) => archive_error(&error),
    }
}

/// `POST deletejobs` with `JOB_IDS=a,b`: the caller's jobs among them are deleted.
async fn delete_jobs(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Response {
    let form = raw_pairs(&body);
    let ids = form.get("job_ids").map(String::as_str).unwrap_or("");
    let mut deleted = 0;
    for id in ids.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        // Another's job does not exist for this caller, as everywhere else.
        if service.jobs.owner(id) == caller.0 && service.jobs.delete(id).is_ok() {
            deleted += 1;
        }
    }
    text(format!("{deleted} jobs deleted"))
}

/// `GET jobs/async?[phase=…][&limit&offset]`: the caller's jobs, newest first, described whole.
async fn search_jobs(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let phases: Vec<crate::jobs::Phase> =
        param("phase").map(|p| p.split(',').filter_map(crate::jobs::Phase::parse).collect()).unwrap_or_default();
    let mut jobs = match service.jobs.list(caller.0.as_deref(), &phases, None, None) {
        Ok(jobs) => jobs,
        Err(error) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
    };
    jobs.reverse();
    let offset = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0usize).min(jobs.len());
    jobs.drain(..offset);
    if let Some(limit) = param("limit").and_then(|v| v.parse::<usize>().ok()) {
        jobs.truncate(limit);
    }
    // Whole job descriptions, not UWS job references: TAP+ clients read each job's jobId.
    let base = crate::tap::base_url(&headers);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:jobs xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\">\n",
    );
    for job in &jobs {
        let whole = crate::uws::job_xml(job, &base);
        xml.push_str(whole.split_once("?>\n").map_or(whole.as_str(), |(_, element)| element));
    }
    xml.push_str("</uws:jobs>\n");
    xml_response(xml)
}

/// `POST` to the server context, `Upload` or `TableTool`: with ACTION, a table edit
/// (`edit`: columns' flags and UCDs; `radec`: the position columns; `rename` to
/// NEW_TABLE_NAME; `describe` with TABLE_DESC); with DELETE=TRUE a
/// deletion; otherwise an upload from the FILE part, a URL, or a job's result (JOBID).
async fn user_table_request(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    request: axum::extract::Request,
) -> Response {
    let Some(user) = caller.0.clone() else {
        // Nothing kept for anonymous callers, but read on a while: a client still sending
        // when the answer comes would see a broken connection rather than the answer.
        drain(request.into_body()).await;
        return not_logged_in();
    };
    let (params, file) = match read_table_post(&service, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let field = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let archive = &service.archive;
    let outcome: Result<String, ArchiveError> = if let Some(action) = field("ACTION") {
        match action.to_ascii_lowercase().as_str() {
            "radec" => match (field("TABLE_NAME"), field("RA"), field("DEC")) {
                (Some(table), Some(ra), Some(dec)) => archive
                    .set_position_columns(&user, table, ra, dec)
                    .await
                    .map(|()| format!("{table}: positions in {ra}, {dec}")),
                _ => Err(ArchiveError::Invalid("radec needs TABLE_NAME, RA and DEC".into())),
            },
            "edit" => edit_table(&service, &user, &params).await,
            "rename" => match (field("TABLE_NAME"), field("NEW_TABLE_NAME")) {
                (Some(table), Some(new_name)) => archive
                    .rename_user_table(&user, table, new_name)
                    .await
                    .map(|()| format!("{table} renamed {new_name}")),
                _ => Err(ArchiveError::Invalid("rename needs TABLE_NAME and NEW_TABLE_NAME".into())),
            },
            "describe" => match field("TABLE_NAME") {
                Some(table) => archive
                    .describe_user_table(&user, table, field("TABLE_DESC").unwrap_or(""))
                    .map(|()| format!("{table} described")),
                None => Err(ArchiveError::Invalid("describe needs TABLE_NAME and TABLE_DESC".into())),
            },
            other => Err(ArchiveError::Invalid(format!("ACTION={other}: use edit, radec, rename or describe"))),
        }
    } else if field("DELETE").is_some_and(|d| d.eq_ignore_ascii_case("true")) {
        match field("TABLE_NAME") {
            Some(table) => archive.delete_user_table(&user, table).await.map(|()| format!("{table} deleted")),
            None => Err(ArchiveError::Invalid("name the table to delete: TABLE_NAME".into())),
        }
    } else {
        upload(&service, &user, &params, file).await
    };
    match outcome {
        Ok(message) => text(message),
        Err(error) => archive_error(&error),
    }
}

/// The longest text field of a table-tool request, and all its text fields together.
const MOST_FIELD_BYTES: usize = 1 << 20;
const MOST_TEXT_BYTES: usize = 16 << 20;

/// Reads a body up to [`DRAIN_BYTES`], keeping nothing.
async fn drain(body: axum::body::Body) {
    use futures_util::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut seen = 0usize;
    while seen < DRAIN_BYTES
        && let Some(Ok(chunk)) = stream.next().await
    {
        seen += chunk.len();
    }
}
/// How much of an upload over the limit is still read before the refusal.
const DRAIN_BYTES: usize = 64 << 20;

/// A table-tool POST: its fields (names upper-cased) and its file part, spooled to disk as
/// it arrives, up to the service's upload limit (413 past it); or the answer to give.
async fn read_table_post(
    service: &Service,
    request: axum::extract::Request,
) -> Result<(HashMap<String, String>, Option<SpooledFile>), Response> {
    use axum::extract::FromRequest;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if !content_type.starts_with("multipart/form-data") {
        let (pairs, _) = read_post(request).await?;
        return Ok((pairs.into_iter().map(|(k, v)| (k.to_ascii_uppercase(), v)).collect(), None));
    }
    let mut request = request;
    if let Some(quoted) = crate::tap::quoted_boundary(&content_type) {
        request.headers_mut().insert(header::CONTENT_TYPE, quoted);
    }
    let bad = |message: String| error_response(StatusCode::BAD_REQUEST, &message);
    let failed = |error: ArchiveError| error_response(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string());
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|e| bad(format!("unreadable request: {e}")))?;
    let limit = service.options.upload_limit;
    let mut params = HashMap::new();
    let mut file = None;
    let mut text_bytes = 0usize;
    while let Some(mut field) =
        multipart.next_field().await.map_err(|e| bad(format!("unreadable multipart part: {e}")))?
    {
        let name = field.name().unwrap_or("").to_ascii_uppercase();
        if field.file_name().is_some() || name == "FILE" {
            let mut spool = SpooledFile::create(&service.archive).await.map_err(failed)?;
            while let Some(chunk) = field.chunk().await.map_err(|e| bad(format!("unreadable part {name}: {e}")))? {
                spool.write(&chunk).await.map_err(failed)?;
                if spool.bytes > limit {
                    drop(spool);
                    // Read on a while (not kept), so a client that sends before it listens
                    // hears the refusal rather than a broken connection.
                    let mut drained = 0usize;
                    while drained < DRAIN_BYTES
                        && let Ok(Some(chunk)) = field.chunk().await
                    {
                        drained += chunk.len();
                    }
                    return Err(error_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!("the table is larger than the {} MiB this service takes in one upload", limit >> 20),
                    ));
                }
            }
            // An empty file part (an upload from a job or a URL) is no file.
            if spool.bytes > 0 {
                file = Some(spool);
            }
        } else {
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| bad(format!("unreadable part {name}: {e}")))? {
                text.extend_from_slice(&chunk);
                text_bytes += chunk.len();
                if text.len() > MOST_FIELD_BYTES || text_bytes > MOST_TEXT_BYTES {
                    return Err(bad(format!(
                        "the field {name} is longer than {} KiB, or the fields together than {} MiB",
                        MOST_FIELD_BYTES >> 10,
                        MOST_TEXT_BYTES >> 20
                    )));
                }
            }
            params.insert(name, String::from_utf8_lossy(&text).into_owned());
        }
    }
    Ok((params, file))
}

async fn upload(
    service: &Service,
    user: &str,
    params: &HashMap<String, String>,
    file: Option<SpooledFile>,
) -> Result<String, ArchiveError> {
    let field = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let name = field("TABLE_NAME").ok_or_else(|| ArchiveError::Invalid("name the table: TABLE_NAME".into()))?;
    let description = field("TABLE_DESC").unwrap_or("");
    let data = if let Some(job_id) = field("JOBID") {
        job_result(service, user, job_id)?
    } else if let Some(url) = field("URL") {
        let bytes = crate::tap::fetch(url, service.options.upload_limit, service.options.private_fetches)
            .await
            .map_err(|e| ArchiveError::Read(format!("cannot fetch {url}: {e}")))?;
        crate::user_tables::read_upload(bytes, field("FORMAT"))?
    } else {
        let file = file.ok_or_else(|| ArchiveError::Invalid("send the table as the file part FILE".into()))?;
        file.read(field("FORMAT").map(str::to_owned)).await?
    };
    let report = service.archive.upload_table(user, name, &data, description, None).await?;
    let table = service.archive.user_table_name(user, name)?;
    Ok(format!("Uploaded {} ({} rows)", table.qualified(), report.rows))
}

/// The result of one of `user`'s completed jobs, as a table.
fn job_result(service: &Service, user: &str, id: &str) -> Result<skyglass_votable::TableData, ArchiveError> {
    let job = service.jobs.get(id).ok().filter(|job| job.owner.as_deref() == Some(user));
    let job = job.ok_or_else(|| ArchiveError::Invalid(format!("you have no job {id}")))?;
    let path = service
        .jobs
        .result_path(&job)
        .ok_or_else(|| ArchiveError::Invalid(format!("job {id} has no result (it is {})", job.phase.name())))?;
    let format = skyglass_votable::TableFormat::from_path(&path)
        .ok_or_else(|| ArchiveError::Read(format!("job {id}'s result is in no table format")))?;
    let file = std::fs::File::open(&path).map_err(|source| ArchiveError::Io { path: format!("job {id}"), source })?;
    skyglass_votable::read_table(std::io::BufReader::new(file), format)
        .map_err(|e| ArchiveError::Read(format!("job {id}'s result: {e}")))
}

/// TableTool's `edit`: each column's UCD, and the columns flagged `Ra` and `Dec` become the
/// table's position columns.
async fn edit_table(service: &Service, user: &str, params: &HashMap<String, String>) -> Result<String, ArchiveError> {
    let field = |name: &str| params.get(name).map(|v| v.trim()).unwrap_or("");
    let table = field("TABLE0");
    if table.is_empty() {
        return Err(ArchiveError::Invalid("name the table: TABLE0".into()));
    }
    let name = service.archive.user_table_name(user, table)?;
    let known = service
        .archive
        .user_tables_of(user)?
        .into_iter()
        .find(|t| t.name == name.name)
        .ok_or_else(|| ArchiveError::NoSuchTable(name.qualified()))?;
    let columns: usize = field("TABLE0_NUMCOLS").parse::<usize>().unwrap_or(0).min(known.columns.len());
    let (mut ra, mut dec) = (None, None);
    for i in 0..columns {
        let column = field(&format!("TABLE0_COL{i}"));
        if column.is_empty() {
            continue;
        }
        if let Some(ucd) = params.get(&format!("TABLE0_COL{i}_UCD")) {
            service.archive.set_column_ucd(&name, column, ucd.trim())?;
        }
        match field(&format!("TABLE0_COL{i}_FLAGS")).to_ascii_lowercase().as_str() {
            "ra" => ra = Some(column.to_ascii_lowercase()),
            "dec" => dec = Some(column.to_ascii_lowercase()),
            _ => {}
        }
    }
    if let (Some(ra), Some(dec)) = (ra, dec)
        && service.archive.position_columns(&name) != Some((ra.clone(), dec.clone()))
    {
        service.archive.set_position_columns(user, table, &ra, &dec).await?;
    }
    Ok(format!("{} updated", name.qualified()))
}

/// The `esatapplus:flags` of a column: 1 for the right ascension and 2 for the declination
/// the table is indexed on, 0 otherwise.
pub(crate) fn column_flags(position: Option<&(String, String)>, column: &str) -> u32 {
    match position {
        Some((ra, _)) if ra == column => 1,
        Some((_, dec)) if dec == column => 2,
        _ => 0,
    }
}

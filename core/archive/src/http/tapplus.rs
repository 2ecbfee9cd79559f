//! ESA's TAP+ extensions, as astroquery's TapPlus (and `astroquery.gaia`) speak them: the
//! server context `/tap-server` with `login`, `logout`, `Upload` and `TableTool` (and the
//! context itself, where a TapPlus without those contexts sends them), and beside the TAP
//! service `share` (groups and shared tables), `users`, `deletejobs`, `jobs/async` and
//! `notification`. What the client sends and parses is set out in TAPPLUS.md of the project's
//! shared notes; bodies here are parsed as leniently as that client writes them (the share
//! and deletejobs bodies are not URL-encoded).

use super::error::{ApiError, ApiResult};
use super::extract::{BaseUrl, Posted, content_type};
use super::format::{xml_escape, xml_response};
use super::{Caller, Service, Shared, blocking};
use crate::store::{Archive, ArchiveError};
use crate::user_tables::SpooledFile;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// The server context's own routes, under `/tap-server`.
pub fn server_routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/tap-server/login", post(super::auth::login))
        .route("/tap-server/logout", post(super::auth::logout))
        // Uploads have a limit of their own (Options::upload_limit), spooled to disk.
        .route("/tap-server", post(user_table_request).layer(DefaultBodyLimit::disable()))
        .route("/tap-server/Upload", post(user_table_request).layer(DefaultBodyLimit::disable()))
        .route("/tap-server/TableTool", post(user_table_request).layer(DefaultBodyLimit::disable()))
        // astroquery.gaia logs into its data server too, and logs out of both if that fails.
        .route("/data-server/login", post(super::auth::login))
        .route("/data-server/logout", post(super::auth::logout))
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

fn not_logged_in() -> ApiError {
    ApiError::unauthorised("log in first")
}

/// The caller's user name, or the refusal of an anonymous caller.
fn logged_in(caller: Caller) -> ApiResult<String> {
    caller.0.ok_or_else(not_logged_in)
}

/// Runs `work` on the archive off the runtime's threads; its errors are the caller's
/// fault (400, 404) or the service's (500, logged).
async fn with_archive<T: Send + 'static>(
    service: &Arc<Service>,
    work: impl FnOnce(&Archive) -> Result<T, ArchiveError> + Send + 'static,
) -> ApiResult<T> {
    let archive = Arc::clone(&service.archive);
    blocking(move || work(&archive).map_err(ApiError::from)).await
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
) -> ApiResult {
    let user = logged_in(caller)?;
    let action = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("action")).map(|(_, v)| v.as_str());
    match action {
        Some("GetGroups") => {
            let groups = with_archive(&service, move |archive| archive.groups_for(&user)).await?;
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
            Ok(xml_response(xml))
        }
        Some("GetSharedItems") => {
            let items = with_archive(&service, move |archive| archive.shared_items(&user)).await?;
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
            Ok(xml_response(xml))
        }
        _ => Err(ApiError::bad_request("action is GetGroups or GetSharedItems")),
    }
}

/// `POST share`: CreateOrUpdateGroup, RemoveGroup, CreateOrUpdateItem, RemoveItem.
async fn share_post(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> ApiResult {
    let user = logged_in(caller)?;
    let form = raw_pairs(&body);
    let message = with_archive(&service, move |archive| share(archive, &user, &form)).await?;
    Ok(text(message))
}

/// A change of groups or shares by `user`, and what to answer.
fn share(archive: &Archive, user: &str, form: &HashMap<String, String>) -> Result<String, ArchiveError> {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let number = |name: &str| field(name).parse::<i64>().ok();
    match field("action") {
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
        "CreateOrUpdateItem" => {
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
        }
        "RemoveItem" => match number("resource_id") {
            Some(id) => archive.stop_sharing(user, id).map(|()| format!("Item {id} no longer shared")),
            None => Err(ArchiveError::Invalid("name the shared item: resource_id".into())),
        },
        other => Err(ArchiveError::Invalid(format!(
            "action {other:?}: use CreateOrUpdateGroup, RemoveGroup, CreateOrUpdateItem or RemoveItem"
        ))),
    }
}

/// `GET users?USER=name`: `name:name` when such a user exists (for adding to groups).
async fn users(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    logged_in(caller)?;
    let wanted = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let users = with_archive(&service, |archive| archive.users()).await?;
    Ok(text(if users.contains(&wanted) { format!("{wanted}:{wanted}") } else { String::new() }))
}

/// `POST deletejobs` with `JOB_IDS=a,b`: the caller's jobs among them are deleted.
async fn delete_jobs(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> ApiResult {
    let form = raw_pairs(&body);
    let ids: Vec<String> = form
        .get("job_ids")
        .map(|ids| ids.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let jobs = Arc::clone(&service.jobs);
    let deleted = blocking(move || {
        // Another's job does not exist for this caller, as everywhere else.
        Ok(ids.iter().filter(|id| jobs.owner(id) == caller.0 && jobs.delete(id).is_ok()).count())
    })
    .await?;
    Ok(text(format!("{deleted} jobs deleted")))
}

/// `GET jobs/async?[phase=…][&limit&offset]`: the caller's jobs, newest first, described whole.
async fn search_jobs(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    BaseUrl(base): BaseUrl,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let param = |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let phases: Vec<crate::jobs::Phase> =
        param("phase").map(|p| p.split(',').filter_map(crate::jobs::Phase::parse).collect()).unwrap_or_default();
    let store = Arc::clone(&service.jobs);
    let mut jobs = blocking(move || Ok(store.list(caller.0.as_deref(), &phases, None, None)?)).await?;
    jobs.reverse();
    let offset = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0usize).min(jobs.len());
    jobs.drain(..offset);
    if let Some(limit) = param("limit").and_then(|v| v.parse::<usize>().ok()) {
        jobs.truncate(limit);
    }
    // Whole job descriptions, not UWS job references: TAP+ clients read each job's jobId.
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:jobs xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\">\n",
    );
    for job in &jobs {
        let whole = super::uws::job_xml(job, &base);
        xml.push_str(whole.split_once("?>\n").map_or(whole.as_str(), |(_, element)| element));
    }
    xml.push_str("</uws:jobs>\n");
    Ok(xml_response(xml))
}

/// `POST` to the server context, `Upload` or `TableTool`: with ACTION, a table edit
/// (`edit`: columns' flags and UCDs; `radec`: the position columns; `rename` to
/// NEW_TABLE_NAME; `describe` with TABLE_DESC); with DELETE=TRUE a
/// deletion; otherwise an upload from the FILE part, a URL, or a job's result (JOBID).
async fn user_table_request(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    request: axum::extract::Request,
) -> ApiResult {
    let Some(user) = caller.0.clone() else {
        // Nothing kept for anonymous callers, but read on a while: a client still sending
        // when the answer comes would see a broken connection rather than the answer.
        drain(request.into_body()).await;
        return Err(not_logged_in());
    };
    let (params, file) = read_table_post(&service, request).await?;
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
            "edit" => return Ok(text(edit_table(&service, &user, &params).await?)),
            "rename" => match (field("TABLE_NAME"), field("NEW_TABLE_NAME")) {
                (Some(table), Some(new_name)) => archive
                    .rename_user_table(&user, table, new_name)
                    .await
                    .map(|()| format!("{table} renamed {new_name}")),
                _ => Err(ArchiveError::Invalid("rename needs TABLE_NAME and NEW_TABLE_NAME".into())),
            },
            "describe" => match field("TABLE_NAME") {
                Some(table) => {
                    let (table, description) = (table.to_owned(), field("TABLE_DESC").unwrap_or("").to_owned());
                    let message = with_archive(&service, move |archive| {
                        archive.describe_user_table(&user, &table, &description).map(|()| format!("{table} described"))
                    })
                    .await?;
                    return Ok(text(message));
                }
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
        return Ok(text(upload(&service, &user, &params, file).await?));
    };
    Ok(text(outcome?))
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
/// it arrives, up to the service's upload limit (413 past it).
async fn read_table_post(
    service: &Service,
    request: axum::extract::Request,
) -> ApiResult<(HashMap<String, String>, Option<SpooledFile>)> {
    if !content_type(request.headers()).starts_with("multipart/form-data") {
        let Posted { params, .. } = Posted::from_request(request, &()).await?;
        return Ok((params.upper().into_iter().collect(), None));
    }
    let bad = |message: String| ApiError::bad_request(message);
    let failed = |error: ArchiveError| ApiError::from(error);
    let mut multipart =
        super::extract::multipart(request).await.map_err(|e| bad(format!("unreadable request: {e}")))?;
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
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the table is larger than the {} MiB this service takes in one upload", limit >> 20),
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
    service: &Arc<Service>,
    user: &str,
    params: &HashMap<String, String>,
    file: Option<SpooledFile>,
) -> ApiResult<String> {
    let field = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let name = field("TABLE_NAME").ok_or_else(|| ApiError::bad_request("name the table: TABLE_NAME"))?;
    let description = field("TABLE_DESC").unwrap_or("");
    let data = if let Some(job_id) = field("JOBID") {
        let (jobs, user, id) = (Arc::clone(&service.jobs), user.to_owned(), job_id.to_owned());
        blocking(move || Ok(job_result(&jobs, &user, &id)?)).await?
    } else if let Some(url) = field("URL") {
        let bytes = crate::outbound::fetch(url, service.options.upload_limit, service.options.private_fetches)
            .await
            .map_err(|e| ArchiveError::Read(format!("cannot fetch {url}: {e}")))?;
        let format = field("FORMAT").map(str::to_owned);
        blocking(move || Ok(crate::user_tables::read_upload(bytes, format.as_deref())?)).await?
    } else {
        let file = file.ok_or_else(|| ApiError::bad_request("send the table as the file part FILE"))?;
        file.read(field("FORMAT").map(str::to_owned)).await?
    };
    let report = service.archive.upload_table(user, name, &data, description, None).await?;
    let table = service.archive.user_table_name(user, name)?;
    Ok(format!("Uploaded {} ({} rows)", table.qualified(), report.rows))
}

/// The result of one of `user`'s completed jobs, as a table.
fn job_result(jobs: &crate::jobs::Jobs, user: &str, id: &str) -> Result<skyglass_votable::TableData, ArchiveError> {
    let job = jobs.get(id).ok().filter(|job| job.owner.as_deref() == Some(user));
    let job = job.ok_or_else(|| ArchiveError::Invalid(format!("you have no job {id}")))?;
    let path = jobs
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
async fn edit_table(service: &Arc<Service>, user: &str, params: &HashMap<String, String>) -> ApiResult<String> {
    let field = |name: &str| params.get(name).map(|v| v.trim()).unwrap_or("");
    let table = field("TABLE0").to_owned();
    if table.is_empty() {
        return Err(ApiError::bad_request("name the table: TABLE0"));
    }
    let (owner, params) = (user.to_owned(), params.clone());
    let (name, position) = with_archive(service, move |archive| {
        let field = |name: &str| params.get(name).map(|v| v.trim()).unwrap_or("");
        let name = archive.user_table_name(&owner, &table)?;
        let known = archive
            .user_tables_of(&owner)?
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
                archive.set_column_ucd(&name, column, ucd.trim())?;
            }
            match field(&format!("TABLE0_COL{i}_FLAGS")).to_ascii_lowercase().as_str() {
                "ra" => ra = Some(column.to_ascii_lowercase()),
                "dec" => dec = Some(column.to_ascii_lowercase()),
                _ => {}
            }
        }
        // New position columns only: re-indexing a table is not done for nothing.
        let position = ra.zip(dec).filter(|wanted| archive.position_columns(&name).as_ref() != Some(wanted));
        Ok((name, position))
    })
    .await?;
    if let Some((ra, dec)) = position {
        service.archive.set_position_columns(user, field("TABLE0"), &ra, &dec).await?;
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

//! TAP 1.1 queries: `/tap/sync` (GET or POST, form or multipart), the work of an
//! asynchronous job (its result written beside it), and table uploads (`UPLOAD`, inline
//! parts or http(s) URLs). A query's parameters are checked as DALI asks: names in any case.

use super::error::{ApiError, ApiResult};
use super::extract::{MAX_BODY_BYTES, Params, Posted};
use super::format::{Format, result_response, serialize};
use super::{Caller, Shared, blocking};
use crate::jobs::{Job, Outcome};
use crate::query::{DEFAULT_MAXREC, HARD_MAXREC};
use crate::store::Archive;
use axum::extract::{Extension, Query, State};
use skyglass_votable::TableData;
use std::collections::HashMap;
use std::sync::Arc;

/// The parameters of a query request, checked.
pub(crate) struct QueryRequest {
    pub query: String,
    pub format: Format,
    pub maxrec: usize,
}

/// Checks REQUEST, LANG, QUERY, RESPONSEFORMAT and MAXREC (names case-insensitive, DALI).
pub(crate) fn parse_request(pairs: &[(String, String)]) -> Result<QueryRequest, String> {
    let mut params: HashMap<String, &str> = HashMap::new();
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
    let format_text = params.get("RESPONSEFORMAT").or_else(|| params.get("FORMAT")).copied().unwrap_or("votable");
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
    Ok(QueryRequest { query: (*query).to_owned(), format, maxrec })
}

/// `GET /tap/sync`: uploads by URL only.
pub(crate) async fn sync_get(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Query(params): Query<Vec<(String, String)>>,
) -> ApiResult {
    let request = parse_request(&params).map_err(ApiError::bad_request)?;
    let uploads = resolve_uploads(&params, service.options.private_fetches, HashMap::new()).await?;
    run_sync(&service.archive, &caller, request, uploads).await
}

/// `POST /tap/sync`: uploads as parts of the request, or by URL.
pub(crate) async fn sync_post(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Posted { params, parts }: Posted,
) -> ApiResult {
    let Params(params) = params;
    let request = parse_request(&params).map_err(ApiError::bad_request)?;
    let uploads = resolve_uploads(&params, service.options.private_fetches, parts).await?;
    run_sync(&service.archive, &caller, request, uploads).await
}

async fn run_sync(
    archive: &Archive,
    caller: &Caller,
    request: QueryRequest,
    uploads: Vec<(String, TableData)>,
) -> ApiResult {
    let result = archive.query_with_uploads(caller.0.as_deref(), &request.query, request.maxrec, uploads).await?;
    blocking(move || {
        result_response(&result, request.format, &request.query)
            .map_err(|message| ApiError::internal("cannot write the result", message))
    })
    .await
}

/// The tables named by UPLOAD (`name,param:part` or `name,http(s)://…`, `;`-separated),
/// each read as VOTable, or CSV when it is not XML. Inline tables are the request's
/// `parts` by name.
async fn resolve_uploads(
    params: &[(String, String)],
    private_fetches: bool,
    mut parts: HashMap<String, Vec<u8>>,
) -> ApiResult<Vec<(String, TableData)>> {
    let mut sources = Vec::new();
    for (name, source) in upload_sources(params).map_err(ApiError::bad_request)? {
        let bytes = match source {
            UploadSource::Part(part) => parts
                .remove(&part)
                .ok_or_else(|| ApiError::bad_request(format!("UPLOAD {name}: no part named {part} in the request")))?,
            UploadSource::Url(url) => crate::outbound::fetch(&url, MAX_BODY_BYTES as u64, private_fetches)
                .await
                .map_err(|e| ApiError::bad_request(format!("UPLOAD {name}: cannot fetch {url}: {e}")))?,
        };
        sources.push((name, bytes));
    }
    blocking(move || read_uploads(sources).map_err(ApiError::bad_request)).await
}

/// Where an uploaded table comes from.
enum UploadSource {
    /// A part of the request (for a job: a file kept with it).
    Part(String),
    Url(String),
}

/// The UPLOAD parameter's tables, checked: names that are ADQL identifiers, parts whose
/// names can name files, http(s) URLs.
fn upload_sources(params: &[(String, String)]) -> Result<Vec<(String, UploadSource)>, String> {
    let Some((_, upload)) = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("UPLOAD")) else {
        return Ok(Vec::new());
    };
    let mut sources = Vec::new();
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
        let source = if let Some(part) = uri.strip_prefix("param:") {
            // A part's name names a file of a job's uploads: never a path of any other file.
            if !super::uws::is_safe_part(part) {
                return Err(format!("UPLOAD {name}: {part:?} is not a part name"));
            }
            UploadSource::Part(part.to_owned())
        } else if uri.starts_with("http://") || uri.starts_with("https://") {
            UploadSource::Url(uri.to_owned())
        } else {
            return Err(format!("UPLOAD {name}: {uri} is neither param:PART nor an http(s) URL"));
        };
        sources.push((name.to_owned(), source));
    }
    Ok(sources)
}

/// Uploaded tables read: VOTable when the bytes start as XML, else CSV.
fn read_uploads(sources: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, TableData)>, String> {
    sources
        .into_iter()
        .map(|(name, bytes)| {
            if bytes.len() > MAX_BODY_BYTES {
                return Err(format!("UPLOAD {name} is larger than {} MiB", MAX_BODY_BYTES >> 20));
            }
            let start = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).trim_start().to_owned();
            let format = if start.starts_with('<') {
                skyglass_votable::TableFormat::VoTable
            } else {
                skyglass_votable::TableFormat::Csv
            };
            let data = skyglass_votable::read_table(std::io::Cursor::new(bytes), format)
                .map_err(|e| format!("UPLOAD {name} is not a table: {e}"))?;
            Ok((name, data))
        })
        .collect()
}

/// An asynchronous job's work: the query, its result written beside the job.
pub(crate) async fn run_job(
    archive: Arc<Archive>,
    job: Job,
    folder: std::path::PathBuf,
    private_fetches: bool,
) -> Outcome {
    let request = parse_request(&job.parameters)?;
    let uploads_folder = folder.join("uploads");
    // A job's parts were kept as files when it was made; only those UPLOAD names are read.
    let wanted: Vec<String> = upload_sources(&job.parameters)?
        .into_iter()
        .filter_map(|(_, source)| match source {
            UploadSource::Part(part) => Some(part),
            UploadSource::Url(_) => None,
        })
        .collect();
    let parts = tokio::task::spawn_blocking(move || {
        wanted
            .into_iter()
            .filter_map(|part| {
                let file = std::fs::File::open(uploads_folder.join(&part)).ok()?;
                let mut bytes = Vec::new();
                // One byte past the limit tells an oversize part, without reading all of it.
                std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_BODY_BYTES as u64 + 1), &mut bytes)
                    .ok()?;
                Some((part, bytes))
            })
            .collect::<HashMap<_, _>>()
    })
    .await
    .map_err(|e| e.to_string())?;
    let uploads = resolve_uploads(&job.parameters, private_fetches, parts).await.map_err(|e| e.message().to_owned())?;
    let result = archive
        .query_with_uploads(job.owner.as_deref(), &request.query, request.maxrec, uploads)
        .await
        .map_err(|e| e.to_string())?;
    let rows = result.rows() as u64;
    let name = format!("result.{}", request.format.extension());
    let media_type = request.format.mime().to_owned();
    let file_name = name.clone();
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let body = serialize(&result, request.format, &request.query)?;
        std::fs::create_dir_all(&folder).map_err(|e| format!("cannot store the result: {e}"))?;
        let path = folder.join(&file_name);
        let partial = folder.join(format!("{file_name}.partial"));
        std::fs::write(&partial, &body)
            .and_then(|()| std::fs::File::open(&partial).and_then(|f| f.sync_all()))
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| format!("cannot store the result: {e}"))
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok((name, media_type, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn check_refused(list: &[(&str, &str)], expected: &str) {
        match parse_request(&pairs(list)) {
            Ok(_) => panic!("{list:?} was taken"),
            Err(message) => assert_eq!(message, expected),
        }
    }

    #[test]
    fn query_parameters_are_read_in_any_case_with_defaults() {
        let request = parse_request(&pairs(&[("lang", "adql"), ("query", "SELECT 1"), ("MaxRec", "5")]));
        let request = request.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((request.query.as_str(), request.format, request.maxrec), ("SELECT 1", Format::VoTable, 5));
        let request = parse_request(&pairs(&[("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("FORMAT", "csv")]));
        assert_eq!(request.map(|r| (r.format, r.maxrec)).ok(), Some((Format::Csv, DEFAULT_MAXREC)));
    }

    #[test]
    fn bad_query_parameters_are_named() {
        check_refused(&[("QUERY", "SELECT 1")], "LANG is missing: use LANG=ADQL");
        check_refused(&[("LANG", "SQL"), ("QUERY", "SELECT 1")], "LANG=SQL is not supported: use ADQL");
        check_refused(&[("LANG", "ADQL"), ("QUERY", " ")], "QUERY is missing");
        check_refused(&[("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("MAXREC", "-1")], "MAXREC=-1 is not a count of rows");
        check_refused(
            &[("REQUEST", "getCapabilities"), ("LANG", "ADQL"), ("QUERY", "SELECT 1")],
            "REQUEST=getCapabilities is not supported: use doQuery",
        );
    }

    #[test]
    fn upload_names_and_sources_are_checked() {
        let sources = upload_sources(&pairs(&[("upload", "mine,param:t1 ; web,https://example.org/t.vot")]));
        let sources = sources.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(&sources[..], [(a, UploadSource::Part(p)), (b, UploadSource::Url(_))]
            if a == "mine" && p == "t1" && b == "web"));
        for (upload, expected) in [
            ("1st,param:a", "UPLOAD table name \"1st\" is not an ADQL identifier"),
            ("t,param:../archive.sqlite", "UPLOAD t: \"../archive.sqlite\" is not a part name"),
            ("t,file:///etc/passwd", "UPLOAD t: file:///etc/passwd is neither param:PART nor an http(s) URL"),
            ("t", "UPLOAD=t: expected NAME,URI"),
        ] {
            assert_eq!(upload_sources(&pairs(&[("UPLOAD", upload)])).err().as_deref(), Some(expected));
        }
    }
}

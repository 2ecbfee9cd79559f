//! UWS 1.1 over HTTP for `/tap/async`: the job list (PHASE, AFTER, LAST filters), each job
//! and its sub-resources, PHASE=RUN/ABORT, DELETE, WAIT blocking, destruction and
//! execution duration.

use crate::jobs::{Job, JobError, Phase, iso8601, parse_iso8601};
use crate::tap::{
    FormBody, Service, base_url, error_response, read_post, serde_urlencoded_pairs, xml_escape, xml_response,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

type Shared = State<Arc<Service>>;

/// The longest WAIT honoured, in seconds.
const MAX_WAIT_SECONDS: u64 = 60;

fn see_other(location: String) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn job_error(error: JobError) -> Response {
    let status = match error {
        JobError::NotFound(_) => StatusCode::NOT_FOUND,
        JobError::WrongPhase { .. } | JobError::BadValue(_) => StatusCode::BAD_REQUEST,
        JobError::Metadata(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_response(status, &error.to_string())
}

fn text(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn form(body: &[u8]) -> Result<Vec<(String, String)>, Box<Response>> {
    serde_urlencoded_pairs(body).map_err(|message| Box::new(error_response(StatusCode::BAD_REQUEST, &message)))
}

/// The value of one named parameter of a form body, or a 400 saying it is missing.
fn one_parameter(body: &[u8], name: &str) -> Result<String, Box<Response>> {
    let pairs = upper(form(body)?);
    pairs
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| Box::new(error_response(StatusCode::BAD_REQUEST, &format!("{name} is missing"))))
}

fn upper(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(key, value)| (key.to_ascii_uppercase(), value)).collect()
}

/// POST /tap/async: a new job (PENDING, or running at once with PHASE=RUN). Uploaded
/// parts are kept with the job, so it can run (and run again after a restart) later.
pub async fn create(State(service): Shared, request: axum::extract::Request) -> Response {
    let headers = request.headers().clone();
    let owner = request.extensions().get::<crate::auth::Caller>().and_then(|caller| caller.0.clone());
    let (pairs, parts) = match read_post(request).await {
        Ok((pairs, parts)) => (upper(pairs), parts),
        Err(response) => return response,
    };
    let run = pairs.iter().any(|(key, value)| key == "PHASE" && value.eq_ignore_ascii_case("RUN"));
    let parameters: Vec<(String, String)> = pairs.into_iter().filter(|(key, _)| key != "PHASE").collect();
    let job = match service.jobs.create(parameters, owner) {
        Ok(job) => job,
        Err(error) => return job_error(error),
    };
    if !parts.is_empty() {
        let folder = service.archive.root().join("jobs").join(&job.id).join("uploads");
        let saved = std::fs::create_dir_all(&folder).and_then(|()| {
            parts
                .iter()
                .filter(|(name, _)| is_safe_part(name))
                .try_for_each(|(name, bytes)| std::fs::write(folder.join(name), bytes))
        });
        if let Err(error) = saved {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot keep the uploads: {error}"));
        }
    }
    if run && let Err(error) = service.jobs.run(&job.id) {
        return job_error(error);
    }
    see_other(format!("{}/tap/async/{}", base_url(&headers), job.id))
}

/// GET /tap/async: the caller's jobs (an anonymous caller's: the anonymous ones).
pub async fn list(
    State(service): Shared,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let mut phases = Vec::new();
    let mut after = None;
    let mut last = None;
    for (key, value) in upper(query) {
        match key.as_str() {
            "PHASE" => match Phase::parse(&value) {
                Some(phase) => phases.push(phase),
                None => return error_response(StatusCode::BAD_REQUEST, &format!("PHASE={value} is no UWS phase")),
            },
            "AFTER" => match parse_iso8601(&value) {
                Some(time) => after = Some(time),
                None => return error_response(StatusCode::BAD_REQUEST, &format!("AFTER={value} is no ISO 8601 time")),
            },
            "LAST" => match value.parse::<usize>() {
                Ok(n) if n > 0 => last = Some(n),
                _ => return error_response(StatusCode::BAD_REQUEST, &format!("LAST={value} is no positive count")),
            },
            _ => {}
        }
    }
    let jobs = match service.jobs.list(caller.0.as_deref(), &phases, after, last) {
        Ok(jobs) => jobs,
        Err(error) => return job_error(error),
    };
    xml_response(job_list_xml(&jobs, &base_url(&headers)))
}

/// A UWS job list.
pub(crate) fn job_list_xml(jobs: &[Job], base: &str) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:jobs xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
         xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\">\n",
    );
    for job in jobs {
        let _ = writeln!(
            xml,
            "  <uws:jobref id=\"{id}\" xlink:href=\"{base}/tap/async/{id}\">\n    <uws:phase>{}</uws:phase>\n{}    \
             <uws:creationTime>{}</uws:creationTime>\n  </uws:jobref>",
            job.phase.name(),
            job.run_id
                .as_deref()
                .map(|r| format!("    <uws:runId>{}</uws:runId>\n", xml_escape(r)))
                .unwrap_or_default(),
            iso8601(job.created),
            id = job.id,
        );
    }
    xml.push_str("</uws:jobs>\n");
    xml
}

/// GET /tap/async/{id}, with WAIT (and PHASE) blocking until the phase changes.
pub async fn job(
    State(service): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let query = upper(query);
    let wait = query.iter().find(|(k, _)| k == "WAIT").map(|(_, v)| v.trim().parse::<i64>());
    let job = match wait {
        Some(Ok(seconds)) => {
            let phase = query.iter().find(|(k, _)| k == "PHASE").and_then(|(_, v)| Phase::parse(v));
            // A negative WAIT means as long as the server allows.
            let seconds = if seconds < 0 { MAX_WAIT_SECONDS } else { (seconds as u64).min(MAX_WAIT_SECONDS) };
            service.jobs.wait(&id, phase, Duration::from_secs(seconds)).await
        }
        Some(Err(_)) => return error_response(StatusCode::BAD_REQUEST, "WAIT takes a number of seconds"),
        None => service.jobs.get(&id),
    };
    match job {
        Ok(job) => xml_response(job_xml(&job, &base_url(&headers))),
        Err(error) => job_error(error),
    }
}

/// POST /tap/async/{id}: ACTION=DELETE, or new parameters for a PENDING job.
pub async fn job_post(
    State(service): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let pairs = match form(&body) {
        Ok(pairs) => upper(pairs),
        Err(response) => return *response,
    };
    let base = base_url(&headers);
    if pairs.iter().any(|(k, v)| k == "ACTION" && v.eq_ignore_ascii_case("DELETE")) {
        return match service.jobs.delete(&id) {
            Ok(()) => see_other(format!("{base}/tap/async")),
            Err(error) => job_error(error),
        };
    }
    let run = pairs.iter().any(|(k, v)| k == "PHASE" && v.eq_ignore_ascii_case("RUN"));
    let updates: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "PHASE" && k != "ACTION").collect();
    if !updates.is_empty()
        && let Err(error) = service.jobs.set_parameters(&id, updates)
    {
        return job_error(error);
    }
    if run && let Err(error) = service.jobs.run(&id) {
        return job_error(error);
    }
    see_other(format!("{base}/tap/async/{id}"))
}

/// DELETE /tap/async/{id}.
pub async fn delete(State(service): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match service.jobs.delete(&id) {
        Ok(()) => see_other(format!("{}/tap/async", base_url(&headers))),
        Err(error) => job_error(error),
    }
}

pub async fn phase(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => text(job.phase.name().to_owned()),
        Err(error) => job_error(error),
    }
}

/// POST …/phase: PHASE=RUN or PHASE=ABORT.
pub async fn phase_post(
    State(service): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let pairs = match form(&body) {
        Ok(pairs) => upper(pairs),
        Err(response) => return *response,
    };
    let wanted = pairs.iter().find(|(k, _)| k == "PHASE").map(|(_, v)| v.to_ascii_uppercase());
    let outcome = match wanted.as_deref() {
        Some("RUN") => service.jobs.run(&id),
        Some("ABORT") => service.jobs.abort(&id),
        Some(other) => return error_response(StatusCode::BAD_REQUEST, &format!("PHASE={other}: use RUN or ABORT")),
        None => return error_response(StatusCode::BAD_REQUEST, "PHASE is missing: use RUN or ABORT"),
    };
    match outcome {
        Ok(()) => see_other(format!("{}/tap/async/{id}", base_url(&headers))),
        Err(error) => job_error(error),
    }
}

pub async fn execution_duration(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => text(job.execution_duration.to_string()),
        Err(error) => job_error(error),
    }
}

pub async fn execution_duration_post(
    State(service): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let value = match one_parameter(&body, "EXECUTIONDURATION") {
        Ok(value) => value,
        Err(response) => return *response,
    };
    let Ok(seconds) = value.trim().parse::<u64>() else {
        return error_response(StatusCode::BAD_REQUEST, &format!("EXECUTIONDURATION={value} is no count of seconds"));
    };
    match service.jobs.set_execution_duration(&id, seconds) {
        Ok(()) => see_other(format!("{}/tap/async/{id}", base_url(&headers))),
        Err(error) => job_error(error),
    }
}

pub async fn destruction(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => text(iso8601(job.destruction)),
        Err(error) => job_error(error),
    }
}

pub async fn destruction_post(
    State(service): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let value = match one_parameter(&body, "DESTRUCTION") {
        Ok(value) => value,
        Err(response) => return *response,
    };
    let Some(when) = parse_iso8601(&value) else {
        return error_response(StatusCode::BAD_REQUEST, &format!("DESTRUCTION={value} is no ISO 8601 time"));
    };
    match service.jobs.set_destruction(&id, when) {
        Ok(()) => see_other(format!("{}/tap/async/{id}", base_url(&headers))),
        Err(error) => job_error(error),
    }
}

/// The error document of a failed job.
pub async fn error(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => match (&job.phase, &job.error) {
            (Phase::Error, Some(message)) => {
                let mut response = error_response(StatusCode::OK, message);
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-votable+xml"));
                response
            }
            _ => error_response(StatusCode::NOT_FOUND, &format!("job {id} has no error")),
        },
        Err(error) => job_error(error),
    }
}

pub async fn quote(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        // No estimate is made: an empty quote, as UWS allows.
        Ok(_) => text(String::new()),
        Err(error) => job_error(error),
    }
}

pub async fn owner(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => text(job.owner.unwrap_or_default()),
        Err(error) => job_error(error),
    }
}

pub async fn parameters(State(service): Shared, Path(id): Path<String>) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => {
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:parameters xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\">\n",
            );
            xml.push_str(&parameters_xml(&job));
            xml.push_str("</uws:parameters>\n");
            xml_response(xml)
        }
        Err(error) => job_error(error),
    }
}

pub async fn results(State(service): Shared, Path(id): Path<String>, headers: HeaderMap) -> Response {
    match service.jobs.get(&id) {
        Ok(job) => {
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:results xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
                 xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n",
            );
            xml.push_str(&results_xml(&job, &base_url(&headers)));
            xml.push_str("</uws:results>\n");
            xml_response(xml)
        }
        Err(error) => job_error(error),
    }
}

/// The result file of a completed job.
pub async fn result(State(service): Shared, Path(id): Path<String>) -> Response {
    let job = match service.jobs.get(&id) {
        Ok(job) => job,
        Err(error) => return job_error(error),
    };
    let (Some(path), Some((_, media_type, _))) = (service.jobs.result_path(&job), &job.result) else {
        return error_response(StatusCode::NOT_FOUND, &format!("job {id} has no result (it is {})", job.phase.name()));
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            if let Ok(value) = HeaderValue::from_str(media_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
        Err(error) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &format!("the result is lost: {error}")),
    }
}

/// Part names become file names: letters, digits, `_`, `-`, `.` only, never `..`.
pub(crate) fn is_safe_part(name: &str) -> bool {
    !name.is_empty() && !name.contains("..") && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

fn parameters_xml(job: &Job) -> String {
    job.parameters
        .iter()
        .map(|(key, value)| {
            format!(
                "  <uws:parameter id=\"{}\">{}</uws:parameter>\n",
                xml_escape(&key.to_ascii_lowercase()),
                xml_escape(value)
            )
        })
        .collect()
}

fn results_xml(job: &Job, base: &str) -> String {
    match &job.result {
        Some((_, media_type, _)) if job.phase == Phase::Completed => format!(
            "  <uws:result id=\"result\" xlink:type=\"simple\" xlink:href=\"{base}/tap/async/{}/results/result\" mime-type=\"{}\"/>\n",
            job.id,
            xml_escape(media_type)
        ),
        _ => String::new(),
    }
}

pub(crate) fn job_xml(job: &Job, base: &str) -> String {
    let time = |t: Option<f64>, name: &str| match t {
        Some(t) => format!("  <uws:{name}>{}</uws:{name}>\n", iso8601(t)),
        None => format!("  <uws:{name} xsi:nil=\"true\"/>\n"),
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:job xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
         xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"1.1\">\n\
         \x20 <uws:jobId>{}</uws:jobId>\n",
        job.id
    );
    if let Some(run_id) = &job.run_id {
        let _ = writeln!(xml, "  <uws:runId>{}</uws:runId>", xml_escape(run_id));
    }
    match &job.owner {
        Some(owner) => {
            let _ = writeln!(xml, "  <uws:ownerId>{}</uws:ownerId>", xml_escape(owner));
        }
        None => xml.push_str("  <uws:ownerId xsi:nil=\"true\"/>\n"),
    }
    let _ = writeln!(xml, "  <uws:phase>{}</uws:phase>", job.phase.name());
    xml.push_str("  <uws:quote xsi:nil=\"true\"/>\n");
    xml.push_str(&time(Some(job.created), "creationTime"));
    xml.push_str(&time(job.started, "startTime"));
    xml.push_str(&time(job.ended, "endTime"));
    let _ = writeln!(xml, "  <uws:executionDuration>{}</uws:executionDuration>", job.execution_duration);
    xml.push_str(&time(Some(job.destruction), "destruction"));
    let _ = write!(
        xml,
        "  <uws:parameters>\n{}  </uws:parameters>\n",
        parameters_xml(job).replace("  <uws:parameter", "    <uws:parameter")
    );
    let _ = write!(
        xml,
        "  <uws:results>\n{}  </uws:results>\n",
        results_xml(job, base).replace("  <uws:result", "    <uws:result")
    );
    if let (Phase::Error, Some(message)) = (job.phase, &job.error) {
        let _ = writeln!(
            xml,
            "  <uws:errorSummary type=\"fatal\" hasDetail=\"true\">\n    <uws:message>{}</uws:message>\n  </uws:errorSummary>",
            xml_escape(message)
        );
    }
    xml.push_str("</uws:job>\n");
    xml
}

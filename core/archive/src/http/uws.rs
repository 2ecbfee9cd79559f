//! UWS 1.1 over HTTP for `/tap/async`: the job list (PHASE, AFTER, LAST filters), each job
//! and its sub-resources, PHASE=RUN/ABORT, DELETE, WAIT blocking, destruction and
//! execution duration. The job store is SQLite: every call to it runs in [`blocking`].

use super::error::{ApiError, ApiResult, dali_error};
use super::extract::{BaseUrl, Form, Params, Posted};
use super::format::{text_response, xml_escape, xml_response};
use super::{Caller, Service, Shared, blocking};
use crate::jobs::{Job, JobError, Jobs, Phase, iso8601, parse_iso8601};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// The longest WAIT honoured, in seconds.
const MAX_WAIT_SECONDS: u64 = 60;

fn see_other(location: String) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Runs `work` on the job store, off the runtime's threads.
async fn with_jobs<T: Send + 'static>(
    service: &Arc<Service>,
    work: impl FnOnce(&Arc<Jobs>) -> Result<T, JobError> + Send + 'static,
) -> ApiResult<T> {
    let jobs = Arc::clone(&service.jobs);
    blocking(move || work(&jobs).map_err(ApiError::from)).await
}

/// A job, read from the store.
async fn get_job(service: &Arc<Service>, id: String) -> ApiResult<Job> {
    with_jobs(service, move |jobs| jobs.get(&id)).await
}

/// The value of one named parameter, or a 400 saying it is missing.
fn one_parameter<'a>(params: &'a Params, name: &str) -> ApiResult<&'a str> {
    params.get(name).ok_or_else(|| ApiError::bad_request(format!("{name} is missing")))
}

/// POST /tap/async: a new job (PENDING, or running at once with PHASE=RUN). Uploaded
/// parts are kept with the job, so it can run (and run again after a restart) later.
pub async fn create(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    BaseUrl(base): BaseUrl,
    Posted { params, parts }: Posted,
) -> ApiResult {
    let pairs = params.upper();
    let run = pairs.iter().any(|(key, value)| key == "PHASE" && value.eq_ignore_ascii_case("RUN"));
    let parameters: Vec<(String, String)> = pairs.into_iter().filter(|(key, _)| key != "PHASE").collect();
    let root = service.archive.root().to_path_buf();
    let jobs = Arc::clone(&service.jobs);
    let id = blocking(move || {
        let job = jobs.create(parameters, caller.0)?;
        if !parts.is_empty() {
            let folder = root.join("jobs").join(&job.id).join("uploads");
            std::fs::create_dir_all(&folder)
                .and_then(|()| {
                    parts
                        .iter()
                        .filter(|(name, _)| is_safe_part(name))
                        .try_for_each(|(name, bytes)| std::fs::write(folder.join(name), bytes))
                })
                .map_err(|error| ApiError::internal("cannot keep the uploads", error))?;
        }
        if run {
            jobs.run(&job.id)?;
        }
        Ok(job.id)
    })
    .await?;
    Ok(see_other(format!("{base}/tap/async/{id}")))
}

/// GET /tap/async: the caller's jobs (an anonymous caller's: the anonymous ones).
pub async fn list(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    BaseUrl(base): BaseUrl,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult {
    let mut phases = Vec::new();
    let mut after = None;
    let mut last = None;
    for (key, value) in Params(query).upper() {
        match key.as_str() {
            "PHASE" => match Phase::parse(&value) {
                Some(phase) => phases.push(phase),
                None => return Err(ApiError::bad_request(format!("PHASE={value} is no UWS phase"))),
            },
            "AFTER" => match parse_iso8601(&value) {
                Some(time) => after = Some(time),
                None => return Err(ApiError::bad_request(format!("AFTER={value} is no ISO 8601 time"))),
            },
            "LAST" => match value.parse::<usize>() {
                Ok(n) if n > 0 => last = Some(n),
                _ => return Err(ApiError::bad_request(format!("LAST={value} is no positive count"))),
            },
            _ => {}
        }
    }
    let jobs = with_jobs(&service, move |jobs| jobs.list(caller.0.as_deref(), &phases, after, last)).await?;
    Ok(xml_response(job_list_xml(&jobs, &base)))
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
    BaseUrl(base): BaseUrl,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult {
    let query = Params(query);
    let job = match query.get("WAIT").map(str::parse::<i64>) {
        Some(Ok(seconds)) => {
            let phase = query.get("PHASE").and_then(Phase::parse);
            // A negative WAIT means as long as the server allows.
            let seconds = if seconds < 0 { MAX_WAIT_SECONDS } else { (seconds as u64).min(MAX_WAIT_SECONDS) };
            // Waiting is async (the job store's change signal); each look is a short read.
            service.jobs.wait(&id, phase, Duration::from_secs(seconds)).await?
        }
        Some(Err(_)) => return Err(ApiError::bad_request("WAIT takes a number of seconds")),
        None => get_job(&service, id).await?,
    };
    Ok(xml_response(job_xml(&job, &base)))
}

/// POST /tap/async/{id}: ACTION=DELETE, or new parameters for a PENDING job.
pub async fn job_post(
    State(service): Shared,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    Form(params): Form,
) -> ApiResult {
    let pairs = params.upper();
    if pairs.iter().any(|(k, v)| k == "ACTION" && v.eq_ignore_ascii_case("DELETE")) {
        with_jobs(&service, move |jobs| jobs.delete(&id)).await?;
        return Ok(see_other(format!("{base}/tap/async")));
    }
    let run = pairs.iter().any(|(k, v)| k == "PHASE" && v.eq_ignore_ascii_case("RUN"));
    let updates: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "PHASE" && k != "ACTION").collect();
    let job_id = id.clone();
    with_jobs(&service, move |jobs| {
        if !updates.is_empty() {
            jobs.set_parameters(&job_id, updates)?;
        }
        if run {
            jobs.run(&job_id)?;
        }
        Ok(())
    })
    .await?;
    Ok(see_other(format!("{base}/tap/async/{id}")))
}

/// DELETE /tap/async/{id}.
pub async fn delete(State(service): Shared, Path(id): Path<String>, BaseUrl(base): BaseUrl) -> ApiResult {
    with_jobs(&service, move |jobs| jobs.delete(&id)).await?;
    Ok(see_other(format!("{base}/tap/async")))
}

pub async fn phase(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    Ok(text_response(get_job(&service, id).await?.phase.name().to_owned()))
}

/// POST …/phase: PHASE=RUN or PHASE=ABORT.
pub async fn phase_post(
    State(service): Shared,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    Form(params): Form,
) -> ApiResult {
    let wanted = params.get("PHASE").map(str::to_ascii_uppercase);
    let job_id = id.clone();
    match wanted.as_deref() {
        Some("RUN") => with_jobs(&service, move |jobs| jobs.run(&job_id)).await?,
        Some("ABORT") => with_jobs(&service, move |jobs| jobs.abort(&job_id)).await?,
        Some(other) => return Err(ApiError::bad_request(format!("PHASE={other}: use RUN or ABORT"))),
        None => return Err(ApiError::bad_request("PHASE is missing: use RUN or ABORT")),
    }
    Ok(see_other(format!("{base}/tap/async/{id}")))
}

pub async fn execution_duration(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    Ok(text_response(get_job(&service, id).await?.execution_duration.to_string()))
}

pub async fn execution_duration_post(
    State(service): Shared,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    Form(params): Form,
) -> ApiResult {
    let value = one_parameter(&params, "EXECUTIONDURATION")?;
    let Ok(seconds) = value.parse::<u64>() else {
        return Err(ApiError::bad_request(format!("EXECUTIONDURATION={value} is no count of seconds")));
    };
    let job_id = id.clone();
    with_jobs(&service, move |jobs| jobs.set_execution_duration(&job_id, seconds)).await?;
    Ok(see_other(format!("{base}/tap/async/{id}")))
}

pub async fn destruction(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    Ok(text_response(iso8601(get_job(&service, id).await?.destruction)))
}

pub async fn destruction_post(
    State(service): Shared,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    Form(params): Form,
) -> ApiResult {
    let value = one_parameter(&params, "DESTRUCTION")?;
    let Some(when) = parse_iso8601(value) else {
        return Err(ApiError::bad_request(format!("DESTRUCTION={value} is no ISO 8601 time")));
    };
    let job_id = id.clone();
    with_jobs(&service, move |jobs| jobs.set_destruction(&job_id, when)).await?;
    Ok(see_other(format!("{base}/tap/async/{id}")))
}

/// The error document of a failed job.
pub async fn error(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    let job = get_job(&service, id.clone()).await?;
    match (&job.phase, &job.error) {
        (Phase::Error, Some(message)) => Ok(dali_error(StatusCode::OK, message)),
        _ => Err(ApiError::not_found(format!("job {id} has no error"))),
    }
}

pub async fn quote(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    get_job(&service, id).await?;
    // No estimate is made: an empty quote, as UWS allows.
    Ok(text_response(String::new()))
}

pub async fn owner(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    Ok(text_response(get_job(&service, id).await?.owner.unwrap_or_default()))
}

pub async fn parameters(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    let job = get_job(&service, id).await?;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:parameters xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\">\n",
    );
    xml.push_str(&parameters_xml(&job));
    xml.push_str("</uws:parameters>\n");
    Ok(xml_response(xml))
}

pub async fn results(State(service): Shared, Path(id): Path<String>, BaseUrl(base): BaseUrl) -> ApiResult {
    let job = get_job(&service, id).await?;
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<uws:results xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" \
         xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n",
    );
    xml.push_str(&results_xml(&job, &base));
    xml.push_str("</uws:results>\n");
    Ok(xml_response(xml))
}

/// The result file of a completed job.
pub async fn result(State(service): Shared, Path(id): Path<String>) -> ApiResult {
    let job = get_job(&service, id.clone()).await?;
    let (Some(path), Some((_, media_type, _))) = (service.jobs.result_path(&job), &job.result) else {
        return Err(ApiError::not_found(format!("job {id} has no result (it is {})", job.phase.name())));
    };
    let bytes = tokio::fs::read(&path).await.map_err(|error| ApiError::internal("the result is lost", error))?;
    let mut response = (StatusCode::OK, bytes).into_response();
    if let Ok(value) = HeaderValue::from_str(media_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    Ok(response)
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

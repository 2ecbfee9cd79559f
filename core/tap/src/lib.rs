//! A TAP client (IVOA TAP 1.0 and 1.1): ADQL queries run synchronously or as UWS jobs,
//! local tables uploaded with them, MAXREC and overflow, VOSI tables, and the service's
//! error documents turned into readable errors; logging in to services with users' tables
//! (ESA's TAP+ login form and its session cookie, else HTTP Basic). Blocking: callers that
//! must not wait run it on a thread of their own.

pub mod vosi;

use skyglass_votable::{QueryStatus, TableData, TableFormat};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The service said no, in its own words (a QUERY_STATUS=ERROR document, or a job's
    /// error summary).
    #[error("the service says: {0}")]
    Service(String),
    #[error("{0}")]
    Protocol(String),
    #[error("the result is not a readable table: {0}")]
    Result(String),
    #[error("job {url} is {phase}")]
    Job { url: String, phase: String },
    #[error("{0}")]
    Upload(String),
    #[error("cannot log in to {url}: {message}")]
    Login { url: String, message: String },
}

pub type Result<T> = std::result::Result<T, TapError>;

/// A table sent along with a query, as `TAP_UPLOAD.name`.
pub struct Upload {
    pub name: String,
    /// The table as a VOTable document.
    pub votable: Vec<u8>,
}

impl Upload {
    /// A table in memory, as the VOTable a TAP service takes.
    pub fn from_table(name: &str, table: &skyglass_votable::TableData) -> Result<Upload> {
        let mut votable = Vec::new();
        skyglass_votable::write_table(&mut votable, table, TableFormat::VoTableBinary2, Vec::new())
            .map_err(|e| TapError::Upload(format!("cannot upload {name}: {e}")))?;
        Ok(Upload { name: name.to_owned(), votable })
    }

    /// Reads a local table (VOTable, FITS, CSV, Parquet, ECSV) and writes it as the
    /// VOTable a TAP service takes.
    pub fn from_file(name: &str, path: &std::path::Path) -> Result<Upload> {
        let unreadable = |message: String| TapError::Upload(format!("cannot upload {}: {message}", path.display()));
        let format = TableFormat::from_path(path).ok_or_else(|| unreadable("unknown format".to_owned()))?;
        let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
        let table = skyglass_votable::read_table(std::io::BufReader::new(file), format)
            .map_err(|e| unreadable(e.to_string()))?;
        Upload::from_table(name, &table)
    }
}

/// What to ask.
pub struct Query<'a> {
    pub adql: &'a str,
    pub maxrec: Option<u64>,
    pub uploads: &'a [Upload],
}

/// A query's answer.
pub struct Answer {
    pub table: TableData,
    /// The service cut the result at MAXREC or its own limit (QUERY_STATUS=OVERFLOW).
    pub overflow: bool,
}

pub struct TapService {
    base: String,
    http: reqwest::blocking::Client,
    /// For job creation, whose 303 must be seen rather than followed.
    no_redirect: reqwest::blocking::Client,
    /// A login, attached to requests for the service's own origin only (a job's location
    /// or a redirect may name another host, which must not see it).
    credentials: Option<Credentials>,
}

/// How requests prove who sends them.
enum Credentials {
    /// A TAP+ session: the cookie its login form answered.
    Session(reqwest::header::HeaderValue),
    /// HTTP Basic, for services without a login form.
    Basic(reqwest::header::HeaderValue),
}

impl Credentials {
    fn header(&self) -> (reqwest::header::HeaderName, reqwest::header::HeaderValue) {
        match self {
            Credentials::Session(cookie) => (reqwest::header::COOKIE, cookie.clone()),
            Credentials::Basic(authorization) => (reqwest::header::AUTHORIZATION, authorization.clone()),
        }
    }
}

/// How long a login may take: a service that does not answer is not waited on for long.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

fn client(timeout: Duration, redirect: reqwest::redirect::Policy) -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("skyglass/", env!("CARGO_PKG_VERSION"), " (TAP client)"))
        .redirect(redirect)
        .build()
        .map_err(|e| TapError::Protocol(e.to_string()))
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    let origin = |url: &str| {
        reqwest::Url::parse(url)
            .ok()
            .map(|u| (u.scheme().to_owned(), u.host_str().map(str::to_owned), u.port_or_known_default()))
    };
    origin(a).is_some_and(|a| Some(a) == origin(b))
}

impl TapService {
    /// A service by its base URL (the one `/sync`, `/async` and `/tables` hang from).
    pub fn new(base: &str) -> Result<TapService> {
        TapService::with_timeout(base, Duration::from_secs(600))
    }

    /// A service whose every request gives up after `timeout` (quick questions, such as the
    /// overview's counts, should not wait on a slow service).
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<TapService> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(TapError::Protocol(format!("{base:?} is not an http(s) URL of a TAP service")));
        }
        let http = client(timeout, reqwest::redirect::Policy::default())?;
        let no_redirect = client(timeout, reqwest::redirect::Policy::none())?;
        Ok(TapService { base, http, no_redirect, credentials: None })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// Whether requests carry a login.
    pub fn is_logged_in(&self) -> bool {
        self.credentials.is_some()
    }

    /// A request through `client`, with the login when `url` is on the service's origin.
    fn request(
        &self,
        client: &reqwest::blocking::Client,
        method: reqwest::Method,
        url: &str,
    ) -> reqwest::blocking::RequestBuilder {
        let request = client.request(method, url);
        match &self.credentials {
            Some(credentials) if same_origin(url, &self.base) => {
                let (name, value) = credentials.header();
                request.header(name, value)
            }
            _ => request,
        }
    }

    /// Where TAP+ resources (login, logout, Upload) may be: beside the service, then at its
    /// server context (the service's parent, as ESA's archives have them).
    fn contexts(&self) -> Vec<String> {
        let parent = self.base.rsplit_once('/').map(|(parent, _)| parent.to_owned());
        std::iter::once(self.base.clone()).chain(parent.filter(|p| p.contains("://"))).collect()
    }

    /// Logs in as `user`: through the TAP+ login form (ESA's archives, Skyglass) beside the
    /// service or at its server context, keeping the session cookie it answers; where
    /// there is no such form, by HTTP Basic credentials, checked on the job list.
    pub fn log_in(&mut self, user: &str, password: &str) -> Result<()> {
        let refused = |url: &str, message: String| TapError::Login { url: url.to_owned(), message };
        // Redirects not followed: a form re-posted elsewhere would carry the password there.
        let login = client(LOGIN_TIMEOUT, reqwest::redirect::Policy::none())?;
        for url in self.contexts().into_iter().map(|context| format!("{context}/login")) {
            let response = login
                .post(&url)
                .form(&[("username", user), ("password", password)])
                .send()
                .map_err(|e| self.unreachable(&url, e))?;
            let status = response.status();
            if matches!(status.as_u16(), 404 | 405) {
                continue;
            }
            if !status.is_success() {
                let text: String = response.text().unwrap_or_default().trim().chars().take(300).collect();
                return Err(refused(&url, if text.is_empty() { status.to_string() } else { text }));
            }
            let cookie = response.headers().get_all(reqwest::header::SET_COOKIE).iter().find_map(|value| {
                let first = value.to_str().ok()?.split(';').next()?.trim().to_owned();
                (first.starts_with("JSESSIONID=") || first.starts_with("SESSION=")).then_some(first)
            });
            let Some(cookie) = cookie else {
                return Err(refused(&url, "the service answered the login without a session cookie".into()));
            };
            let mut value = reqwest::header::HeaderValue::from_str(&cookie)
                .map_err(|_| refused(&url, "the session cookie is not a header value".into()))?;
            value.set_sensitive(true);
            self.credentials = Some(Credentials::Session(value));
            return Ok(());
        }
        let token = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{user}:{password}"));
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|_| refused(&self.base, "the user name cannot be sent".into()))?;
        value.set_sensitive(true);
        // Basic credentials are checked by the requests they ride on: one is made now.
        let jobs = format!("{}/async", self.base);
        let response = login
            .get(&jobs)
            .header(reqwest::header::AUTHORIZATION, value.clone())
            .send()
            .map_err(|e| self.unreachable(&jobs, e))?;
        if matches!(response.status().as_u16(), 401 | 403) {
            return Err(refused(&jobs, "wrong user name or password".into()));
        }
        self.credentials = Some(Credentials::Basic(value));
        Ok(())
    }

    /// Keeps `table` as a table of the logged-in user's on the service (TAP+'s Upload, beside
    /// the service or at its server context); the service's answer.
    pub fn keep_table(&self, table: &Upload, description: &str) -> Result<String> {
        if !self.is_logged_in() {
            return Err(TapError::Upload("log in first: tables are kept in a user's own space".into()));
        }
        for url in self.contexts().into_iter().map(|context| format!("{context}/Upload")) {
            let part = reqwest::blocking::multipart::Part::bytes(table.votable.clone())
                .file_name(format!("{}.vot", table.name))
                .mime_str("application/x-votable+xml")
                .map_err(|e| TapError::Upload(e.to_string()))?;
            let form = reqwest::blocking::multipart::Form::new()
                .text("TASKID", "-1")
                .text("TABLE_NAME", table.name.clone())
                .text("TABLE_DESC", description.to_owned())
                .text("FORMAT", "votable")
                .part("FILE", part);
            let response = self
                .request(&self.no_redirect, reqwest::Method::POST, &url)
                .multipart(form)
                .send()
                .map_err(|e| self.unreachable(&url, e))?;
            let status = response.status();
            if matches!(status.as_u16(), 404 | 405) {
                continue;
            }
            let body = response.bytes().map_err(|e| self.unreachable(&url, e))?;
            if let Some(error) = service_error(&body) {
                return Err(error);
            }
            let text: String = String::from_utf8_lossy(&body).trim().chars().take(500).collect();
            if !status.is_success() {
                return Err(TapError::Upload(format!("{url} answered {status}: {text}")));
            }
            return Ok(text);
        }
        Err(TapError::Upload(format!("{} takes no tables of users (no TAP+ Upload)", self.base)))
    }

    /// Ends a TAP+ login session on the service (best effort: it also ends by itself).
    pub fn log_out(&self) {
        if !matches!(self.credentials, Some(Credentials::Session(_))) {
            return;
        }
        for url in self.contexts().into_iter().map(|context| format!("{context}/logout")) {
            let ended = self.request(&self.no_redirect, reqwest::Method::POST, &url).send();
            if ended.is_ok_and(|r| r.status().is_success()) {
                return;
            }
        }
    }

    fn unreachable(&self, url: &str, error: reqwest::Error) -> TapError {
        unreachable(url, &error)
    }

    /// The parameters and parts of a query request.
    fn form(&self, query: &Query<'_>) -> Result<reqwest::blocking::multipart::Form> {
        let mut form = reqwest::blocking::multipart::Form::new()
            .text("REQUEST", "doQuery")
            .text("LANG", "ADQL")
            .text("QUERY", query.adql.to_owned())
            .text("FORMAT", "votable");
        if let Some(maxrec) = query.maxrec {
            form = form.text("MAXREC", maxrec.to_string());
        }
        if !query.uploads.is_empty() {
            let upload: Vec<String> = query.uploads.iter().map(|u| format!("{},param:{}", u.name, u.name)).collect();
            form = form.text("UPLOAD", upload.join(";"));
            for upload in query.uploads {
                let part = reqwest::blocking::multipart::Part::bytes(upload.votable.clone())
                    .file_name(format!("{}.vot", upload.name))
                    .mime_str("application/x-votable+xml")
                    .map_err(|e| TapError::Upload(e.to_string()))?;
                form = form.part(upload.name.clone(), part);
            }
        }
        Ok(form)
    }

    /// Runs a query synchronously (`/sync`).
    pub fn sync(&self, query: &Query<'_>) -> Result<Answer> {
        let url = format!("{}/sync", self.base);
        let response = self
            .request(&self.http, reqwest::Method::POST, &url)
            .multipart(self.form(query)?)
            .send()
            .map_err(|e| self.unreachable(&url, e))?;
        answer(response, &url)
    }

    /// Submits a query as an asynchronous job (`/async`), and starts it.
    pub fn submit(&self, query: &Query<'_>) -> Result<Job<'_>> {
        let url = format!("{}/async", self.base);
        let response = self
            .request(&self.no_redirect, reqwest::Method::POST, &url)
            .multipart(self.form(query)?)
            .send()
            .map_err(|e| self.unreachable(&url, e))?;
        let status = response.status();
        let location =
            response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
        let Some(location) = location.filter(|_| status.is_redirection() || status.is_success()) else {
            let body = response.bytes().unwrap_or_default();
            return Err(service_error(&body)
                .unwrap_or_else(|| TapError::Protocol(format!("{url} answered {status} without a job"))));
        };
        let job_url = if location.starts_with("http") { location } else { join(&self.base, &location) };
        let job = Job { service: self, url: job_url };
        job.set_phase("RUN")?;
        Ok(job)
    }

    /// What the service can do (VOSI `/capabilities`): languages, formats, limits.
    pub fn capabilities(&self) -> Result<vosi::Capabilities> {
        vosi::parse_capabilities(&self.document("capabilities")?)
    }

    /// The service's tables (VOSI `/tables`).
    pub fn tables(&self) -> Result<Vec<vosi::TableMeta>> {
        vosi::parse_tables(&self.document("tables")?)
    }

    /// A VOSI document of the service, by its endpoint's name.
    fn document(&self, endpoint: &str) -> Result<Vec<u8>> {
        let url = format!("{}/{endpoint}", self.base);
        let response =
            self.request(&self.http, reqwest::Method::GET, &url).send().map_err(|e| self.unreachable(&url, e))?;
        let status = response.status();
        let body = response.bytes().map_err(|e| self.unreachable(&url, e))?;
        if !status.is_success() {
            return Err(TapError::Protocol(format!("{url} answered {status}")));
        }
        Ok(body.to_vec())
    }
}

/// An asynchronous query (a UWS job).
pub struct Job<'a> {
    service: &'a TapService,
    pub url: String,
}

impl Job<'_> {
    fn set_phase(&self, phase: &str) -> Result<()> {
        let url = format!("{}/phase", self.url);
        let response = self
            .service
            .request(&self.service.http, reqwest::Method::POST, &url)
            .form(&[("PHASE", phase)])
            .send()
            .map_err(|e| self.service.unreachable(&url, e))?;
        if response.status().is_client_error() || response.status().is_server_error() {
            return Err(TapError::Protocol(format!("{url} refused PHASE={phase}: {}", response.status())));
        }
        Ok(())
    }

    /// The job's phase (PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED…).
    pub fn phase(&self) -> Result<String> {
        let url = format!("{}/phase", self.url);
        let response = self
            .service
            .request(&self.service.http, reqwest::Method::GET, &url)
            .send()
            .map_err(|e| self.service.unreachable(&url, e))?;
        Ok(response.text().map_err(|e| self.service.unreachable(&url, e))?.trim().to_owned())
    }

    /// Waits until the job is done (UWS 1.1 WAIT, so the service answers when the phase
    /// changes), at most `limit`; the final phase.
    pub fn wait(&self, limit: Duration) -> Result<String> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let phase = self.phase()?;
            if !matches!(phase.as_str(), "PENDING" | "QUEUED" | "EXECUTING") || std::time::Instant::now() >= deadline {
                return Ok(phase);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now()).as_secs().clamp(1, 60);
            let url = format!("{}?PHASE={phase}&WAIT={left}", self.url);
            // A service without WAIT answers at once; pause so as not to hammer it.
            let started = std::time::Instant::now();
            self.service
                .request(&self.service.http, reqwest::Method::GET, &url)
                .send()
                .map_err(|e| self.service.unreachable(&url, e))?;
            if started.elapsed() < Duration::from_millis(200) {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// The result of a completed job; the service's error for a failed one.
    pub fn result(&self) -> Result<Answer> {
        let phase = self.phase()?;
        if phase == "ERROR" {
            let url = format!("{}/error", self.url);
            let body = self
                .service
                .request(&self.service.http, reqwest::Method::GET, &url)
                .send()
                .and_then(|r| r.bytes())
                .unwrap_or_default();
            return Err(service_error(&body).unwrap_or_else(|| {
                TapError::Service(String::from_utf8_lossy(&body).trim().chars().take(500).collect())
            }));
        }
        if phase != "COMPLETED" {
            return Err(TapError::Job { url: self.url.clone(), phase });
        }
        let url = format!("{}/results/result", self.url);
        let response = self
            .service
            .request(&self.service.http, reqwest::Method::GET, &url)
            .send()
            .map_err(|e| self.service.unreachable(&url, e))?;
        answer(response, &url)
    }

    /// Stops the job (PHASE=ABORT).
    pub fn abort(&self) -> Result<()> {
        self.set_phase("ABORT")
    }

    /// Removes the job and its results from the service.
    pub fn delete(&self) -> Result<()> {
        let response = self
            .service
            .request(&self.service.http, reqwest::Method::DELETE, &self.url)
            .send()
            .map_err(|e| self.service.unreachable(&self.url, e))?;
        if response.status().is_client_error() || response.status().is_server_error() {
            // UWS 1.0 services take DELETE as a POST with ACTION=DELETE.
            self.service
                .request(&self.service.http, reqwest::Method::POST, &self.url)
                .form(&[("ACTION", "DELETE")])
                .send()
                .map_err(|e| self.service.unreachable(&self.url, e))?;
        }
        Ok(())
    }
}

fn join(base: &str, path: &str) -> String {
    match reqwest::Url::parse(base).and_then(|b| b.join(path)) {
        Ok(url) => url.to_string(),
        Err(_) => format!("{base}{path}"),
    }
}

/// A QUERY_STATUS=ERROR document's message, if `body` is one.
fn service_error(body: &[u8]) -> Option<TapError> {
    error_of(&skyglass_votable::read_votable(body).ok()?)
}

/// The service's error, when a document says QUERY_STATUS=ERROR.
fn error_of(document: &skyglass_votable::VoTable) -> Option<TapError> {
    match document.meta.query_status() {
        QueryStatus::Error(message) => {
            Some(TapError::Service(if message.is_empty() { "an error, without a message".to_owned() } else { message }))
        }
        _ => None,
    }
}

/// A failed request told as a user can act on it: no such host, nothing listening, no
/// answer in time, an untrusted certificate; the library's own words otherwise.
fn unreachable(url: &str, error: &reqwest::Error) -> TapError {
    // The causes' texts, outermost first (reqwest, hyper, the resolver, the OS).
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    let host = reqwest::Url::parse(url).ok().and_then(|u| {
        let host = u.host_str()?.to_owned();
        Some(u.port_or_known_default().map_or(host.clone(), |port| format!("{host}:{port}")))
    });
    let message = explain(&chain, error.is_timeout(), host.as_deref().unwrap_or(url));
    TapError::Unreachable { url: url.to_owned(), message }
}

/// What a chain of error texts means for the user, when it is one of the usual causes.
fn explain(chain: &str, timed_out: bool, host: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if timed_out {
        format!("{host} did not answer in time (a slow or unreachable service)")
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("no host called {name} could be found (no network, or a wrong name)")
    } else if lower.contains("connection refused") || lower.contains("receiver is gone") {
        // A refused connection shows as the second when the query's body was being sent.
        format!("nothing answers at {host} (the service is down, or the address or port is wrong)")
    } else if lower.contains("certificate") {
        format!("{host}'s TLS certificate is not trusted ({chain})")
    } else {
        chain.to_owned()
    }
}

/// A query's VOTable answer, its overflow flag, or the service's error. The body is parsed
/// once: its status, overflow and rows all come from that one reading.
fn answer(response: reqwest::blocking::Response, url: &str) -> Result<Answer> {
    let status = response.status();
    let body = response.bytes().map_err(|e| unreachable(url, &e))?;
    let document = skyglass_votable::read_votable(&body);
    if let Some(error) = document.as_ref().ok().and_then(error_of) {
        return Err(error);
    }
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body).trim().chars().take(500).collect();
        return Err(TapError::Protocol(format!("{url} answered {status}: {text}")));
    }
    let document = document.map_err(|e| TapError::Result(e.to_string()))?;
    let overflow = document.meta.query_status() == QueryStatus::Overflow;
    let table = skyglass_votable::first_table(document).map_err(|e| TapError::Result(e.to_string()))?;
    Ok(Answer { table, overflow })
}

/// Public TAP services worth knowing by name: short name, title, base URL.
pub const KNOWN_SERVICES: &[(&str, &str, &str)] = &[
    ("gaia", "ESA Gaia archive", "https://gea.esac.esa.int/tap-server/tap"),
    ("esasky", "ESASky (ESA)", "https://sky.esa.int/esasky-tap/tap"),
    ("xmm", "XMM-Newton Science Archive (ESA)", "https://nxsa.esac.esa.int/tap-server/tap"),
    ("hst", "Hubble (ESA eHST)", "https://hst.esac.esa.int/tap-server/tap"),
    ("vizier", "CDS VizieR", "https://tapvizier.cds.unistra.fr/TAPVizieR/tap"),
    ("simbad", "CDS SIMBAD", "https://simbad.cds.unistra.fr/simbad/sim-tap"),
    ("gavo", "GAVO Data Center", "https://dc.g-vo.org/tap"),
    ("irsa", "NASA/IPAC IRSA", "https://irsa.ipac.caltech.edu/TAP"),
    ("mast", "MAST (CAOM)", "https://mast.stsci.edu/vo-tap/api/v0.1/caom"),
    ("cadc", "CADC (CAOM)", "https://ws.cadc-ccda.hia-iha.nrc-gc.ca/argus"),
];

/// A service by short name (`gaia`), else the URL as given.
pub fn resolve_service(name_or_url: &str) -> &str {
    KNOWN_SERVICES
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(name_or_url))
        .map_or(name_or_url, |(_, _, url)| url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_causes_are_told_plainly() {
        // The chain reqwest gives for a name the resolver does not know.
        let dns = "error sending request for url (http://gaia.invalid/tap/sync): client error (Connect): \
                   dns error: failed to lookup address information: Name or service not known";
        assert_eq!(
            explain(dns, false, "gaia.invalid:80"),
            "no host called gaia.invalid could be found (no network, or a wrong name)"
        );
        assert_eq!(
            explain("operation timed out", true, "tap.example:443"),
            "tap.example:443 did not answer in time (a slow or unreachable service)"
        );
        // A connection refused while a multipart query was being sent.
        let refused = "request or response body error for url (http://127.0.0.1:9/tap/sync): send failed because \
                       receiver is gone";
        assert!(explain(refused, false, "127.0.0.1:9").starts_with("nothing answers at 127.0.0.1:9"));
        assert_eq!(explain("something else entirely", false, "h:1"), "something else entirely");
    }
}

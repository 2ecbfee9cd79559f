//! UWS 1.1 jobs for asynchronous TAP: kept in the archive's SQLite file, results written as
//! files under `jobs/ID/`, so a restart loses nothing. A job that was running when the
//! server stopped is in ERROR afterwards, saying so.

use crate::store::Archive;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a job may run, unless it asks for less.
pub const MAX_EXECUTION: Duration = Duration::from_secs(3600);
/// How long a job is kept, unless it asks for less.
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Queued,
    Executing,
    Completed,
    Error,
    Aborted,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Pending => "PENDING",
            Phase::Queued => "QUEUED",
            Phase::Executing => "EXECUTING",
            Phase::Completed => "COMPLETED",
            Phase::Error => "ERROR",
            Phase::Aborted => "ABORTED",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Phase::Pending,
            "QUEUED" => Phase::Queued,
            "EXECUTING" => Phase::Executing,
            "COMPLETED" => Phase::Completed,
            "ERROR" => Phase::Error,
            "ABORTED" => Phase::Aborted,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, Phase::Completed | Phase::Error | Phase::Aborted)
    }
}

/// A job as UWS describes it. Times are seconds since 1970.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    /// The user who made it; `None` for an anonymous caller's job, which anyone may see.
    pub owner: Option<String>,
    pub run_id: Option<String>,
    pub phase: Phase,
    /// The TAP parameters, names upper-cased.
    pub parameters: Vec<(String, String)>,
    pub created: f64,
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub destruction: f64,
    /// Seconds; 0 means no limit is asked (the service's own applies).
    pub execution_duration: u64,
    pub error: Option<String>,
    /// The result file's name under the job's folder, its media type and rows.
    pub result: Option<(String, String, u64)>,
}

impl Job {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no job {0}")]
    NotFound(String),
    #[error("job {id} is {phase}: {what}")]
    WrongPhase { id: String, phase: &'static str, what: &'static str },
    #[error("{0}")]
    BadValue(String),
    #[error("job metadata: {0}")]
    Metadata(#[from] rusqlite::Error),
    /// A task of the store's ended without an answer.
    #[error("the job store failed: {0}")]
    Failed(String),
}

/// What a job's work ends in: its result file's name, media type and rows, or why it failed.
pub type Outcome = Result<(String, String, u64), String>;
pub type JobFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>;
/// Runs a job's query and writes its result into the folder given; the TAP layer provides it.
pub type Runner = Arc<dyn Fn(Arc<Archive>, Job, PathBuf) -> JobFuture + Send + Sync>;

/// The job store and the jobs running now.
pub struct Jobs {
    archive: Arc<Archive>,
    runner: Runner,
    running: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    /// Bumped at every phase change: WAIT blocks on it.
    changes: tokio::sync::watch::Sender<u64>,
}

pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Jobs {
    /// The jobs of an archive. Jobs left QUEUED or EXECUTING by a stopped server are put
    /// in ERROR, and jobs past their destruction time are removed.
    pub fn open(archive: Arc<Archive>, runner: Runner) -> Result<Jobs, JobError> {
        {
            // The jobs table is part of the archive's layout (`schema`).
            let db = archive.metadata();
            db.execute(
                "UPDATE jobs SET phase = 'ERROR', ended = ?1, \
                 error = 'the server stopped while the job was queued or running' \
                 WHERE phase IN ('QUEUED', 'EXECUTING')",
                params![now()],
            )?;
        }
        let (changes, _) = tokio::sync::watch::channel(0);
        let jobs = Jobs { archive, runner, running: Mutex::new(HashMap::new()), changes };
        jobs.destroy_expired()?;
        Ok(jobs)
    }

    fn folder(&self, id: &str) -> PathBuf {
        self.archive.root().join("jobs").join(id)
    }

    pub fn result_path(&self, job: &Job) -> Option<PathBuf> {
        job.result.as_ref().map(|(name, _, _)| self.folder(&job.id).join(name))
    }

    pub fn create(&self, parameters: Vec<(String, String)>, owner: Option<String>) -> Result<Job, JobError> {
        let id = new_id();
        let run_id = parameters.iter().find(|(k, _)| k == "RUNID").map(|(_, v)| v.clone());
        let created = now();
        let job = Job {
            id,
            owner,
            run_id,
            phase: Phase::Pending,
            parameters,
            created,
            started: None,
            ended: None,
            destruction: created + MAX_LIFETIME.as_secs_f64(),
            execution_duration: MAX_EXECUTION.as_secs(),
            error: None,
            result: None,
        };
        let parameters = serde_json::to_string(&job.parameters).unwrap_or_else(|_| "[]".into());
        self.archive.metadata().execute(
            "INSERT INTO jobs (id, run_id, phase, parameters, created, destruction, execution_duration, owner) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                job.id,
                job.run_id,
                job.phase.name(),
                parameters,
                job.created,
                job.destruction,
                job.execution_duration as i64,
                job.owner
            ],
        )?;
        Ok(job)
    }

    /// The user who owns a job; `None` for an anonymous job or no job.
    pub fn owner(&self, id: &str) -> Option<String> {
        self.archive
            .metadata()
            .query_row("SELECT owner FROM jobs WHERE id = ?1", params![id], |row| row.get::<_, Option<String>>(0))
            .ok()
            .flatten()
    }

    pub fn get(&self, id: &str) -> Result<Job, JobError> {
        let db = self.archive.metadata();
        let job = db
            .query_row(
                "SELECT id, run_id, phase, parameters, created, started, ended, destruction, execution_duration, \
                 error, result_name, result_type, result_rows, owner FROM jobs WHERE id = ?1",
                params![id],
                job_from_row,
            )
            .optional()?;
        job.ok_or_else(|| JobError::NotFound(id.to_owned()))
    }

    /// All jobs, newest last, filtered as UWS 1.1's job list is: by phases, created after a
    /// time, the last N.
    /// The jobs of `owner` (anonymous ones for `None`), oldest first.
    pub fn list(
        &self,
        owner: Option<&str>,
        phases: &[Phase],
        after: Option<f64>,
        last: Option<usize>,
    ) -> Result<Vec<Job>, JobError> {
        let db = self.archive.metadata();
        let mut statement = db.prepare(
            "SELECT id, run_id, phase, parameters, created, started, ended, destruction, execution_duration, \
             error, result_name, result_type, result_rows, owner FROM jobs WHERE owner IS ?1 ORDER BY created",
        )?;
        let mut jobs: Vec<Job> = statement.query_map(params![owner], job_from_row)?.collect::<Result<_, _>>()?;
        jobs.retain(|job| (phases.is_empty() || phases.contains(&job.phase)) && after.is_none_or(|t| job.created > t));
        if let Some(last) = last {
            let skip = jobs.len().saturating_sub(last);
            jobs.drain(..skip);
        }
        Ok(jobs)
    }

    pub fn set_destruction(&self, id: &str, when: f64) -> Result<(), JobError> {
        let job = self.get(id)?;
        let when = when.min(job.created + MAX_LIFETIME.as_secs_f64());
        self.archive.metadata().execute("UPDATE jobs SET destruction = ?1 WHERE id = ?2", params![when, id])?;
        Ok(())
    }

    pub fn set_execution_duration(&self, id: &str, seconds: u64) -> Result<(), JobError> {
        let job = self.get(id)?;
        if job.phase != Phase::Pending {
            return Err(JobError::WrongPhase {
                id: id.to_owned(),
                phase: job.phase.name(),
                what: "only a PENDING job's limits change",
            });
        }
        let seconds = if seconds == 0 { MAX_EXECUTION.as_secs() } else { seconds.min(MAX_EXECUTION.as_secs()) };
        self.archive
            .metadata()
            .execute("UPDATE jobs SET execution_duration = ?1 WHERE id = ?2", params![seconds as i64, id])?;
        Ok(())
    }

    /// Changes a PENDING job's parameters (UWS allows it before the job runs).
    pub fn set_parameters(&self, id: &str, updates: Vec<(String, String)>) -> Result<(), JobError> {
        let mut job = self.get(id)?;
        if job.phase != Phase::Pending {
            return Err(JobError::WrongPhase {
                id: id.to_owned(),
                phase: job.phase.name(),
                what: "only a PENDING job's parameters change",
            });
        }
        for (key, value) in updates {
            job.parameters.retain(|(k, _)| *k != key);
            job.parameters.push((key, value));
        }
        let parameters = serde_json::to_string(&job.parameters).unwrap_or_else(|_| "[]".into());
        self.archive.metadata().execute("UPDATE jobs SET parameters = ?1 WHERE id = ?2", params![parameters, id])?;
        Ok(())
    }

    /// PHASE=RUN: queue the job and run it.
    pub fn run(self: &Arc<Self>, id: &str) -> Result<(), JobError> {
        let job = self.get(id)?;
        match job.phase {
            Phase::Pending => {}
            // Running it again is asking for what is happening already.
            Phase::Queued | Phase::Executing => return Ok(()),
            _ => return Err(JobError::WrongPhase { id: id.to_owned(), phase: job.phase.name(), what: "it has ended" }),
        }
        self.set_phase(id, Phase::Queued, None)?;
        let jobs = Arc::clone(self);
        let job_id = id.to_owned();
        let limit = Duration::from_secs(job.execution_duration.max(1));
        let task = tokio::spawn(async move {
            let _ = jobs.set_phase(&job_id, Phase::Executing, None);
            let Ok(job) = jobs.get(&job_id) else { return };
            let folder = jobs.folder(&job.id);
            let work = (jobs.runner)(Arc::clone(&jobs.archive), job, folder);
            let outcome = match tokio::time::timeout(limit, work).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("the job ran past its execution duration of {} s", limit.as_secs())),
            };
            let _ = match outcome {
                Ok(result) => jobs.finish(&job_id, Ok(result)),
                Err(message) => jobs.finish(&job_id, Err(message)),
            };
            jobs.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&job_id);
        });
        self.running.lock().unwrap_or_else(PoisonError::into_inner).insert(id.to_owned(), task.abort_handle());
        Ok(())
    }

    /// PHASE=ABORT.
    pub fn abort(&self, id: &str) -> Result<(), JobError> {
        let job = self.get(id)?;
        if job.phase.is_final() {
            return Err(JobError::WrongPhase { id: id.to_owned(), phase: job.phase.name(), what: "it has ended" });
        }
        if let Some(handle) = self.running.lock().unwrap_or_else(PoisonError::into_inner).remove(id) {
            handle.abort();
        }
        self.set_phase(id, Phase::Aborted, None)
    }

    /// Removes a job and its files (aborting it first).
    pub fn delete(&self, id: &str) -> Result<(), JobError> {
        self.get(id)?;
        if let Some(handle) = self.running.lock().unwrap_or_else(PoisonError::into_inner).remove(id) {
            handle.abort();
        }
        self.archive.metadata().execute("DELETE FROM jobs WHERE id = ?1", params![id])?;
        let _ = std::fs::remove_dir_all(self.folder(id));
        self.changes.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Waits up to `timeout` for the job to leave `phase` (or any active phase).
    pub async fn wait(self: &Arc<Self>, id: &str, phase: Option<Phase>, timeout: Duration) -> Result<Job, JobError> {
        let mut changes = self.changes.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // The store is SQLite: each look runs off the runtime's threads.
            let (jobs, job_id) = (Arc::clone(self), id.to_owned());
            let job = tokio::task::spawn_blocking(move || jobs.get(&job_id))
                .await
                .map_err(|e| JobError::Failed(e.to_string()))??;
            let waiting = match phase {
                Some(phase) => job.phase == phase,
                None => !job.phase.is_final() && job.phase != Phase::Pending,
            };
            if !waiting {
                return Ok(job);
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return Ok(job);
            }
        }
    }

    fn set_phase(&self, id: &str, phase: Phase, error: Option<String>) -> Result<(), JobError> {
        let db = self.archive.metadata();
        match phase {
            Phase::Executing => {
                db.execute("UPDATE jobs SET phase = ?1, started = ?2 WHERE id = ?3", params![phase.name(), now(), id])?
            }
            _ if phase.is_final() => db.execute(
                "UPDATE jobs SET phase = ?1, ended = ?2, error = COALESCE(?3, error) WHERE id = ?4",
                params![phase.name(), now(), error, id],
            )?,
            _ => db.execute("UPDATE jobs SET phase = ?1 WHERE id = ?2", params![phase.name(), id])?,
        };
        drop(db);
        self.changes.send_modify(|n| *n += 1);
        Ok(())
    }

    fn finish(&self, id: &str, outcome: Result<(String, String, u64), String>) -> Result<(), JobError> {
        // An aborted (or deleted) job stays as it is.
        let Ok(job) = self.get(id) else { return Ok(()) };
        if job.phase.is_final() {
            return Ok(());
        }
        match outcome {
            Ok((name, media_type, rows)) => {
                self.archive.metadata().execute(
                    "UPDATE jobs SET result_name = ?1, result_type = ?2, result_rows = ?3 WHERE id = ?4",
                    params![name, media_type, rows as i64, id],
                )?;
                self.set_phase(id, Phase::Completed, None)
            }
            Err(message) => self.set_phase(id, Phase::Error, Some(message)),
        }
    }

    /// Removes the jobs whose destruction time has passed.
    pub fn destroy_expired(&self) -> Result<(), JobError> {
        let expired: Vec<String> = {
            let db = self.archive.metadata();
            let mut statement = db.prepare("SELECT id FROM jobs WHERE destruction < ?1")?;
            statement.query_map(params![now()], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        for id in expired {
            self.delete(&id)?;
        }
        Ok(())
    }
}

fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let parameters: String = row.get(3)?;
    let phase: String = row.get(2)?;
    let result_name: Option<String> = row.get(10)?;
    let result_type: Option<String> = row.get(11)?;
    let result_rows: Option<i64> = row.get(12)?;
    Ok(Job {
        id: row.get(0)?,
        owner: row.get(13)?,
        run_id: row.get(1)?,
        phase: Phase::parse(&phase).unwrap_or(Phase::Error),
        parameters: serde_json::from_str(&parameters).unwrap_or_default(),
        created: row.get(4)?,
        started: row.get(5)?,
        ended: row.get(6)?,
        destruction: row.get(7)?,
        execution_duration: row.get::<_, i64>(8)?.max(0) as u64,
        error: row.get(9)?,
        result: match (result_name, result_type) {
            (Some(name), Some(media_type)) => Some((name, media_type, result_rows.unwrap_or(0).max(0) as u64)),
            _ => None,
        },
    })
}

/// A job id nobody can guess: 128 random bits from the system's source, in hex.
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Unlikely; the clock then makes it unique, if guessable.
        bytes[..8].copy_from_slice(&now().to_bits().to_be_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// UTC time as ISO 8601 (`2026-11-25T23:30:00.000Z`), as UWS writes times.
pub fn iso8601(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round() as i64;
    let (days, in_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, ms) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// ISO 8601 UTC (`YYYY-MM-DDThh:mm:ss[.fff][Z]`, or a date alone) to seconds since 1970.
pub fn parse_iso8601(text: &str) -> Option<f64> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00:00"));
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date_parts.next()??, date_parts.next()??, date_parts.next()??);
    let mut time_parts = time.split(':');
    let hours: f64 = time_parts.next()?.parse().ok()?;
    let minutes: f64 = time_parts.next().unwrap_or("0").parse().ok()?;
    let seconds: f64 = time_parts.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Civil date to days (the inverse of the above).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + hours * 3600.0 + minutes * 60.0 + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_round_trip() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_795_650_000.25), "2026-11-25T23:40:00.250Z");
        assert_eq!(parse_iso8601("2026-11-25T23:40:00.250Z"), Some(1_795_650_000.25));
        assert_eq!(parse_iso8601("2000-02-29"), Some(951_782_400.0));
        assert_eq!(parse_iso8601("yesterday"), None);
    }
}

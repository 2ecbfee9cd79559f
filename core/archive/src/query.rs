//! Running ADQL on the archive: translate, plan, limit, collect, under time and row limits.

use crate::ingest::adql_schema;
use crate::store::Archive;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;
use std::sync::Arc;
use std::time::Duration;

/// Rows returned when a query names no MAXREC.
pub const DEFAULT_MAXREC: usize = 100_000;
/// Rows a query can ever return.
pub const HARD_MAXREC: usize = 10_000_000;
/// How long a synchronous query may run.
pub const EXECUTION_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Adql(#[from] skyglass_adql::AdqlError),
    /// The query does not fit the tables (unknown table or column, wrong types).
    #[error("{0}")]
    Plan(String),
    #[error("the query ran longer than {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error("the query failed: {0}")]
    Execution(String),
}

impl QueryError {
    /// Whether the caller is at fault (a 4xx), rather than the service.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, QueryError::Execution(_))
    }
}

/// A result: its rows, and whether MAXREC cut it short.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub overflow: bool,
}

impl QueryResult {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

impl Archive {
    /// Runs an ADQL query, returning at most `maxrec` rows (and saying if there were more).
    pub async fn query(&self, adql: &str, maxrec: usize) -> Result<QueryResult, QueryError> {
        self.query_with_uploads(None, adql, maxrec, Vec::new()).await
    }

    /// [`Archive::query`] for `caller` (who reads the tables they may read, see `access`),
    /// with tables uploaded for this query only, as `TAP_UPLOAD.name`.
    pub async fn query_with_uploads(
        &self,
        caller: Option<&str>,
        adql: &str,
        maxrec: usize,
        uploads: Vec<(String, skyglass_votable::TableData)>,
    ) -> Result<QueryResult, QueryError> {
        let maxrec = maxrec.min(HARD_MAXREC);
        let mut statement = skyglass_adql::translate(adql)?;
        if let Some(call) = crate::xmatch_service::find_call(&statement, caller)? {
            return self.crossmatch_positional(&call, caller).await;
        }
        // Cone searches on HEALPix-sorted tables read only the cone's ranges.
        let cone = self
            .indexed_tables_for(caller)
            .is_ok_and(|indexed| crate::spatial::add_healpix_ranges(&mut statement, &indexed));
        let session = self.session_for(caller).await.map_err(|e| QueryError::Execution(e.to_string()))?;
        let mut state = if uploads.is_empty() { session.state() } else { with_uploads(&session, uploads)?.state() };
        if cone {
            // A cone reads a few pages of one row group: splitting the file between cores
            // only adds a second reader that finds nothing (0.5 ms of a 3.2 ms query).
            state.config_mut().options_mut().execution.target_partitions = 1;
        }
        let plan = state
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement)))
            .await
            .map_err(|error| QueryError::Plan(clean(&error.to_string())))?;
        let frame = DataFrame::new(state, plan);
        // One row more than asked tells whether there were more.
        let frame = frame.limit(0, Some(maxrec + 1)).map_err(|error| QueryError::Plan(clean(&error.to_string())))?;
        let schema = frame.schema().inner().clone();
        // On the query runtime: however busy the query, the service keeps answering.
        let collected = tokio::time::timeout(EXECUTION_LIMIT, self.executor().run(frame.collect()))
            .await
            .map_err(|_| QueryError::TimedOut(EXECUTION_LIMIT))?
            .map_err(|error| QueryError::Execution(format!("the query stopped: {error}")))?
            .map_err(|error| QueryError::Execution(clean(&error.to_string())))?;
        let mut batches = Vec::with_capacity(collected.len());
        let mut rows = 0;
        let mut overflow = false;
        for batch in collected {
            let room = maxrec - rows;
            if batch.num_rows() > room {
                overflow = true;
                if room > 0 {
                    batches.push(batch.slice(0, room));
                }
                break;
            }
            rows += batch.num_rows();
            batches.push(batch);
        }
        Ok(QueryResult { schema, batches, overflow })
    }
}

/// A session of its own for one query: the caller's schemas shared, plus TAP_UPLOAD
/// holding this query's uploads (other queries never see them).
fn with_uploads(
    session: &SessionContext,
    uploads: Vec<(String, skyglass_votable::TableData)>,
) -> Result<SessionContext, QueryError> {
    let plan_error = |e: datafusion::error::DataFusionError| QueryError::Plan(e.to_string());
    let ctx = crate::spatial_join::adql_session(session.copied_config());
    let (Some(shared), Some(own)) = (session.catalog("datafusion"), ctx.catalog("datafusion")) else {
        return Err(QueryError::Plan("no default catalog".into()));
    };
    for name in shared.schema_names() {
        if let Some(schema) = shared.schema(&name) {
            own.register_schema(&name, schema).map_err(plan_error)?;
        }
    }
    let upload_schema = Arc::new(MemorySchemaProvider::new());
    for (name, data) in uploads {
        let schema = adql_schema(&data.schema);
        let batches = data
            .batches
            .iter()
            .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueryError::Plan(format!("upload {name}: {e}")))?;
        let table = MemTable::try_new(schema, vec![batches]).map_err(plan_error)?;
        upload_schema.register_table(name.to_ascii_lowercase(), Arc::new(table)).map_err(plan_error)?;
    }
    own.register_schema("tap_upload", upload_schema).map_err(plan_error)?;
    Ok(ctx)
}

/// DataFusion's messages, without its internal prefixes.
fn clean(message: &str) -> String {
    message
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("Schema error: ")
        .replace("datafusion.public.", "")
        .replace("datafusion.", "")
}

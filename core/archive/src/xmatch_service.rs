//! The crossmatch service, called as the ESA Gaia archive calls it (astroquery's
//! `cross_match`): `SELECT crossmatch_positional('schema_a', 'table_a', 'schema_b',
//! 'table_b', radius_arcsec, 'result') FROM dual`, sync or async. Every pair of rows within
//! the radius, with A's columns, B's and the separation in arcseconds, is stored as the
//! table `user_<caller>.result` (`results.result` for an anonymous caller), HEALPix-indexed
//! on A's positions, in TAP_SCHEMA, queryable at once; the query answers one row naming the
//! table and counting the pairs. Both tables must be readable by the caller.

use crate::ingest::{HEALPIX_COLUMN, IngestOptions};
use crate::query::{QueryError, QueryResult};
use crate::quota::Holder;
use crate::store::{Archive, TableName};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, SelectItem, SetExpr, Statement, TableFactor, Value,
};
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::quota::RESULTS_SCHEMA;
/// The largest radius the service takes, in arcseconds.
const LARGEST_RADIUS_ARCSEC: f64 = 3600.0;
const USAGE: &str = "crossmatch_positional takes ('schema_a', 'table_a', 'schema_b', 'table_b', radius in arcsec, \
                     'result_table') and is selected FROM dual";

/// A crossmatch the service was asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossmatchCall {
    pub a: TableName,
    pub b: TableName,
    pub radius_arcsec: f64,
    pub result: TableName,
}

/// The call in a translated statement, `None` when the statement is any other query.
pub fn find_call(statement: &Statement, caller: Option<&str>) -> Result<Option<CrossmatchCall>, QueryError> {
    let Statement::Query(query) = statement else { return Ok(None) };
    let SetExpr::Select(select) = query.body.as_ref() else { return Ok(None) };
    let [
        SelectItem::UnnamedExpr(Expr::Function(function))
        | SelectItem::ExprWithAlias { expr: Expr::Function(function), .. },
    ] = select.projection.as_slice()
    else {
        return Ok(None);
    };
    if !function.name.to_string().eq_ignore_ascii_case("crossmatch_positional") {
        return Ok(None);
    }
    let bad = |why: &str| QueryError::Plan(format!("{USAGE}: {why}"));
    let from_dual = matches!(select.from.as_slice(), [table] if table.joins.is_empty()
        && matches!(&table.relation, TableFactor::Table { name, .. } if name.to_string().eq_ignore_ascii_case("dual")));
    if !from_dual {
        return Err(bad("select it FROM dual, alone"));
    }
    let FunctionArguments::List(list) = &function.args else { return Err(bad("no arguments")) };
    let mut texts = Vec::new();
    let mut radius = None;
    for arg in &list.args {
        let FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) = arg else { return Err(bad("unexpected argument")) };
        match literal(expr) {
            Some(Literal::Text(text)) => texts.push(text),
            Some(Literal::Number(number)) if texts.len() == 4 && radius.is_none() => radius = Some(number),
            _ => return Err(bad(&format!("{expr} is not a literal in its place"))),
        }
    }
    let (Some(radius), [schema_a, table_a, schema_b, table_b, result]) = (radius, texts.as_slice()) else {
        return Err(bad(&format!("{} arguments given", list.args.len())));
    };
    if !(radius.is_finite() && radius > 0.0 && radius <= LARGEST_RADIUS_ARCSEC) {
        return Err(QueryError::Plan(format!(
            "the crossmatch radius is in arcseconds, above 0 and at most {LARGEST_RADIUS_ARCSEC}, not {radius}"
        )));
    }
    let name = |schema: &str, table: &str| {
        TableName::parse(&format!("{schema}.{table}")).map_err(|e| QueryError::Plan(e.to_string()))
    };
    Ok(Some(CrossmatchCall {
        a: name(schema_a, table_a)?,
        b: name(schema_b, table_b)?,
        radius_arcsec: radius,
        result: name(&Holder::of(caller).schema(), result)?,
    }))
}

enum Literal {
    Text(String),
    Number(f64),
}

fn literal(expr: &Expr) -> Option<Literal> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(text) => Some(Literal::Text(text.clone())),
            Value::Number(number, _) => number.parse().ok().map(Literal::Number),
            _ => None,
        },
        // The translator casts numbers in some places; a cast of a literal is still one.
        Expr::Cast { expr, .. } | Expr::Nested(expr) => literal(expr),
        Expr::UnaryOp { op: datafusion::sql::sqlparser::ast::UnaryOperator::Minus, expr } => match literal(expr)? {
            Literal::Number(number) => Some(Literal::Number(-number)),
            Literal::Text(_) => None,
        },
        _ => None,
    }
}

impl Archive {
    /// Runs a crossmatch call: both tables read whole, matched on every core, the pairs
    /// stored as a new table.
    pub async fn crossmatch_positional(
        &self,
        call: &CrossmatchCall,
        caller: Option<&str>,
    ) -> Result<QueryResult, QueryError> {
        let indexed = self.indexed_tables_for(caller).map_err(|e| QueryError::Execution(e.to_string()))?;
        // Another user's result name may exist: only the caller's own schema is written to.
        let known = self.tables_for(caller).map_err(|e| QueryError::Execution(e.to_string()))?;
        let exists = |table: &TableName| known.iter().any(|t| t.schema == table.schema && t.name == table.name);
        for table in [&call.a, &call.b] {
            if !exists(table) {
                return Err(QueryError::Plan(format!("no table {}", table.qualified())));
            }
        }
        self.check_room_for_table(Holder::of(caller)).map_err(|e| quota_refusal(&e))?;
        if exists(&call.result) {
            return Err(QueryError::Plan(format!(
                "the table {} exists already: choose another name for the result",
                call.result.qualified()
            )));
        }
        let position = |table: &TableName| {
            indexed.get(&table.qualified()).map(|t| (t.ra.clone(), t.dec.clone())).ok_or_else(|| {
                QueryError::Plan(format!(
                    "{} has no position columns flagged: ingest it with --ra and --dec",
                    table.qualified()
                ))
            })
        };
        let (ra_a, dec_a) = position(&call.a)?;
        let (ra_b, dec_b) = position(&call.b)?;
        let session = self.session_for(caller).await.map_err(|e| QueryError::Execution(e.to_string()))?;
        let (a, b) = (whole_table(&session, &call.a).await?, whole_table(&session, &call.b).await?);
        let positions = |batch: &RecordBatch, ra: &str, dec: &str| -> Result<_, QueryError> {
            let column = |name: &str| {
                batch
                    .schema_ref()
                    .index_of(name)
                    .ok()
                    .and_then(|i| skyglass_xmatch::to_float64(batch.column(i)))
                    .ok_or_else(|| QueryError::Execution(format!("the position column {name} cannot be read")))
            };
            Ok((column(ra)?, column(dec)?))
        };
        let (ra_a_values, dec_a_values) = positions(&a, &ra_a, &dec_a)?;
        let (ra_b_values, dec_b_values) = positions(&b, &ra_b, &dec_b)?;
        let radius = call.radius_arcsec / 3600.0;
        let matches = tokio::task::spawn_blocking(move || {
            skyglass_xmatch::crossmatch(
                skyglass_xmatch::Positions { ra: &ra_a_values, dec: &dec_a_values },
                skyglass_xmatch::Positions { ra: &ra_b_values, dec: &dec_b_values },
                radius,
                skyglass_xmatch::Mode::All,
            )
        })
        .await
        .map_err(|e| QueryError::Execution(format!("the crossmatch stopped: {e}")))?
        .map_err(|e| QueryError::Execution(format!("crossmatch: {e}")))?;
        let pairs = skyglass_xmatch::pair_table(&a, &b, &matches, skyglass_xmatch::Mode::All)
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        let count = pairs.num_rows();
        // Position columns as the pair table names them (suffixed when both tables have them).
        let renamed = |name: &str| {
            if pairs.schema_ref().index_of(name).is_ok() { name.to_owned() } else { format!("{name}_1") }
        };
        let options = IngestOptions {
            ra: Some(renamed(&ra_a)),
            dec: Some(renamed(&dec_a)),
            description: Some(format!(
                "Pairs of {} and {} within {}″, with their separation (arcsec)",
                call.a.qualified(),
                call.b.qualified(),
                call.radius_arcsec
            )),
            ..IngestOptions::default()
        };
        let data = skyglass_votable::TableData {
            schema: pairs.schema(),
            batches: vec![pairs],
            options: skyglass_votable::WriteOptions::default(),
            diagnostic_count: 0,
        };
        self.ingest(&data, &call.result, &options).await.map_err(|e| QueryError::Execution(e.to_string()))?;
        if let Err(over) = self.check_bytes(Holder::of(caller)) {
            let _ = self.drop_table(&call.result).await;
            return Err(quota_refusal(&over));
        }
        tracing::info!(a = call.a.qualified(), b = call.b.qualified(), pairs = count, "crossmatch stored");

        let meta = |ucd: &str, description: &str| {
            HashMap::from([("ucd".to_owned(), ucd.to_owned()), ("description".to_owned(), description.to_owned())])
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("table_name", DataType::Utf8, false)
                .with_metadata(meta("meta.id;meta.table", "The result table")),
            Field::new("pairs", DataType::Int64, false).with_metadata(meta("meta.number", "Pairs within the radius")),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![call.result.qualified()])),
            Arc::new(Int64Array::from(vec![count as i64])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| QueryError::Execution(e.to_string()))?;
        Ok(QueryResult { schema, batches: vec![batch], overflow: false })
    }
}

/// A quota the result would break, as the query's error (the caller's to act on), or the
/// archive's failure to count.
fn quota_refusal(error: &crate::store::ArchiveError) -> QueryError {
    match error {
        crate::store::ArchiveError::Quota(over) => QueryError::Plan(over.to_string()),
        other => QueryError::Execution(other.to_string()),
    }
}

/// A table's rows in one batch, without the HEALPix index column (an artefact of storage).
pub(crate) async fn whole_table(
    session: &datafusion::execution::context::SessionContext,
    table: &TableName,
) -> Result<RecordBatch, QueryError> {
    let frame = session.table(table.qualified()).await.map_err(|e| QueryError::Plan(e.to_string()))?;
    let schema = frame.schema().inner().clone();
    let batches = frame.collect().await.map_err(|e| QueryError::Execution(e.to_string()))?;
    let batch =
        arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| QueryError::Execution(e.to_string()))?;
    let keep: Vec<usize> = (0..schema.fields().len()).filter(|&i| schema.field(i).name() != HEALPIX_COLUMN).collect();
    batch.project(&keep).map_err(|e| QueryError::Execution(e.to_string()))
}

//! `/timeseries/{schema.table}`: a series of any length as about two points per pixel.
//!
//! `x=COL&y=COL[,COL…]&start=…&end=…&width=N[&method=minmaxlttb|lttb][&format=json|votable]`
//! answers, for each y column, about `2 × width` of its points between `start` and `end`.
//! MinMaxLTTB (the default) streams the range once: each of `4 × width` bins of equal width
//! in x keeps its lowest and highest point, batch by batch on every core, so memory holds
//! the bins and never the table; LTTB then picks from those extremes. Row groups outside
//! the range are never read (their statistics rule them out; `skyglass ingest --time`
//! sorts a table by time so that ranges are few row groups). `method=lttb` is LTTB over
//! every point of the range, for ranges of up to [`LTTB_MOST_ROWS`] rows.

use crate::query::QueryError;
use crate::store::{Archive, TableName};
use arrow_array::{Array, Float64Array, RecordBatch};
use datafusion::physical_plan::execute_stream_partitioned;
use futures_util::StreamExt;

/// Bins per output point pair: MinMaxLTTB's usual ratio.
const MINMAX_RATIO: usize = 4;
/// The widest plot answered, in pixels.
pub const LARGEST_WIDTH: usize = 100_000;
/// Rows `method=lttb` takes in memory.
pub const LTTB_MOST_ROWS: u64 = 50_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    MinMaxLttb,
    Lttb,
}

/// What is asked for.
#[derive(Clone, Debug)]
pub struct SeriesRequest {
    pub table: TableName,
    pub x: String,
    pub y: Vec<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub width: usize,
    pub method: Method,
}

/// One y column's picks.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Downsampled {
    pub start: f64,
    pub end: f64,
    /// Rows of the table in the range (with or without values).
    pub rows: u64,
    pub series: Vec<Series>,
}

/// The lowest and highest point of one bin of one series.
#[derive(Clone, Copy, Debug)]
struct Extremes {
    low: (f64, f64),
    high: (f64, f64),
}

impl Extremes {
    fn add(slot: &mut Option<Extremes>, x: f64, y: f64) {
        match slot {
            None => *slot = Some(Extremes { low: (x, y), high: (x, y) }),
            Some(bin) => {
                // Ties go to the earlier point, whatever order the rows come in.
                if y < bin.low.1 || (y == bin.low.1 && x < bin.low.0) {
                    bin.low = (x, y);
                }
                if y > bin.high.1 || (y == bin.high.1 && x < bin.high.0) {
                    bin.high = (x, y);
                }
            }
        }
    }

    fn merge(slot: &mut Option<Extremes>, other: Option<Extremes>) {
        if let Some(other) = other {
            Extremes::add(slot, other.low.0, other.low.1);
            Extremes::add(slot, other.high.0, other.high.1);
        }
    }
}

/// One series binned: each bin's extremes, and the earliest and latest points (the ends
/// of the plotted range).
#[derive(Clone, Debug)]
struct Binned {
    bins: Vec<Option<Extremes>>,
    earliest: Option<(f64, f64)>,
    latest: Option<(f64, f64)>,
}

impl Binned {
    fn new(bins: usize) -> Binned {
        Binned { bins: vec![None; bins], earliest: None, latest: None }
    }

    fn keep_ends(&mut self, earliest: Option<(f64, f64)>, latest: Option<(f64, f64)>) {
        if let Some(point) = earliest.filter(|p| self.earliest.is_none_or(|e| p.0 < e.0)) {
            self.earliest = Some(point);
        }
        if let Some(point) = latest.filter(|p| self.latest.is_none_or(|l| p.0 > l.0)) {
            self.latest = Some(point);
        }
    }

    fn merge(&mut self, other: Binned) {
        for (slot, bin) in self.bins.iter_mut().zip(other.bins) {
            Extremes::merge(slot, bin);
        }
        self.keep_ends(other.earliest, other.latest);
    }

    /// The range's first point, each bin's two points in order of x (bins are in order
    /// already), the range's last point.
    fn points(self) -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = Vec::with_capacity(self.bins.len() * 2 + 2);
        points.extend(self.earliest);
        for bin in self.bins.into_iter().flatten() {
            let (first, second) = if bin.low.0 <= bin.high.0 { (bin.low, bin.high) } else { (bin.high, bin.low) };
            points.push(first);
            points.push(second);
        }
        points.extend(self.latest);
        points.dedup();
        points
    }
}

impl Archive {
    /// Downsamples the columns of a table `caller` may read for a plot `width` pixels wide.
    pub async fn timeseries(&self, request: &SeriesRequest, caller: Option<&str>) -> Result<Downsampled, QueryError> {
        let plan = |message: String| QueryError::Plan(message);
        if request.width == 0 || request.width > LARGEST_WIDTH {
            return Err(plan(format!(
                "width is a plot's width in pixels, 1 to {LARGEST_WIDTH}, not {}",
                request.width
            )));
        }
        if request.y.is_empty() {
            return Err(plan("name the columns to plot: y=COLUMN[,COLUMN…]".to_owned()));
        }
        let tables = self.tables_for(caller).map_err(|e| QueryError::Execution(e.to_string()))?;
        let session = self.session_for(caller).await.map_err(|e| QueryError::Execution(e.to_string()))?;
        let table = tables
            .iter()
            .find(|t| t.schema == request.table.schema && t.name == request.table.name)
            .ok_or_else(|| plan(format!("no table {}", request.table.qualified())))?;
        for name in std::iter::once(&request.x).chain(&request.y) {
            let column = table.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
                plan(format!(
                    "{} has no column {name:?}; its columns: {}",
                    table.qualified(),
                    table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            let numeric =
                matches!(column.datatype.as_str(), "double" | "float" | "long" | "int" | "short" | "unsignedByte");
            if !numeric {
                return Err(plan(format!("column {name} holds {}, not numbers", column.datatype)));
            }
        }
        let quoted = |name: &str| format!("\"{}\"", name.to_ascii_lowercase().replace('"', ""));
        let x = quoted(&request.x);
        let source = format!("{}.{}", quoted(&request.table.schema), quoted(&request.table.name));

        // The column's extent from the file's row-group statistics (no rows read), else
        // by a query.
        let (low, high) = match self.statistics_range(&request.table, &request.x.to_ascii_lowercase()) {
            Some(range) => range,
            None => range(&session, &x, &source).await?,
        };
        let (start, end) = (request.start.unwrap_or(low), request.end.unwrap_or(high));
        if !(start.is_finite() && end.is_finite() && start <= end) {
            return Err(plan(format!("the range must be two numbers, start ≤ end, not {start} to {end}")));
        }
        let columns: Vec<String> = request.y.iter().map(|y| format!("CAST({} AS DOUBLE)", quoted(y))).collect();
        // A range covering the whole table needs no filter (filtering copies every batch).
        let filter = if start <= low && end >= high {
            String::new()
        } else {
            format!(" WHERE {x} >= {start:?} AND {x} <= {end:?}")
        };
        let sql = format!("SELECT CAST({x} AS DOUBLE), {} FROM {source}{filter}", columns.join(", "));
        let frame = session.sql(&sql).await.map_err(|e| plan(e.to_string()))?;
        let plan_physical = frame.create_physical_plan().await.map_err(|e| plan(e.to_string()))?;
        let context = session.task_ctx();
        // On the query runtime: a long scan never keeps the service from answering.
        let work = downsample(plan_physical, context, request.method, request.y.clone(), start, end, request.width);
        let (rows, series) = self
            .executor()
            .run(work)
            .await
            .map_err(|e| QueryError::Execution(format!("the series stopped: {e}")))??;
        Ok(Downsampled { start, end, rows, series })
    }

    /// The smallest and largest value of a numeric column, from the Parquet file's
    /// row-group statistics, when every row group has them.
    fn statistics_range(&self, table: &TableName, column: &str) -> Option<(f64, f64)> {
        use parquet::file::reader::FileReader;
        use parquet::file::statistics::Statistics;
        let file = std::fs::File::open(self.parquet_path(table)).ok()?;
        let reader = parquet::file::reader::SerializedFileReader::new(file).ok()?;
        let metadata = reader.metadata();
        let index = metadata.file_metadata().schema_descr().columns().iter().position(|c| c.name() == column)?;
        let mut range: Option<(f64, f64)> = None;
        for group in metadata.row_groups() {
            let (low, high) = match group.column(index).statistics()? {
                Statistics::Double(s) => (*s.min_opt()?, *s.max_opt()?),
                Statistics::Float(s) => (f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)),
                Statistics::Int64(s) => (*s.min_opt()? as f64, *s.max_opt()? as f64),
                Statistics::Int32(s) => (f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)),
                _ => return None,
            };
            range = Some(range.map_or((low, high), |(l, h)| (l.min(low), h.max(high))));
        }
        range.filter(|(low, high)| low.is_finite() && high.is_finite())
    }
}

/// The smallest and largest value of a column.
async fn range(
    session: &datafusion::execution::context::SessionContext,
    x: &str,
    source: &str,
) -> Result<(f64, f64), QueryError> {
    let sql = format!("SELECT CAST(MIN({x}) AS DOUBLE), CAST(MAX({x}) AS DOUBLE) FROM {source}");
    let frame = session.sql(&sql).await.map_err(|e| QueryError::Plan(e.to_string()))?;
    let batches = frame.collect().await.map_err(|e| QueryError::Execution(e.to_string()))?;
    let value = |column: usize| {
        batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| floats(b, column))
            .filter(|values| values.is_valid(0))
            .map(|values| values.value(0))
    };
    match (value(0), value(1)) {
        (Some(low), Some(high)) => Ok((low, high)),
        _ => Err(QueryError::Plan("the table has no values to plot".to_owned())),
    }
}

/// Reads the range and downsamples each series: the part that runs on the query runtime.
async fn downsample(
    plan_physical: std::sync::Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    context: std::sync::Arc<datafusion::execution::TaskContext>,
    method: Method,
    names: Vec<String>,
    start: f64,
    end: f64,
    width: usize,
) -> Result<(u64, Vec<Series>), QueryError> {
    let plan = |message: String| QueryError::Plan(message);
    let n_out = 2 * width;
    match method {
        Method::MinMaxLttb => {
            let bins = width * MINMAX_RATIO;
            let streams =
                execute_stream_partitioned(plan_physical, context).map_err(|e| QueryError::Execution(e.to_string()))?;
            // Each partition bins its batches on its own task; the bins are merged after.
            let tasks: Vec<_> = streams
                .into_iter()
                .map(|mut stream| {
                    let series = names.len();
                    tokio::spawn(async move {
                        let mut found = vec![Binned::new(bins); series];
                        let mut rows = 0u64;
                        while let Some(batch) = stream.next().await {
                            let batch = batch.map_err(|e| QueryError::Execution(e.to_string()))?;
                            rows += batch.num_rows() as u64;
                            bin_batch(&batch, start, end, &mut found);
                        }
                        Ok::<_, QueryError>((rows, found))
                    })
                })
                .collect();
            let mut rows = 0;
            let mut merged = vec![Binned::new(bins); names.len()];
            for task in tasks {
                let (part_rows, found) =
                    task.await.map_err(|e| QueryError::Execution(format!("binning stopped: {e}")))??;
                rows += part_rows;
                for (into, from) in merged.iter_mut().zip(found) {
                    into.merge(from);
                }
            }
            let mut series = Vec::with_capacity(names.len());
            for (name, binned) in names.iter().zip(merged) {
                series.push(pick(name, &binned.points(), n_out)?);
            }
            Ok((rows, series))
        }
        Method::Lttb => {
            let mut points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); names.len()];
            let mut rows = 0u64;
            let mut stream = datafusion::physical_plan::execute_stream(plan_physical, context)
                .map_err(|e| QueryError::Execution(e.to_string()))?;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| QueryError::Execution(e.to_string()))?;
                rows += batch.num_rows() as u64;
                if rows > LTTB_MOST_ROWS {
                    return Err(plan(format!(
                        "method=lttb holds the whole range in memory, at most {LTTB_MOST_ROWS} rows: use \
                             method=minmaxlttb, or a narrower range"
                    )));
                }
                let Some(xs) = floats(&batch, 0) else { continue };
                for (index, out) in points.iter_mut().enumerate() {
                    let Some(ys) = floats(&batch, index + 1) else { continue };
                    out.extend((0..batch.num_rows()).filter(|&r| xs.is_valid(r) && ys.is_valid(r)).filter_map(|r| {
                        let (x, y) = (xs.value(r), ys.value(r));
                        (x.is_finite() && y.is_finite()).then_some((x, y))
                    }));
                }
            }
            let mut series = Vec::with_capacity(names.len());
            for (name, mut points) in names.iter().zip(points) {
                // Rows come in storage order: by time for tables ingested with --time.
                if points.windows(2).any(|pair| pair[0].0 > pair[1].0) {
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                }
                series.push(pick(name, &points, n_out)?);
            }
            Ok((rows, series))
        }
    }
}

fn floats(batch: &RecordBatch, column: usize) -> Option<&Float64Array> {
    batch.columns().get(column)?.as_any().downcast_ref::<Float64Array>()
}

/// Adds a batch's rows to each series' bins (rows without a value, or outside the range,
/// are left out).
fn bin_batch(batch: &RecordBatch, start: f64, end: f64, found: &mut [Binned]) {
    let Some(xs) = floats(batch, 0) else { return };
    let span = end - start;
    for (index, binned) in found.iter_mut().enumerate() {
        let Some(ys) = floats(batch, index + 1) else { continue };
        let count = binned.bins.len();
        let scale = if span > 0.0 { count as f64 / span } else { 0.0 };
        let nulls = xs.null_count() > 0 || ys.null_count() > 0;
        // The batch's earliest and latest points, kept once per batch.
        let mut earliest: Option<(f64, f64)> = None;
        let mut latest: Option<(f64, f64)> = None;
        for (row, (&x, &y)) in xs.values().iter().zip(ys.values().iter()).enumerate() {
            if (nulls && (xs.is_null(row) || ys.is_null(row))) || !y.is_finite() || !(start..=end).contains(&x) {
                continue;
            }
            let bin = (((x - start) * scale) as usize).min(count - 1);
            Extremes::add(&mut binned.bins[bin], x, y);
            if earliest.is_none_or(|(e, _)| x < e) {
                earliest = Some((x, y));
            }
            if latest.is_none_or(|(l, _)| x > l) {
                latest = Some((x, y));
            }
        }
        binned.keep_ends(earliest, latest);
    }
}

/// LTTB over points in order of x.
fn pick(name: &str, points: &[(f64, f64)], n_out: usize) -> Result<Series, QueryError> {
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let picked = skyglass_series::lttb(&xs, &ys, n_out.max(3))
        .map_err(|e| QueryError::Execution(format!("downsampling {name}: {e}")))?;
    Ok(Series {
        name: name.to_owned(),
        x: picked.iter().map(|&i| xs[i]).collect(),
        y: picked.iter().map(|&i| ys[i]).collect(),
    })
}

//! Tables into series: which table of a file to plot, which column is x, and array cells
//! (a day of GOES X-ray fluxes kept in one row) split into one row per time.

use anyhow::{Context, Result, bail};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use skyglass_votable::TableFormat;
use std::path::Path;
use std::sync::Arc;

/// Most columns plotted from one table.
const MOST_SERIES: usize = 8;

/// One column against the table's x column, ascending in x, without missing values.
pub struct PlotSeries {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl PlotSeries {
    /// The series' usual step in x: the median of up to 4096 of its steps, spread along it.
    pub fn typical_step(&self) -> f64 {
        if self.x.len() < 2 {
            return 0.0;
        }
        let count = self.x.len() - 1;
        let stride = count.div_ceil(4096).max(1);
        let mut steps: Vec<f64> = (0..count).step_by(stride).map(|i| self.x[i + 1] - self.x[i]).collect();
        steps.sort_by(f64::total_cmp);
        steps[steps.len() / 2]
    }

    /// The points of `[low, high]` worth drawing at `pixels` across: all of them when few,
    /// else MinMaxLTTB's pick of two per pixel.
    pub fn visible_points(&self, low: f64, high: f64, pixels: usize) -> Vec<[f64; 2]> {
        // One point either side of the view, so lines run to its edges.
        let start = self.x.partition_point(|x| *x < low).saturating_sub(1);
        let end = (self.x.partition_point(|x| *x <= high) + 1).min(self.x.len());
        if start >= end {
            return Vec::new();
        }
        let (x, y) = (&self.x[start..end], &self.y[start..end]);
        let wanted = (2 * pixels).max(3);
        let picks = if x.len() <= wanted {
            (0..x.len()).collect()
        } else {
            skyglass_series::minmaxlttb_parallel(x, y, wanted, 4).unwrap_or_else(|_| (0..x.len()).collect())
        };
        picks.into_iter().map(|i| [x[i], y[i]]).collect()
    }
}

/// A table read for plotting: its label in the file (a FITS HDU) and its rows.
#[derive(Debug)]
pub struct PlotTable {
    pub label: String,
    pub batch: RecordBatch,
}

/// The numeric columns of one table against one of them.
pub struct TableSeries {
    pub x_name: String,
    pub x_unit: Option<String>,
    /// Every numeric column, any of which can be the x axis.
    pub numeric_columns: Vec<String>,
    pub series: Vec<PlotSeries>,
}

/// Every table of a file: each binary table of a FITS file (a light curve usually shares
/// its file with energy bands and good time intervals), the one table of other formats.
pub fn read_tables(path: &Path) -> Result<Vec<PlotTable>> {
    let format =
        TableFormat::from_path(path).with_context(|| format!("cannot tell the format of {}", path.display()))?;
    let bytes = crate::convert::read_input(&path.to_string_lossy())?;
    tables_in(&bytes, format).with_context(|| format!("cannot read {}", path.display()))
}

/// The tables of a document on the web: a table file, or a query's result (a TAP sync URL
/// answers a VOTable, whose QUERY_STATUS says whether the query failed). Blocking.
pub fn download_tables(url: &str) -> Result<Vec<PlotTable>> {
    download_tables_as(url, None)
}

/// [`download_tables`] with the format given (SAMP's table.load.fits and
/// table.load.votable say which), and `file://` URLs read from disk.
pub fn download_tables_as(url: &str, format: Option<TableFormat>) -> Result<Vec<PlotTable>> {
    if let Some(path) = url.strip_prefix("file://") {
        let path = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| std::path::PathBuf::from(path));
        let format = format
            .or_else(|| TableFormat::from_path(&path))
            .with_context(|| format!("cannot tell the format of {}", path.display()))?;
        let bytes = crate::convert::read_input(&path.to_string_lossy())?;
        return tables_in(&bytes, format).with_context(|| format!("cannot read {}", path.display()));
    }
    let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(300)).build()?;
    let response = client.get(url).send().with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let path_format = reqwest::Url::parse(url).ok().and_then(|u| TableFormat::from_path(Path::new(u.path())));
    let format = if let Some(format) = format {
        format
    } else if content_type.contains("fits") {
        TableFormat::Fits
    } else if content_type.contains("csv") {
        TableFormat::Csv
    } else if content_type.contains("parquet") {
        TableFormat::Parquet
    } else {
        // VOTable is what TAP and other VO services answer by default.
        path_format.unwrap_or(TableFormat::VoTable)
    };
    let bytes = response.bytes().with_context(|| format!("the answer of {url} was cut short"))?.to_vec();
    let bytes = crate::convert::gunzip_if_gzipped(bytes, &format!("the answer of {url}"))?;
    if format == TableFormat::VoTable
        && let Ok(document) = skyglass_votable::read_votable(&bytes)
        && let skyglass_votable::QueryStatus::Error(message) = document.meta.query_status()
    {
        bail!("the service says: {message}");
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        bail!("the service answered {status}: {text}");
    }
    tables_in(&bytes, format).with_context(|| format!("cannot read the answer of {url}"))
}

fn tables_in(bytes: &[u8], format: TableFormat) -> Result<Vec<PlotTable>> {
    let one = |table: skyglass_votable::TableData| -> Result<RecordBatch> {
        Ok(arrow_select::concat::concat_batches(&table.schema, &table.batches)?)
    };
    if format != TableFormat::Fits {
        let table = skyglass_votable::read_table(std::io::Cursor::new(bytes), format)?;
        return Ok(vec![PlotTable { label: "table".to_owned(), batch: one(table)? }]);
    }
    let mut tables = Vec::new();
    let mut first_error = None;
    for skyglass_votable::fits::FitsTable { hdu, name, table } in skyglass_votable::fits::read_fits_tables(bytes)? {
        match table.map_err(anyhow::Error::from).and_then(one) {
            Ok(batch) => {
                let label = name.map_or_else(|| format!("HDU {hdu}"), |name| format!("HDU {hdu} {name}"));
                tables.push(PlotTable { label, batch });
            }
            Err(error) => {
                first_error.get_or_insert(error.context(format!("cannot read HDU {hdu}")));
            }
        }
    }
    match (tables.is_empty(), first_error) {
        (true, Some(error)) => Err(error),
        (true, None) => bail!("the file holds no binary table"),
        _ => Ok(tables),
    }
}

/// The table worth plotting first: one with a time column, then the one with the most
/// numbers in its numeric and array columns.
pub fn preferred(tables: &[PlotTable]) -> usize {
    let score = |table: &PlotTable| {
        let batch = &table.batch;
        let timed = time_column(batch.schema_ref()).is_some();
        let numbers: usize = batch.columns().iter().filter_map(|column| numbers_in(column.as_ref())).sum();
        (timed, numbers)
    };
    (0..tables.len()).max_by_key(|&i| (score(&tables[i]), std::cmp::Reverse(i))).unwrap_or(0)
}

fn numbers_in(column: &dyn Array) -> Option<usize> {
    if column.data_type().is_numeric() {
        return Some(column.len());
    }
    let (values, _) = cells(column)?;
    Some(values.len())
}

/// The numeric columns `y` of `batch` (all but x when not given, up to eight) against `x`
/// (by name), else against its time column (by UCD or name), else against its first
/// numeric column. Array cells are split into rows first (see [`rows_from_arrays`]).
pub fn series_of(batch: &RecordBatch, x: Option<&str>, y: Option<&[String]>) -> Result<TableSeries> {
    let batch = rows_from_arrays(batch).unwrap_or_else(|| batch.clone());
    let schema = batch.schema_ref();
    let numeric: Vec<usize> = (0..batch.num_columns()).filter(|&i| schema.field(i).data_type().is_numeric()).collect();
    let Some(&first) = numeric.first() else { bail!("the table has no numeric columns to plot") };
    let chosen = x.and_then(|name| numeric.iter().copied().find(|&i| schema.field(i).name() == name));
    let detected = skyglass_votable::detect_time(schema).filter(|i| numeric.contains(i));
    let x_index = chosen.or(detected).unwrap_or(first);
    let x_values = skyglass_xmatch::to_float64(batch.column(x_index)).context("the x column is not numeric")?;
    let mut series = Vec::new();
    let wanted = |i: usize| y.is_none_or(|names| names.iter().any(|n| n == schema.field(i).name()));
    for &index in
        numeric.iter().filter(|&&i| i != x_index && wanted(i)).take(if y.is_some() { usize::MAX } else { MOST_SERIES })
    {
        let Some(values) = skyglass_xmatch::to_float64(batch.column(index)) else { continue };
        let mut points: Vec<(f64, f64)> = x_values
            .iter()
            .zip(values.iter())
            .filter_map(|(x, y)| Some((x?, y?)))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(PlotSeries {
            name: schema.field(index).name().clone(),
            x: points.iter().map(|p| p.0).collect(),
            y: points.iter().map(|p| p.1).collect(),
        });
    }
    if series.is_empty() {
        bail!("the table has only one numeric column");
    }
    Ok(TableSeries {
        x_name: schema.field(x_index).name().clone(),
        x_unit: schema.field(x_index).metadata().get("unit").cloned(),
        numeric_columns: numeric.iter().map(|&i| schema.field(i).name().clone()).collect(),
        series,
    })
}

/// A table whose time column holds an array per row, as one row per time: every array
/// column with as many values per row as the time (or a whole number of times as many: one
/// column per channel, named `FLUX[0]`, `FLUX[1]`…) becomes a column of numbers. Its shape
/// (arraysize `2x42177`, or FITS TDIM) says whether channels or times vary fastest; without
/// one, channels do, as in a FITS cell of TDIM (channels, times). `None` when the time column
/// is not an array column.
pub fn rows_from_arrays(batch: &RecordBatch) -> Option<RecordBatch> {
    let schema = batch.schema_ref();
    let time = time_column(schema)?;
    let (times, time_cells) = cells(batch.column(time).as_ref())?;
    let mut fields = vec![scalar_field(schema.field(time), schema.field(time).name().clone())];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(gather(&times, &time_cells, &time_cells, |_, i| i))];
    for (index, field) in schema.fields().iter().enumerate() {
        if index == time {
            continue;
        }
        let Some((values, value_cells)) = cells(batch.column(index).as_ref()) else { continue };
        let Some(channels) = channels_per_time(&time_cells, &value_cells) else { continue };
        let times_fastest = field.metadata().get("arraysize").is_some_and(|shape| {
            let axes: Vec<&str> = shape.split('x').collect();
            channels > 1 && axes.len() == 2 && axes[1].trim() == channels.to_string()
        });
        for channel in 0..channels {
            let name = if channels == 1 { field.name().clone() } else { format!("{}[{channel}]", field.name()) };
            let column = gather(&values, &value_cells, &time_cells, |length, i| {
                if times_fastest { channel * length + i } else { i * channels + channel }
            });
            fields.push(scalar_field(field, name));
            columns.push(Arc::new(column));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).ok()
}

/// The time column, an array column of times included (by UCD or name, as for scalars).
fn time_column(schema: &Schema) -> Option<usize> {
    let items: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::FixedSizeList(item, _) | DataType::List(item) => {
                Field::new(field.name(), item.data_type().clone(), true).with_metadata(field.metadata().clone())
            }
            _ => field.as_ref().clone(),
        })
        .collect();
    skyglass_votable::detect_time(&Schema::new(items))
}

/// The values of an array column as numbers, with each row's cell as (first, length);
/// `None` for a column of scalars or of strings.
fn cells(column: &dyn Array) -> Option<(Float64Array, Vec<(usize, usize)>)> {
    if let Some(list) = column.as_fixed_size_list_opt() {
        let length = usize::try_from(list.value_length()).ok()?;
        let values = skyglass_xmatch::to_float64(list.values().as_ref())?;
        let cells = (0..list.len())
            .map(|row| {
                if list.is_null(row) { (0, 0) } else { (usize::try_from(list.value_offset(row)).unwrap_or(0), length) }
            })
            .collect();
        return Some((values, cells));
    }
    let list = column.as_list_opt::<i32>()?;
    let values = skyglass_xmatch::to_float64(list.values().as_ref())?;
    let offsets = list.value_offsets();
    let cells = offsets
        .windows(2)
        .enumerate()
        .map(|(row, ends)| {
            let (start, end) = (usize::try_from(ends[0]).unwrap_or(0), usize::try_from(ends[1]).unwrap_or(0));
            if list.is_null(row) { (0, 0) } else { (start, end.saturating_sub(start)) }
        })
        .collect();
    Some((values, cells))
}

/// How many values the column has per time, the same in every row with times.
fn channels_per_time(times: &[(usize, usize)], values: &[(usize, usize)]) -> Option<usize> {
    let mut channels = None;
    for (&(_, time_count), &(_, value_count)) in times.iter().zip(values) {
        if time_count == 0 {
            continue;
        }
        if value_count % time_count != 0 || value_count == 0 {
            return None;
        }
        let per_time = value_count / time_count;
        if *channels.get_or_insert(per_time) != per_time {
            return None;
        }
    }
    channels
}

/// One number per time: row by row, the i-th of the row's n times takes the value at
/// `at(n, i)` within the row's cell of `values`.
fn gather(
    values: &Float64Array,
    value_cells: &[(usize, usize)],
    time_cells: &[(usize, usize)],
    at: impl Fn(usize, usize) -> usize,
) -> Float64Array {
    let mut out = Vec::new();
    for (&(first, _), &(_, times)) in value_cells.iter().zip(time_cells) {
        for i in 0..times {
            let index = first + at(times, i);
            out.push((index < values.len() && !values.is_null(index)).then(|| values.value(index)));
        }
    }
    Float64Array::from(out)
}

fn scalar_field(field: &Field, name: String) -> Field {
    let mut metadata = field.metadata().clone();
    metadata.remove("arraysize");
    Field::new(name, DataType::Float64, true).with_metadata(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GOES-15 XRS: a day in one row of HDU 2 (TIME of 42177 seconds, FLUX of TDIM
    /// (2,42177)), split into 42177 rows of two channels, as astropy and sunpy read them
    /// (sunpy takes `FLUX[0][:, 0]` as the 1–8 Å channel, `[:, 1]` as 0.5–4 Å).
    #[test]
    fn goes_fluxes_split_into_rows_as_astropy_reads_them() {
        let path = skyglass_test_support::shared_file("timeseries/sunpy/go1520110607.fits");
        let tables = read_tables(&path).unwrap();
        let labels: Vec<&str> = tables.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["HDU 1 EDGES", "HDU 2 FLUXES", "HDU 3 STATUS"]);
        let chosen = preferred(&tables);
        assert_eq!(chosen, 1);
        let plotted = series_of(&tables[chosen].batch, None, None).unwrap();
        assert_eq!(plotted.x_name, "TIME");
        assert_eq!(plotted.x_unit.as_deref(), Some("s"));
        let names: Vec<&str> = plotted.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["FLUX[0]", "FLUX[1]"]);

        let script = format!(
            "from astropy.io import fits\nimport numpy as np\n\
             row = fits.open({:?})[2].data[0]\n\
             t, f = row['TIME'], row['FLUX']\n\
             ok = [np.isfinite(f[:, c]) for c in (0, 1)]\n\
             print(len(t), *(int(o.sum()) for o in ok), *(repr(float(f[:, c][o].astype(float).sum())) for c, o in zip((0, 1), ok)), repr(float(t[-1])), repr(float(f[-1, 1])))",
            path.display().to_string()
        );
        let output =
            std::process::Command::new("python3").arg("-c").arg(script).output().expect("python3 with astropy");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let said = String::from_utf8_lossy(&output.stdout);
        let numbers: Vec<f64> = said.split_whitespace().map(|n| n.parse().unwrap()).collect();
        let [rows, finite_a, finite_b, sum_a, sum_b, last_time, last_b] = numbers[..] else { panic!("{said}") };
        assert_eq!(rows, 42177.0);
        let (a, b) = (&plotted.series[0], &plotted.series[1]);
        assert_eq!((a.x.len() as f64, b.x.len() as f64), (finite_a, finite_b));
        let sum = |s: &PlotSeries| s.y.iter().sum::<f64>();
        assert!((sum(a) - sum_a).abs() <= 1e-6 * sum_a.abs(), "{} vs {sum_a}", sum(a));
        assert!((sum(b) - sum_b).abs() <= 1e-6 * sum_b.abs(), "{} vs {sum_b}", sum(b));
        assert_eq!((*b.x.last().unwrap(), *b.y.last().unwrap()), (last_time, last_b));
        // The long-wavelength channel is the brighter one.
        assert!(sum(a) > sum(b));
    }

    #[test]
    fn the_columns_plotted_are_the_ones_asked_for() {
        let path = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
        let tables = read_tables(&path).unwrap();
        let all = series_of(&tables[0].batch, None, None).unwrap();
        assert_eq!(all.series.len(), MOST_SERIES, "the first eight by default");
        assert!(all.numeric_columns.len() > MOST_SERIES + 1);
        let chosen = ["CH_36".to_owned(), "Q_1".to_owned()];
        let two = series_of(&tables[0].batch, None, Some(&chosen)).unwrap();
        let names: Vec<&str> = two.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Q_1", "CH_36"], "in the table's order");
        assert_eq!(two.x_name, "SOD");
    }

    #[test]
    fn arrays_whose_length_fits_no_time_are_left_out() {
        use arrow_array::{FixedSizeListArray, Float64Array};
        let list = |values: Vec<f64>, size: i32| -> ArrayRef {
            let field = Arc::new(Field::new("item", DataType::Float64, true));
            Arc::new(FixedSizeListArray::new(field, size, Arc::new(Float64Array::from(values)), None))
        };
        let schema = Schema::new(vec![
            Field::new("time", DataType::new_fixed_size_list(DataType::Float64, 3, true), true),
            Field::new("rate", DataType::new_fixed_size_list(DataType::Float64, 3, true), true),
            Field::new("spectrum", DataType::new_fixed_size_list(DataType::Float64, 4, true), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![list(vec![1.0, 2.0, 3.0], 3), list(vec![10.0, 20.0, 30.0], 3), list(vec![0.0; 4], 4)],
        )
        .unwrap();
        let rows = rows_from_arrays(&batch).unwrap();
        assert_eq!(rows.num_rows(), 3);
        let names: Vec<&String> = rows.schema_ref().fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, ["time", "rate"]);
    }
}

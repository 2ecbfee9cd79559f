//! Tables larger than the memory a match may use: both cut into partitions of HEALPix cells
//! (order 5, about 1.8° wide; a partition is a run of cells in NESTED order, so a compact
//! patch of sky), written to disk as Arrow IPC beside the output, then matched one
//! partition at a time. A row of A lies in the partition of its cell; a row of B in every
//! partition its search circle reaches, so each pair is found exactly once, in the
//! partition of its row of A. Best matches, which may pick among several partitions, are
//! chosen over all the partitions' pairs at the end and their rows fetched in a second pass.

use super::{Progress, Summary, TableColumns, XmatchArgs, plan_motion};
use anyhow::{Context, Result, bail};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use skyglass_votable::{TableFormat, can_stream, stream_table};
use skyglass_xmatch::{Matches, Mode, Pair, Positions, Radius};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The HEALPix order partitions are made of: 12,288 cells.
const ORDER: u8 = 5;
const CELLS: u64 = 12 << (2 * ORDER);
/// Rows read and cut at a time.
const BATCH_ROWS: usize = 65_536;
/// Most partitions (each open as a file of A and one of B while cutting).
const MOST_PARTITIONS: usize = 1024;
/// Columns the partitions carry beside the table's own: the row in the whole table, the
/// position at the common epoch (degrees) and, with error columns, the radius (degrees).
const ROW: &str = "skyglass_row";
const RA: &str = "skyglass_ra";
const DEC: &str = "skyglass_dec";
const RADIUS: &str = "skyglass_radius";
/// Memory a table takes in Arrow per byte of its file, roughly, by format; a match needs
/// about three times its tables (positions, index, pairs).
const WORKING_FACTOR: f64 = 3.0;

/// How many partitions the tables need within `budget` bytes, or `None` to match in memory.
pub(super) fn partitions_needed(args: &XmatchArgs, budget: u64) -> Result<Option<usize>> {
    let mut estimate = 0.0;
    let mut streamable = true;
    for path in [&args.a, &args.b] {
        let format = crate::convert::resolve_format(None, path, "input")?;
        let bytes = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?.len() as f64;
        let expansion = match format {
            TableFormat::Parquet => 4.0,
            TableFormat::Csv | TableFormat::Tsv | TableFormat::Ecsv => 1.0,
            TableFormat::VoTable | TableFormat::VoTableBinary2 => 0.8,
            TableFormat::Fits => 1.2,
        };
        let compressed = if path.ends_with(".gz") { 5.0 } else { 1.0 };
        estimate += bytes * expansion * compressed * WORKING_FACTOR;
        streamable &= can_stream(Path::new(path), format);
    }
    if estimate <= budget as f64 {
        return Ok(None);
    }
    if !streamable {
        tracing::warn!(
            "the tables may not fit in the memory allowed, but FITS, ECSV and compressed files are read whole: \
             convert them to Parquet to match them in partitions"
        );
        return Ok(None);
    }
    let partitions = (2.0 * estimate / budget as f64).ceil() as usize;
    Ok(Some(partitions.clamp(2, MOST_PARTITIONS)))
}

/// The partitions' folder, removed however the match ends.
struct Workspace(PathBuf);

impl Drop for Workspace {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// One table cut into partition files.
struct Cut {
    /// The table's own columns, then ROW, RA, DEC (and RADIUS).
    schema: SchemaRef,
    own_columns: usize,
    files: Vec<Option<PathBuf>>,
    rows: usize,
    /// Rows with a usable position (and radius).
    positioned: usize,
    /// The largest radius of a row, degrees (per-row radii).
    widest: f64,
}

pub(super) fn run(
    args: &XmatchArgs,
    radius: Option<f64>,
    output_format: TableFormat,
    partitions: usize,
    progress: &Progress,
) -> Result<Summary> {
    if !matches!(output_format, TableFormat::Parquet | TableFormat::Csv | TableFormat::Tsv) {
        bail!(
            "tables this large are matched in partitions, whose pairs are written as they come: write Parquet, CSV or TSV"
        );
    }
    let open = |path: &str, role: &str| {
        let format = crate::convert::resolve_format(None, path, "input")?;
        stream_table(Path::new(path), format, BATCH_ROWS).with_context(|| format!("cannot read table {role}, {path}"))
    };
    let (stream_a, stream_b) = (open(&args.a, "A")?, open(&args.b, "B")?);
    let (schema_a, schema_b) = (stream_a.schema(), stream_b.schema());
    let mut columns_a = TableColumns::find(&schema_a, "A", &args.a, args)?;
    let mut columns_b = TableColumns::find(&schema_b, "B", &args.b, args)?;
    plan_motion(&mut columns_a, &schema_a, &mut columns_b, &schema_b, args)?;

    let folder = PathBuf::from(format!("{}.parts", args.output));
    std::fs::create_dir_all(&folder).with_context(|| format!("cannot make {}", folder.display()))?;
    let workspace = Workspace(folder);

    progress.stage(format!("cutting A into {partitions} partitions"));
    let a = cut(stream_a, &columns_a, radius, partitions, &workspace.0.join("a"), |ra, dec, _| {
        vec![partition_of(cdshealpix::nested::hash(ORDER, ra.to_radians(), dec.to_radians()), partitions)]
    })?;
    progress.stage(format!("cutting B into {partitions} partitions"));
    // A row of B goes wherever a row of A could be within reach of it.
    let reach_of_a = radius.unwrap_or(a.widest);
    let b = cut(stream_b, &columns_b, radius, partitions, &workspace.0.join("b"), |ra, dec, own_radius| {
        let reach = (own_radius + reach_of_a).to_radians() * (1.0 + 1e-9) + 1e-12;
        if reach >= 0.5 {
            return (0..partitions as u32).collect();
        }
        let cells = cdshealpix::nested::cone_coverage_approx(ORDER, ra.to_radians(), dec.to_radians(), reach);
        let mut reached: Vec<u32> = cells.flat_iter().map(|cell| partition_of(cell, partitions)).collect();
        reached.dedup();
        reached
    })?;

    let mode: Mode = args.mode.into();
    let chooses = matches!(mode, Mode::Best | Mode::BestForB);
    let target = Path::new(&args.output);
    let partial = target.with_extension("partial");
    let mut writer = Output { path: partial.clone(), format: output_format, writer: None };
    let mut found = 0;
    // Best matches: every partition's pairs by whole-table rows, and each row of A's partition.
    let mut pairs: Vec<Pair> = Vec::new();
    let mut partition_of_a: Vec<u32> = if chooses { vec![0; a.rows] } else { Vec::new() };
    progress.counting("matching", partitions as u64, "partitions");
    for partition in 0..partitions {
        let part_a = read_part(&a, partition)?;
        let part_b = read_part(&b, partition)?;
        let (rows_a, ra_a, dec_a, radii_a) = carried(&part_a)?;
        let (rows_b, ra_b, dec_b, radii_b) = carried(&part_b)?;
        let radius = match radius {
            Some(degrees) => Radius::Fixed(degrees),
            None => Radius::PerRow { a: radii_a.as_ref(), b: radii_b.as_ref() },
        };
        let local = skyglass_xmatch::crossmatch(
            Positions { ra: &ra_a, dec: &dec_a },
            Positions { ra: &ra_b, dec: &dec_b },
            radius,
            if chooses { Mode::All } else { mode },
        )?;
        if chooses {
            for &row in rows_a.values() {
                partition_of_a[row as usize] = partition as u32;
            }
            pairs.extend(
                local
                    .a
                    .iter()
                    .zip(&local.b)
                    .zip(&local.separation_arcsec)
                    .filter_map(|((a, b), s)| Some((rows_a.value(*a) as usize, rows_b.value((*b)?) as usize, (*s)?))),
            );
        } else {
            found += local.len();
            let table = skyglass_xmatch::pair_table(&own(&part_a, &a)?, &own(&part_b, &b)?, &local, mode)?;
            writer.write(&table)?;
        }
        progress.bar.set_position(partition as u64 + 1);
    }

    if chooses {
        progress.stage("choosing the best pairs");
        let from_a = skyglass_xmatch::best_proposes_from_a(a.positioned, b.positioned);
        let chosen = skyglass_xmatch::choose_best(pairs, mode, from_a, a.rows, b.rows);
        found = chosen.len();
        let mut by_partition: Vec<Vec<Pair>> = vec![Vec::new(); partitions];
        for pair in chosen {
            by_partition[partition_of_a[pair.0] as usize].push(pair);
        }
        progress.counting("writing the pairs", partitions as u64, "partitions");
        for (partition, chosen) in by_partition.into_iter().enumerate() {
            if !chosen.is_empty() {
                let part_a = read_part(&a, partition)?;
                let part_b = read_part(&b, partition)?;
                let (rows_a, rows_b) = (row_numbers(&part_a)?, row_numbers(&part_b)?);
                // Rows are cut in order, so each partition's row numbers ascend.
                let local = |rows: &UInt64Array, row: usize| {
                    rows.values()
                        .binary_search(&(row as u64))
                        .map_err(|_| anyhow::anyhow!("row {row} lost from its partition"))
                };
                let mut matches = Matches::default();
                for (row_a, row_b, separation) in chosen {
                    matches.a.push(local(&rows_a, row_a)?);
                    matches.b.push(Some(local(&rows_b, row_b)?));
                    matches.separation_arcsec.push(Some(separation));
                }
                writer.write(&skyglass_xmatch::pair_table(&own(&part_a, &a)?, &own(&part_b, &b)?, &matches, mode)?)?;
            }
            progress.bar.set_position(partition as u64 + 1);
        }
    }
    // Nothing found anywhere still makes a table with the pair columns.
    if writer.writer.is_none() {
        let empty = |cut: &Cut| {
            RecordBatch::new_empty(Arc::new(
                cut.schema.project(&(0..cut.own_columns).collect::<Vec<_>>()).unwrap_or_else(|_| Schema::empty()),
            ))
        };
        writer.write(&skyglass_xmatch::pair_table(&empty(&a), &empty(&b), &Matches::default(), mode)?)?;
    }
    writer.finish()?;
    std::fs::rename(&partial, target).with_context(|| format!("cannot write {}", args.output))?;
    drop(workspace);
    let summary = Summary {
        found,
        rows_a: a.rows,
        rows_b: b.rows,
        skipped_a: a.rows - a.positioned,
        skipped_b: b.rows - b.positioned,
    };
    Ok(summary)
}

fn partition_of(cell: u64, partitions: usize) -> u32 {
    (cell * partitions as u64 / CELLS) as u32
}

/// Writes each batch's rows into the partitions `targets(ra, dec, radius)` names for them
/// (rows of A without a usable position into partition 0, where they match nothing; rows of
/// B without one nowhere).
fn cut(
    stream: skyglass_votable::TableStream,
    columns: &TableColumns,
    radius: Option<f64>,
    partitions: usize,
    stem: &Path,
    targets: impl Fn(f64, f64, f64) -> Vec<u32> + Sync,
) -> Result<Cut> {
    let own_schema = stream.schema();
    let mut fields: Vec<Field> = own_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let own_columns = fields.len();
    fields.push(Field::new(ROW, DataType::UInt64, false));
    fields.push(Field::new(RA, DataType::Float64, true));
    fields.push(Field::new(DEC, DataType::Float64, true));
    if radius.is_none() {
        fields.push(Field::new(RADIUS, DataType::Float64, true));
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, own_schema.metadata().clone()));
    let mut writers: Vec<Option<arrow_ipc::writer::FileWriter<BufWriter<File>>>> =
        (0..partitions).map(|_| None).collect();
    let mut files: Vec<Option<PathBuf>> = vec![None; partitions];
    let (mut rows, mut positioned, mut widest) = (0usize, 0usize, 0.0f64);
    let keep_unpositioned = columns.role == "A";
    for batch in stream {
        let batch = batch.with_context(|| format!("cannot read table {} ({})", columns.role, columns.path))?;
        let (ra, dec) = columns.positions(&batch)?;
        let radii = columns.radii(&batch)?;
        let count = batch.num_rows();
        for row in 0..count {
            if !dec.is_null(row) && dec.value(row).abs() > 90.0 {
                bail!("row {} of table {} has declination {}°, outside ±90°", rows + row, columns.role, dec.value(row));
            }
        }
        let usable = |row: usize| -> Option<(f64, f64, f64)> {
            let own_radius = match (&radii, radius) {
                (Some(radii), _) => (!radii.is_null(row)).then(|| radii.value(row))?,
                (None, Some(_)) | (None, None) => 0.0,
            };
            let (r, d) = ((!ra.is_null(row)).then(|| ra.value(row))?, (!dec.is_null(row)).then(|| dec.value(row))?);
            (r.is_finite() && d.is_finite() && own_radius.is_finite() && own_radius >= 0.0)
                .then_some((r, d, own_radius))
        };
        let placed: Vec<(u32, u32)> = (0..count)
            .into_par_iter()
            .flat_map_iter(|row| {
                let places = match usable(row) {
                    Some((r, d, own_radius)) => targets(r.rem_euclid(360.0), d, own_radius),
                    None if keep_unpositioned => vec![0],
                    None => Vec::new(),
                };
                places.into_iter().map(move |p| (p, row as u32))
            })
            .collect();
        let usable_rows: Vec<usize> = (0..count).filter(|&row| usable(row).is_some()).collect();
        positioned += usable_rows.len();
        if let Some(radii) = &radii {
            widest = usable_rows.iter().map(|&row| radii.value(row)).fold(widest, f64::max);
        }
        let mut by_partition: Vec<Vec<u32>> = vec![Vec::new(); partitions];
        for (partition, row) in placed {
            by_partition[partition as usize].push(row);
        }
        let mut carried: Vec<ArrayRef> = batch.columns().to_vec();
        carried.push(Arc::new(UInt64Array::from_iter_values((rows..rows + count).map(|r| r as u64))));
        carried.push(Arc::new(ra));
        carried.push(Arc::new(dec));
        if radius.is_none() {
            carried.push(Arc::new(radii.unwrap_or_else(|| Float64Array::from(vec![0.0; count]))));
        }
        let whole = RecordBatch::try_new(schema.clone(), carried)?;
        for (partition, mut chosen) in by_partition.into_iter().enumerate() {
            if chosen.is_empty() {
                continue;
            }
            chosen.sort_unstable();
            let indices = arrow_array::UInt32Array::from(chosen);
            let columns: Vec<ArrayRef> = whole
                .columns()
                .iter()
                .map(|column| arrow_select::take::take(column, &indices, None))
                .collect::<Result<_, _>>()?;
            let part = RecordBatch::try_new(schema.clone(), columns)?;
            if writers[partition].is_none() {
                let path = stem.with_extension(format!("{partition}.arrow"));
                let file = File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
                writers[partition] =
                    Some(arrow_ipc::writer::FileWriter::try_new(BufWriter::with_capacity(1 << 16, file), &schema)?);
                files[partition] = Some(path);
            }
            if let Some(writer) = writers[partition].as_mut() {
                writer.write(&part)?;
            }
        }
        rows += count;
    }
    for writer in writers.iter_mut().flatten() {
        writer.finish()?;
    }
    Ok(Cut { schema, own_columns, files, rows, positioned, widest })
}

/// One partition of a table, in one batch (empty where no row fell).
fn read_part(cut: &Cut, partition: usize) -> Result<RecordBatch> {
    let Some(path) = &cut.files[partition] else { return Ok(RecordBatch::new_empty(cut.schema.clone())) };
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let reader = arrow_ipc::reader::FileReader::try_new(std::io::BufReader::with_capacity(1 << 20, file), None)?;
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>()?;
    Ok(arrow_select::concat::concat_batches(&cut.schema, &batches)?)
}

/// A partition's rows as the table has them (without the carried columns).
fn own(part: &RecordBatch, cut: &Cut) -> Result<RecordBatch> {
    Ok(part.project(&(0..cut.own_columns).collect::<Vec<_>>())?)
}

fn row_numbers(part: &RecordBatch) -> Result<UInt64Array> {
    let column = part.column_by_name(ROW).context("a partition lost its row numbers")?;
    column.as_any().downcast_ref::<UInt64Array>().cloned().context("a partition's row numbers are not integers")
}

/// The carried columns: row numbers, positions and radii.
fn carried(part: &RecordBatch) -> Result<(UInt64Array, Float64Array, Float64Array, Option<Float64Array>)> {
    let float = |name: &str| -> Result<Option<Float64Array>> {
        Ok(part.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned()))
    };
    let ra = float(RA)?.context("a partition lost its positions")?;
    let dec = float(DEC)?.context("a partition lost its positions")?;
    Ok((row_numbers(part)?, ra, dec, float(RADIUS)?))
}

/// The output, opened at the first batch written.
struct Output {
    path: PathBuf,
    format: TableFormat,
    writer: Option<crate::convert::BatchWriter>,
}

impl Output {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.writer.is_none() {
            let file = File::create(&self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
            self.writer = Some(crate::convert::BatchWriter::new(BufWriter::new(file), batch.schema(), self.format)?);
        }
        if let Some(writer) = self.writer.as_mut() {
            writer.write(batch)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.take() {
            writer.finish()?;
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // A match that failed leaves no partial output; a finished one was renamed already.
        if self.writer.is_some() {
            std::fs::remove_file(&self.path).ok();
        }
    }
}

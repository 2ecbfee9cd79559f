//! `skyglass xmatch A B`: the positional crossmatch of two table files, as STILTS tmatch2
//! does it, through core/xmatch: in memory, or (`parts.rs`) in HEALPix partitions on disk
//! when the tables are larger than the memory it may use.

mod parts;

use anyhow::{Context, Result, bail};
use arrow_array::{Float64Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use clap::{Args, ValueEnum};
use skyglass_adql::units::conversion_factor;
use skyglass_votable::{TableData, TableFormat, detect_position, read_table, write_table};
use skyglass_xmatch::{Mode, Positions, ProperMotions, Radius};
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct XmatchArgs {
    /// Table A: VOTable, CSV, TSV, FITS, Parquet or ECSV (`.gz` decompressed).
    pub a: String,
    /// Table B, in any of the same formats.
    pub b: String,
    /// How far apart matched rows may be: a number and a unit (`1arcsec`, `0.5"`, `2arcmin`,
    /// `300mas`, `0.001deg`); a bare number is arcseconds. Default 1arcsec.
    #[arg(long, conflicts_with_all = ["error_a", "error_b"])]
    pub radius: Option<String>,
    /// Per-row match radii instead: a column of A holding each row's positional error; a
    /// pair matches within the sum of its two rows' errors (the column's unit, else arcsec).
    #[arg(long, value_name = "COLUMN")]
    pub error_a: Option<String>,
    /// The column of B holding each row's positional error.
    #[arg(long, value_name = "COLUMN")]
    pub error_b: Option<String>,
    /// Which pairs to keep: all of them, the best one-to-one pairs, the best for each row of
    /// A or of B, or the rows of A without a match.
    #[arg(long, value_enum, default_value_t = ModeArg::Best)]
    pub mode: ModeArg,
    /// A's right ascension column, in degrees (default: found by UCD, then by name).
    #[arg(long, value_name = "COLUMN")]
    pub ra_a: Option<String>,
    /// A's declination column, in degrees.
    #[arg(long, value_name = "COLUMN")]
    pub dec_a: Option<String>,
    /// B's right ascension column, in degrees.
    #[arg(long, value_name = "COLUMN")]
    pub ra_b: Option<String>,
    /// B's declination column, in degrees.
    #[arg(long, value_name = "COLUMN")]
    pub dec_b: Option<String>,
    /// The epoch of A's positions as a Julian year (e.g. 1991.25); with --epoch-b, the
    /// positions of the table with proper motions are moved to the other's epoch first.
    #[arg(long, value_name = "YEAR", requires = "epoch_b")]
    pub epoch_a: Option<f64>,
    /// The epoch of B's positions as a Julian year (e.g. 2016.0).
    #[arg(long, value_name = "YEAR", requires = "epoch_a")]
    pub epoch_b: Option<f64>,
    /// A's proper-motion columns `PMRA,PMDEC` (μα cos δ and μδ; default: found by UCD or name).
    #[arg(long, value_name = "PMRA,PMDEC")]
    pub pm_a: Option<String>,
    /// B's proper-motion columns `PMRA,PMDEC`.
    #[arg(long, value_name = "PMRA,PMDEC")]
    pub pm_b: Option<String>,
    /// The output table; its format from its name unless --format says.
    #[arg(short, long)]
    pub output: String,
    /// The output format: votable, votable-binary2, csv, tsv, parquet, fits.
    #[arg(long)]
    pub format: Option<String>,
    /// The memory the match may use (e.g. `2GiB`, `500MB`; default: half of what is free).
    /// Larger tables are cut into HEALPix partitions on disk, beside the output, and
    /// matched one partition at a time (Parquet, CSV, TSV or VOTable in; Parquet, CSV or
    /// TSV out).
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    All,
    Best,
    BestA,
    BestB,
    UnmatchedA,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::All => Mode::All,
            ModeArg::Best => Mode::Best,
            ModeArg::BestA => Mode::BestForA,
            ModeArg::BestB => Mode::BestForB,
            ModeArg::UnmatchedA => Mode::UnmatchedA,
        }
    }
}

/// What the match reads of one table, found once from its schema: position columns, the
/// proper motions that move it to the other table's epoch, and its error column.
#[derive(Clone, Debug)]
struct TableColumns {
    /// "A" or "B", and the file as the user named it.
    role: &'static str,
    path: String,
    ra: usize,
    dec: usize,
    /// Proper-motion columns with their factors to mas/yr, and the years to move by.
    motion: Option<Motion>,
    /// The error column and its factor to degrees.
    error: Option<(usize, f64)>,
}

#[derive(Clone, Debug)]
struct Motion {
    pmra: (usize, f64),
    pmdec: (usize, f64),
    years: f64,
}

impl TableColumns {
    fn find(schema: &Schema, role: &'static str, path: &str, args: &XmatchArgs) -> Result<TableColumns> {
        let (ra, dec, error) = match role {
            "A" => (args.ra_a.as_deref(), args.dec_a.as_deref(), args.error_a.as_deref()),
            _ => (args.ra_b.as_deref(), args.dec_b.as_deref(), args.error_b.as_deref()),
        };
        let option_role = role.to_ascii_lowercase();
        let detected = detect_position(schema);
        let column_index = |given: Option<&str>, found: Option<usize>, option: &str, what: &str| -> Result<usize> {
            match given {
                Some(name) => column_named(schema, name).with_context(|| {
                    format!("table {role} ({path}) has no column {name:?}; its columns: {}", column_list(schema))
                }),
                None => found.with_context(|| {
                    // Positions written as text (often sexagesimal) are found by name but not used.
                    let named = column_named(schema, option)
                        .map(|i| schema.field(i))
                        .filter(|field| !field.data_type().is_numeric())
                        .map(|field| format!(" (column {:?} of table {role} holds text, not degrees)", field.name()))
                        .unwrap_or_default();
                    format!(
                        "cannot find the {what} column of table {role} ({path}){named}: give --{option}-{option_role}; \
                         its columns: {}",
                        column_list(schema)
                    )
                }),
            }
        };
        let ra_index = column_index(ra, detected.as_ref().map(|d| d.lon), "ra", "right ascension")?;
        let dec_index = column_index(dec, detected.as_ref().map(|d| d.lat), "dec", "declination")?;
        if let Some(found) = detected.filter(|_| ra.is_none() && dec.is_none())
            && found.kind != skyglass_votable::PositionKind::Equatorial
        {
            bail!(
                "table {role} ({path}) has {:?} positions, not equatorial ones: give its --ra-{option_role} and \
                 --dec-{option_role} columns",
                found.kind
            );
        }
        for index in [ra_index, dec_index] {
            numeric(schema, index, role, path)?;
        }
        let error = error.map(|name| numeric_column_in_unit(schema, name, "deg", "arcsec", role, path)).transpose()?;
        Ok(TableColumns { role, path: path.to_owned(), ra: ra_index, dec: dec_index, motion: None, error })
    }

    /// The positions of a batch of the table's rows, in degrees, at the common epoch.
    fn positions(&self, batch: &RecordBatch) -> Result<(Float64Array, Float64Array)> {
        let ra = self.float(batch, self.ra, 1.0)?;
        let dec = self.float(batch, self.dec, 1.0)?;
        let Some(motion) = &self.motion else { return Ok((ra, dec)) };
        let pmra = self.float(batch, motion.pmra.0, motion.pmra.1)?;
        let pmdec = self.float(batch, motion.pmdec.0, motion.pmdec.1)?;
        Ok(skyglass_xmatch::propagate(
            Positions { ra: &ra, dec: &dec },
            ProperMotions { pmra: &pmra, pmdec: &pmdec },
            motion.years,
        ))
    }

    /// Each row's error radius in degrees, when the table has an error column.
    fn radii(&self, batch: &RecordBatch) -> Result<Option<Float64Array>> {
        self.error.map(|(index, factor)| self.float(batch, index, factor)).transpose()
    }

    fn float(&self, batch: &RecordBatch, index: usize, factor: f64) -> Result<Float64Array> {
        let values = skyglass_xmatch::to_float64(batch.column(index))
            .with_context(|| format!("column {} of table {} ({}) is not numeric", index + 1, self.role, self.path))?;
        Ok(if factor == 1.0 { values } else { values.iter().map(|v| v.map(|v| v * factor)).collect() })
    }
}

/// Decides which table moves to the other's epoch: A when it has proper motions, else B.
fn plan_motion(
    a: &mut TableColumns,
    schema_a: &Schema,
    b: &mut TableColumns,
    schema_b: &Schema,
    args: &XmatchArgs,
) -> Result<()> {
    let (Some(epoch_a), Some(epoch_b)) = (args.epoch_a, args.epoch_b) else { return Ok(()) };
    if !(epoch_a.is_finite() && epoch_b.is_finite()) {
        bail!("the epochs must be years such as 2000.0 or 2016.0");
    }
    if epoch_a == epoch_b {
        return Ok(());
    }
    let motion = |schema: &Schema, given: Option<&str>, columns: &TableColumns, years: f64| -> Result<Option<Motion>> {
        let Some((pmra, pmdec)) = proper_motion_columns(schema, given)? else { return Ok(None) };
        let column = |name: &str| numeric_column_in_unit(schema, name, "mas/yr", "mas/yr", columns.role, &columns.path);
        Ok(Some(Motion { pmra: column(&pmra)?, pmdec: column(&pmdec)?, years }))
    };
    if let Some(moving) = motion(schema_a, args.pm_a.as_deref(), a, epoch_b - epoch_a)? {
        a.motion = Some(moving);
    } else if let Some(moving) = motion(schema_b, args.pm_b.as_deref(), b, epoch_a - epoch_b)? {
        b.motion = Some(moving);
    } else {
        bail!("neither table has proper-motion columns to move it between epochs: give --pm-a or --pm-b PMRA,PMDEC");
    }
    Ok(())
}

/// How pairs are counted and said at the end.
struct Summary {
    found: usize,
    rows_a: usize,
    rows_b: usize,
    skipped_a: usize,
    skipped_b: usize,
}

impl Summary {
    fn line(&self, args: &XmatchArgs, seconds: f64, partitions: Option<usize>) -> String {
        let what = if args.mode == ModeArg::UnmatchedA { "rows of A without a match" } else { "pairs" };
        let name = |path: &str| {
            Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
        };
        let mut line = format!(
            "{} {what} from {} rows of {} and {} of {} in {seconds:.2} s",
            self.found,
            self.rows_a,
            name(&args.a),
            self.rows_b,
            name(&args.b)
        );
        if let Some(partitions) = partitions {
            line.push_str(&format!(" ({partitions} partitions)"));
        }
        for (table, skipped) in [("A", self.skipped_a), ("B", self.skipped_b)] {
            if skipped > 0 {
                line.push_str(&format!(
                    "; {skipped} rows of {table} had no usable position or radius and were skipped"
                ));
            }
        }
        line
    }
}

pub fn run(args: &XmatchArgs) -> Result<()> {
    let output_format = match &args.format {
        Some(name) => TableFormat::from_name(name).with_context(|| format!("unknown output format {name:?}"))?,
        None => TableFormat::from_path(Path::new(&args.output))
            .with_context(|| format!("cannot tell the format of {:?} from its name: give --format", args.output))?,
    };
    let radius = match &args.radius {
        Some(text) => Some(parse_angle(text)?),
        None if args.error_a.is_none() && args.error_b.is_none() => Some(1.0 / 3600.0),
        None => None,
    };
    let budget = match &args.memory {
        Some(text) => parse_size(text)?,
        None => default_memory(),
    };
    let started = Instant::now();
    let progress = Progress::new();
    let partitions = parts::partitions_needed(args, budget)?;
    let (summary, partitions) = match partitions {
        Some(partitions) => (parts::run(args, radius, output_format, partitions, &progress)?, Some(partitions)),
        None => (in_memory(args, radius, output_format, &progress)?, None),
    };
    progress.bar.finish_and_clear();
    eprintln!("{}", summary.line(args, started.elapsed().as_secs_f64(), partitions));
    Ok(())
}

/// The terminal's progress line (hidden when standard error is not a terminal).
struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    fn new() -> Progress {
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let progress = Progress { bar };
        progress.stage("reading the tables");
        progress
    }

    fn stage(&self, message: impl Into<std::borrow::Cow<'static, str>>) {
        self.bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        self.bar.set_message(message);
    }

    fn counting(&self, message: impl Into<std::borrow::Cow<'static, str>>, total: u64, unit: &str) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_style(
            indicatif::ProgressStyle::with_template(&format!("{{msg}} {{bar:40}} {{pos}}/{{len}} {unit} {{eta}}"))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        self.bar.set_message(message);
    }
}

/// Both tables read whole, matched at once, the pair table written in one piece.
fn in_memory(
    args: &XmatchArgs,
    radius: Option<f64>,
    output_format: TableFormat,
    progress: &Progress,
) -> Result<Summary> {
    let reading = Instant::now();
    // Both files at once: reading and parsing are most of the time for small radii.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| read_whole(&args.a, "A"));
        let b = read_whole(&args.b, "B");
        (a.join().unwrap_or_else(|_| Err(anyhow::anyhow!("reading {} failed", args.a))), b)
    });
    let (a, b) = (a?, b?);
    tracing::debug!(seconds = reading.elapsed().as_secs_f64(), "read");
    let mut columns_a = TableColumns::find(a.schema_ref(), "A", &args.a, args)?;
    let mut columns_b = TableColumns::find(b.schema_ref(), "B", &args.b, args)?;
    plan_motion(&mut columns_a, a.schema_ref(), &mut columns_b, b.schema_ref(), args)?;
    let (ra_a, dec_a) = columns_a.positions(&a)?;
    let (ra_b, dec_b) = columns_b.positions(&b)?;
    let (radii_a, radii_b) = (columns_a.radii(&a)?, columns_b.radii(&b)?);
    let radius = match radius {
        Some(degrees) => Radius::Fixed(degrees),
        None => Radius::PerRow { a: radii_a.as_ref(), b: radii_b.as_ref() },
    };

    progress.counting("matching", a.num_rows() as u64, "rows of A");
    let matching = Instant::now();
    let matches = skyglass_xmatch::crossmatch_with_progress(
        Positions { ra: &ra_a, dec: &dec_a },
        Positions { ra: &ra_b, dec: &dec_b },
        radius,
        args.mode.into(),
        &|done| progress.bar.set_position(done as u64),
    )?;
    tracing::debug!(seconds = matching.elapsed().as_secs_f64(), pairs = matches.len(), "matched");

    progress.stage(format!("writing {}", args.output));
    let writing = Instant::now();
    let pairs = skyglass_xmatch::pair_table(&a, &b, &matches, args.mode.into())?;
    write_output(&args.output, pairs, output_format)?;
    tracing::debug!(seconds = writing.elapsed().as_secs_f64(), "written");
    Ok(Summary {
        found: matches.len(),
        rows_a: a.num_rows(),
        rows_b: b.num_rows(),
        skipped_a: matches.skipped_a,
        skipped_b: matches.skipped_b,
    })
}

fn read_whole(path: &str, role: &str) -> Result<RecordBatch> {
    let format = crate::convert::resolve_format(None, path, "input")?;
    let bytes = crate::convert::read_input(path)?;
    let table = read_table(Cursor::new(bytes), format).with_context(|| format!("cannot read table {role}, {path}"))?;
    Ok(arrow_select::concat::concat_batches(&table.schema, &table.batches)?)
}

/// An angle as users write it: a number and a unit; a bare number is arcseconds.
fn parse_angle(text: &str) -> Result<f64> {
    let text = text.trim();
    let split =
        text.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))).unwrap_or(text.len());
    // An exponent's `e` must not swallow a unit such as `deg`.
    let split = if text[..split].ends_with(['e', 'E']) { split - 1 } else { split };
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().with_context(|| format!("cannot read the angle {text:?}: expected e.g. 1arcsec"))?;
    let unit = match unit.trim() {
        "" | "\"" | "″" | "as" => "arcsec",
        "'" | "′" | "am" => "arcmin",
        "°" | "d" => "deg",
        other => other,
    };
    let factor = conversion_factor(unit, "deg").with_context(|| format!("cannot read the angle {text:?}"))?;
    let degrees = value * factor;
    if !(degrees.is_finite() && degrees >= 0.0) {
        bail!("the radius must be an angle of 0 or more, not {text:?}");
    }
    Ok(degrees)
}

/// A size as users write it: `2GiB`, `500MB`, `512M`, or bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().with_context(|| format!("cannot read the size {text:?}: expected e.g. 2GiB"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024.0_f64.powi(4),
        other => bail!("cannot read the size {text:?}: unknown unit {other:?}"),
    };
    let bytes = value * factor;
    if !(bytes.is_finite() && bytes >= 1.0) {
        bail!("the memory must be a size above 0, not {text:?}");
    }
    Ok(bytes as u64)
}

/// Half of the memory free now (Linux), or 4 GiB where that cannot be told.
fn default_memory() -> u64 {
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    });
    available.map_or(4 << 30, |kib| kib * 1024 / 2)
}

/// A column by name, exact first, then ignoring case.
fn column_named(schema: &Schema, name: &str) -> Option<usize> {
    let fields = schema.fields();
    fields
        .iter()
        .position(|f| f.name() == name)
        .or_else(|| fields.iter().position(|f| f.name().eq_ignore_ascii_case(name)))
}

fn column_list(schema: &Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

/// A column type as users say it.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".to_owned(),
        DataType::Boolean => "booleans".to_owned(),
        other => other.to_string(),
    }
}

fn numeric(schema: &Schema, index: usize, role: &str, path: &str) -> Result<()> {
    let field = schema.field(index);
    if !field.data_type().is_numeric() {
        bail!("column {:?} of table {role} ({path}) holds {}, not numbers", field.name(), type_name(field.data_type()));
    }
    Ok(())
}

/// A numeric column by name, with the factor from its unit (`assumed` when it has none)
/// to `unit`.
fn numeric_column_in_unit(
    schema: &Schema,
    name: &str,
    unit: &str,
    assumed: &str,
    role: &str,
    path: &str,
) -> Result<(usize, f64)> {
    let index = column_named(schema, name).with_context(|| {
        format!("table {role} ({path}) has no column {name:?}; its columns: {}", column_list(schema))
    })?;
    numeric(schema, index, role, path)?;
    let field = schema.field(index);
    let from = field.metadata().get("unit").map(String::as_str).filter(|u| !u.trim().is_empty()).unwrap_or(assumed);
    let factor = conversion_factor(from, unit).with_context(|| format!("column {name:?} of table {role} ({path})"))?;
    Ok((index, factor))
}

/// Proper-motion columns: given as `PMRA,PMDEC`, else by UCD (`pos.pm;pos.eq.ra`), else by
/// the names catalogues use.
fn proper_motion_columns(schema: &Schema, given: Option<&str>) -> Result<Option<(String, String)>> {
    if let Some(given) = given {
        let (pmra, pmdec) =
            given.split_once(',').with_context(|| format!("proper motions are given as PMRA,PMDEC, not {given:?}"))?;
        return Ok(Some((pmra.trim().to_owned(), pmdec.trim().to_owned())));
    }
    Ok(skyglass_votable::detect_proper_motion(schema)
        .map(|(pmra, pmdec)| (schema.field(pmra).name().clone(), schema.field(pmdec).name().clone())))
}

fn write_output(path: &str, pairs: RecordBatch, format: TableFormat) -> Result<()> {
    let table = TableData {
        schema: pairs.schema(),
        batches: vec![pairs],
        options: skyglass_votable::WriteOptions::default(),
        diagnostic_count: 0,
    };
    // Write next to the target, then rename: a failed run never leaves half a file.
    let target = Path::new(path);
    let partial = target.with_extension("partial");
    let written = (|| -> Result<()> {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&partial).with_context(|| format!("cannot write {}", partial.display()))?,
        );
        write_table(&mut out, &table, format, Vec::new()).with_context(|| format!("cannot write {path}"))?;
        std::io::Write::flush(&mut out)?;
        Ok(())
    })();
    if let Err(error) = written {
        std::fs::remove_file(&partial).ok();
        return Err(error);
    }
    std::fs::rename(&partial, target).with_context(|| format!("cannot write {path}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_read_as_users_write_them() {
        let arcsec = 1.0 / 3600.0;
        for (text, degrees) in [
            ("1arcsec", arcsec),
            ("1.5", 1.5 * arcsec),
            ("2\"", 2.0 * arcsec),
            ("2arcmin", 2.0 / 60.0),
            ("300mas", 0.3 * arcsec),
            ("0.001deg", 0.001),
            ("1e-3deg", 0.001),
            ("1e1", 10.0 * arcsec),
        ] {
            assert!((parse_angle(text).unwrap() - degrees).abs() < 1e-15, "{text}");
        }
        for bad in ["", "-1arcsec", "one arcsec", "5 parsec", "5m"] {
            assert!(parse_angle(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_read_as_users_write_them() {
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("1.5 kib").unwrap(), 1536);
        for bad in ["", "0", "lots", "5 parsecs"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}

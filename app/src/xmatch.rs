//! `skyglass xmatch A B`: the positional crossmatch of two table files, as STILTS tmatch2
//! does it, through core/xmatch.

use anyhow::{Context, Result, bail};
use arrow_array::{Float64Array, RecordBatch};
use clap::{Args, ValueEnum};
use skyglass_adql::units::conversion_factor;
use skyglass_votable::{TableData, TableFormat, detect_position, read_table, write_table};
use skyglass_xmatch::{Matches, Mode, Positions, ProperMotions, Radius};
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

/// One input table, all in one batch, with the columns the match reads.
struct Input {
    name: String,
    batch: RecordBatch,
    ra: Float64Array,
    dec: Float64Array,
}

pub fn run(args: &XmatchArgs) -> Result<()> {
    let output_format = match &args.format {
        Some(name) => TableFormat::from_name(name).with_context(|| format!("unknown output format {name:?}"))?,
        None => TableFormat::from_path(Path::new(&args.output))
            .with_context(|| format!("cannot tell the format of {:?} from its name: give --format", args.output))?,
    };
    let radius_degrees = match &args.radius {
        Some(text) => Some(parse_angle(text)?),
        None if args.error_a.is_none() && args.error_b.is_none() => Some(1.0 / 3600.0),
        None => None,
    };
    let started = Instant::now();
    let progress = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    progress.enable_steady_tick(std::time::Duration::from_millis(120));
    progress.set_message("reading the tables");
    // Both files at once: reading and parsing are most of the time for small radii.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| read_input(&args.a, "A", args.ra_a.as_deref(), args.dec_a.as_deref()));
        let b = read_input(&args.b, "B", args.ra_b.as_deref(), args.dec_b.as_deref());
        (a.join().unwrap_or_else(|_| Err(anyhow::anyhow!("reading {} failed", args.a))), b)
    });
    let (mut a, mut b) = (a?, b?);
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "read");
    if let (Some(epoch_a), Some(epoch_b)) = (args.epoch_a, args.epoch_b) {
        move_to_common_epoch(&mut a, &mut b, epoch_a, epoch_b, args)?;
    }
    let errors_a = args.error_a.as_deref().map(|name| error_radii(&a, name)).transpose()?;
    let errors_b = args.error_b.as_deref().map(|name| error_radii(&b, name)).transpose()?;
    let radius = match radius_degrees {
        Some(degrees) => Radius::Fixed(degrees),
        None => Radius::PerRow { a: errors_a.as_ref(), b: errors_b.as_ref() },
    };

    let rows_a = a.ra.len();
    progress.set_length(rows_a as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} rows of A {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.set_message("matching");
    let matching = Instant::now();
    let matches = skyglass_xmatch::crossmatch_with_progress(
        Positions { ra: &a.ra, dec: &a.dec },
        Positions { ra: &b.ra, dec: &b.dec },
        radius,
        args.mode.into(),
        &|done| progress.set_position(done as u64),
    )?;
    tracing::debug!(seconds = matching.elapsed().as_secs_f64(), pairs = matches.len(), "matched");

    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    progress.set_message(format!("writing {}", args.output));
    let writing = Instant::now();
    let pairs = skyglass_xmatch::pair_table(&a.batch, &b.batch, &matches)?;
    write_output(&args.output, pairs, output_format)?;
    tracing::debug!(seconds = writing.elapsed().as_secs_f64(), "written");
    progress.finish_and_clear();
    eprintln!("{}", summary(&matches, &a, &b, args.mode, started.elapsed().as_secs_f64()));
    Ok(())
}

fn summary(matches: &Matches, a: &Input, b: &Input, mode: ModeArg, seconds: f64) -> String {
    let what = if mode == ModeArg::UnmatchedA { "rows of A without a match" } else { "pairs" };
    let mut line = format!(
        "{} {what} from {} rows of {} and {} of {} in {seconds:.2} s",
        matches.len(),
        a.ra.len(),
        a.name,
        b.ra.len(),
        b.name
    );
    for (table, skipped) in [("A", matches.skipped_a), ("B", matches.skipped_b)] {
        if skipped > 0 {
            line.push_str(&format!("; {skipped} rows of {table} had no usable position or radius and were skipped"));
        }
    }
    line
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

fn read_input(path: &str, role: &str, ra: Option<&str>, dec: Option<&str>) -> Result<Input> {
    let format = crate::convert::resolve_format(None, path, "input")?;
    let bytes = crate::convert::read_input(path)?;
    let table = read_table(Cursor::new(bytes), format).with_context(|| format!("cannot read table {role}, {path}"))?;
    let batch = arrow_select::concat::concat_batches(&table.schema, &table.batches)?;
    let detected = detect_position(&table.schema);
    let column_index = |given: Option<&str>, found: Option<usize>, what: &str| -> Result<usize> {
        match given {
            Some(name) => column_named(&batch, name).with_context(|| {
                format!("table {role} ({path}) has no column {name:?}; its columns: {}", column_list(&batch))
            }),
            None => found.with_context(|| {
                let option = if what == "right ascension" { "ra" } else { "dec" };
                // Positions written as text (often sexagesimal) are found by name but not used.
                let named = column_named(&batch, option)
                    .map(|i| batch.schema_ref().field(i).clone())
                    .filter(|field| !field.data_type().is_numeric())
                    .map(|field| format!(" (column {:?} of table {role} holds text, not degrees)", field.name()))
                    .unwrap_or_default();
                format!(
                    "cannot find the {what} column of table {role} ({path}){named}: give --{option}-{}; its columns: {}",
                    role.to_ascii_lowercase(),
                    column_list(&batch)
                )
            }),
        }
    };
    let ra_index = column_index(ra, detected.as_ref().map(|d| d.lon), "right ascension")?;
    let dec_index = column_index(dec, detected.as_ref().map(|d| d.lat), "declination")?;
    if let Some(found) = detected.filter(|_| ra.is_none() && dec.is_none())
        && found.kind != skyglass_votable::PositionKind::Equatorial
    {
        bail!(
            "table {role} ({path}) has {:?} positions, not equatorial ones: give its --ra-{r} and --dec-{r} columns",
            found.kind,
            r = role.to_ascii_lowercase()
        );
    }
    let numbers = |index: usize| -> Result<Float64Array> {
        let field = batch.schema_ref().field(index).clone();
        skyglass_xmatch::to_float64(batch.column(index)).with_context(|| {
            format!(
                "column {:?} of table {role} ({path}) holds {}, not numbers",
                field.name(),
                type_name(field.data_type())
            )
        })
    };
    let name = Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(Input { name, ra: numbers(ra_index)?, dec: numbers(dec_index)?, batch })
}

/// A column type as users say it.
fn type_name(data_type: &arrow_schema::DataType) -> String {
    use arrow_schema::DataType;
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "text".to_owned(),
        DataType::Boolean => "booleans".to_owned(),
        other => other.to_string(),
    }
}

fn column_named(batch: &RecordBatch, name: &str) -> Option<usize> {
    let fields = batch.schema_ref().fields().clone();
    fields
        .iter()
        .position(|f| f.name() == name)
        .or_else(|| fields.iter().position(|f| f.name().eq_ignore_ascii_case(name)))
}

fn column_list(batch: &RecordBatch) -> String {
    batch.schema_ref().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}

/// A numeric column converted from its unit (arcseconds when it has none) to `unit`.
fn column_in_unit(input: &Input, name: &str, unit: &str, assumed: &str) -> Result<Float64Array> {
    let index = column_named(&input.batch, name).with_context(|| {
        format!("{} has no column {name:?}; its columns: {}", input.name, column_list(&input.batch))
    })?;
    let field = input.batch.schema_ref().field(index).clone();
    let values = skyglass_xmatch::to_float64(input.batch.column(index)).with_context(|| {
        format!("column {name:?} of {} holds {}, not numbers", input.name, type_name(field.data_type()))
    })?;
    let from = field.metadata().get("unit").map(String::as_str).filter(|u| !u.trim().is_empty()).unwrap_or(assumed);
    let factor = conversion_factor(from, unit).with_context(|| format!("column {name:?} of {}", input.name))?;
    Ok(values.iter().map(|v| v.map(|v| v * factor)).collect())
}

fn error_radii(input: &Input, name: &str) -> Result<Float64Array> {
    column_in_unit(input, name, "deg", "arcsec")
}

/// Proper-motion columns: given as `PMRA,PMDEC`, else by UCD (`pos.pm;pos.eq.ra`), else by
/// the names catalogues use.
fn proper_motion_columns(input: &Input, given: Option<&str>) -> Result<Option<(String, String)>> {
    if let Some(given) = given {
        let (pmra, pmdec) =
            given.split_once(',').with_context(|| format!("proper motions are given as PMRA,PMDEC, not {given:?}"))?;
        return Ok(Some((pmra.trim().to_owned(), pmdec.trim().to_owned())));
    }
    let fields = input.batch.schema_ref().fields().clone();
    let by_ucd = |word: &str| {
        fields
            .iter()
            .find(|f| {
                f.metadata().get("ucd").is_some_and(|u| u.to_ascii_lowercase().starts_with(&format!("pos.pm;{word}")))
            })
            .map(|f| f.name().clone())
    };
    let by_name = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| fields.iter().find(|f| f.name().eq_ignore_ascii_case(name)).map(|f| f.name().clone()))
    };
    let pmra = by_ucd("pos.eq.ra").or_else(|| by_name(&["pmra", "pm_ra", "pmra_cosdec", "pmrac"]));
    let pmdec = by_ucd("pos.eq.dec").or_else(|| by_name(&["pmdec", "pmde", "pm_dec", "pmdecl"]));
    Ok(pmra.zip(pmdec))
}

/// Moves the positions of the table that has proper motions (A first) to the other's epoch.
fn move_to_common_epoch(a: &mut Input, b: &mut Input, epoch_a: f64, epoch_b: f64, args: &XmatchArgs) -> Result<()> {
    if !(epoch_a.is_finite() && epoch_b.is_finite()) {
        bail!("the epochs must be years such as 2000.0 or 2016.0");
    }
    if epoch_a == epoch_b {
        return Ok(());
    }
    let (moving, years) = if let Some(columns) = proper_motion_columns(a, args.pm_a.as_deref())? {
        ((a, columns), epoch_b - epoch_a)
    } else if let Some(columns) = proper_motion_columns(b, args.pm_b.as_deref())? {
        ((b, columns), epoch_a - epoch_b)
    } else {
        bail!("neither table has proper-motion columns to move it between epochs: give --pm-a or --pm-b PMRA,PMDEC");
    };
    let (input, (pmra_name, pmdec_name)) = moving;
    let pmra = column_in_unit(input, &pmra_name, "mas/yr", "mas/yr")?;
    let pmdec = column_in_unit(input, &pmdec_name, "mas/yr", "mas/yr")?;
    let (ra, dec) = skyglass_xmatch::propagate(
        Positions { ra: &input.ra, dec: &input.dec },
        ProperMotions { pmra: &pmra, pmdec: &pmdec },
        years,
    );
    tracing::debug!(table = input.name, years, "moved along proper motions");
    input.ra = ra;
    input.dec = dec;
    Ok(())
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
}

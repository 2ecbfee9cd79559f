//! `skyglass convert IN OUT`: a table from one format to another.

use anyhow::{Context, Result, bail};
use clap::Args;
use skyglass_votable::{TableFormat, read_table, write_table};
use std::io::{Cursor, Read, Write};
use std::path::Path;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The input table, or - for standard input. `.gz` files are decompressed.
    pub input: String,
    /// The output table, or - for standard output.
    pub output: String,
    /// The output format: votable, votable-binary2, csv, tsv, parquet, fits (default: from OUT's extension,
    /// votable for standard output).
    #[arg(long)]
    pub format: Option<String>,
    /// The input format, when its name does not tell (always for standard input).
    #[arg(long)]
    pub input_format: Option<String>,
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    let input_format = resolve_format(args.input_format.as_deref(), &args.input, "input")?;
    let output_format = match (&args.format, args.output.as_str()) {
        (Some(name), _) => parse_format(name)?,
        (None, "-") => TableFormat::VoTable,
        (None, path) => TableFormat::from_path(Path::new(path))
            .with_context(|| format!("cannot tell the format of {path:?} from its name: give --format"))?,
    };
    // A VOTable file into CSV, TSV or Parquet streams batch by batch: memory stays bounded
    // however large the file is.
    let streamable = matches!(output_format, TableFormat::Csv | TableFormat::Tsv | TableFormat::Parquet);
    if input_format == TableFormat::VoTable
        && streamable
        && args.input != "-"
        && args.output != "-"
        && !args.input.ends_with(".gz")
    {
        return stream_votable(args, output_format);
    }
    let bytes = read_input(&args.input)?;
    let table = read_table(Cursor::new(bytes), input_format).with_context(|| format!("cannot read {}", args.input))?;
    let rows: usize = table.batches.iter().map(|b| b.num_rows()).sum();
    if table.diagnostic_count > 0 {
        tracing::warn!("{} cells could not be read and were taken as null", table.diagnostic_count);
    }
    write_output(&table, output_format, &args.output)?;
    tracing::info!(rows, columns = table.schema.fields().len(), "converted");
    Ok(())
}

/// VOTable to CSV/TSV/Parquet, one batch at a time, with a progress bar on a terminal.
fn stream_votable(args: &ConvertArgs, output_format: TableFormat) -> Result<()> {
    let target = Path::new(&args.output);
    let partial = target.with_extension("partial");
    let result = stream_votable_to(args, output_format, &partial);
    if result.is_err() {
        std::fs::remove_file(&partial).ok();
    }
    let rows = result?;
    std::fs::rename(&partial, target).with_context(|| format!("cannot write {}", target.display()))?;
    tracing::info!(rows, "converted");
    Ok(())
}

fn stream_votable_to(args: &ConvertArgs, output_format: TableFormat, partial: &Path) -> Result<usize> {
    use skyglass_votable::{Event, VoTableReader};
    let file = std::fs::File::open(&args.input).with_context(|| format!("cannot read {}", args.input))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut reader = VoTableReader::new(std::io::BufReader::with_capacity(1 << 20, progress.wrap_read(file)));
    let mut writer: Option<BatchWriter> = None;
    let mut rows = 0;
    while let Some(event) = reader.next_event().with_context(|| format!("cannot read {}", args.input))? {
        match event {
            Event::TableStart { table, schema } if table.index == 0 => {
                let output =
                    std::fs::File::create(partial).with_context(|| format!("cannot write {}", partial.display()))?;
                writer = Some(BatchWriter::new(std::io::BufWriter::new(output), schema, output_format)?);
            }
            Event::Batch { table: 0, batch } => {
                rows += batch.num_rows();
                if let Some(writer) = writer.as_mut() {
                    writer.write(&batch)?;
                }
            }
            Event::TableEnd { table: 0 } => break,
            _ => {}
        }
    }
    progress.finish_and_clear();
    match writer {
        Some(writer) => writer.finish()?,
        None => bail!("{} holds no TABLE", args.input),
    }
    Ok(rows)
}

/// Writes a table whole to `output` (or standard output for `-`): next to the target,
/// then renamed, so a failed run never leaves half a file.
pub(crate) fn write_output(table: &skyglass_votable::TableData, format: TableFormat, output: &str) -> Result<()> {
    let mut buffer = Vec::new();
    write_table(&mut buffer, table, format, Vec::new()).with_context(|| format!("cannot write {output}"))?;
    if output == "-" {
        std::io::stdout().lock().write_all(&buffer)?;
    } else {
        let target = Path::new(output);
        let partial = target.with_extension("partial");
        std::fs::write(&partial, &buffer).with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, target).with_context(|| format!("cannot write {}", target.display()))?;
    }
    Ok(())
}

/// CSV or Parquet written a batch at a time.
pub(crate) enum BatchWriter {
    Csv(arrow_csv::Writer<std::io::BufWriter<std::fs::File>>),
    Parquet(parquet::arrow::ArrowWriter<std::io::BufWriter<std::fs::File>>),
}

impl BatchWriter {
    pub(crate) fn new(
        out: std::io::BufWriter<std::fs::File>,
        schema: skyglass_votable::ArrowSchemaRef,
        format: TableFormat,
    ) -> Result<Self> {
        Ok(match format {
            TableFormat::Parquet => {
                let properties = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::default()))
                    .build();
                BatchWriter::Parquet(parquet::arrow::ArrowWriter::try_new(out, schema, Some(properties))?)
            }
            _ => {
                let delimiter = if format == TableFormat::Tsv { b'\t' } else { b',' };
                BatchWriter::Csv(arrow_csv::WriterBuilder::new().with_header(true).with_delimiter(delimiter).build(out))
            }
        })
    }

    pub(crate) fn write(&mut self, batch: &skyglass_votable::ArrowRecordBatch) -> Result<()> {
        match self {
            BatchWriter::Csv(writer) => writer.write(batch)?,
            BatchWriter::Parquet(writer) => writer.write(batch)?,
        }
        Ok(())
    }

    /// Flushes everything to the file (Parquet's footer included).
    pub(crate) fn finish(self) -> Result<()> {
        let mut out = match self {
            BatchWriter::Csv(writer) => writer.into_inner(),
            BatchWriter::Parquet(writer) => writer.into_inner()?,
        };
        std::io::Write::flush(&mut out)?;
        Ok(())
    }
}

pub(crate) fn resolve_format(explicit: Option<&str>, path: &str, role: &str) -> Result<TableFormat> {
    match (explicit, path) {
        (Some(name), _) => parse_format(name),
        (None, "-") => bail!("give --input-format for a table on standard input"),
        (None, path) => TableFormat::from_path(Path::new(path)).with_context(|| {
            format!("cannot tell the format of the {role} {path:?} from its name: give --{role}-format")
        }),
    }
}

pub(crate) fn parse_format(name: &str) -> Result<TableFormat> {
    TableFormat::from_name(name).with_context(|| {
        format!(
            "unknown format {name:?}: expected votable, votable-binary2, csv, tsv, parquet, fits or ecsv (read only)"
        )
    })
}

pub(crate) fn read_input(path: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    }
    gunzip_if_gzipped(bytes, path)
}

/// The bytes decompressed when they are gzip (by their magic number), else as they are;
/// `what` names them in the error.
pub(crate) fn gunzip_if_gzipped(bytes: Vec<u8>, what: &str) -> Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut plain)
        .with_context(|| format!("cannot decompress {what}"))?;
    Ok(plain)
}

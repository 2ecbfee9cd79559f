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
    let bytes = read_input(&args.input)?;
    let table = read_table(Cursor::new(bytes), input_format).with_context(|| format!("cannot read {}", args.input))?;
    let rows: usize = table.batches.iter().map(|b| b.num_rows()).sum();
    if table.diagnostic_count > 0 {
        tracing::warn!("{} cells could not be read and were taken as null", table.diagnostic_count);
    }
    let mut buffer = Vec::new();
    write_table(&mut buffer, &table, output_format, Vec::new())
        .with_context(|| format!("cannot write {}", args.output))?;
    if args.output == "-" {
        std::io::stdout().lock().write_all(&buffer)?;
    } else {
        // Write next to the target, then rename: a failed run never leaves half a file.
        let target = Path::new(&args.output);
        let partial = target.with_extension("partial");
        std::fs::write(&partial, &buffer).with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, target).with_context(|| format!("cannot write {}", target.display()))?;
    }
    tracing::info!(rows, columns = table.schema.fields().len(), "converted");
    Ok(())
}

fn resolve_format(explicit: Option<&str>, path: &str, role: &str) -> Result<TableFormat> {
    match (explicit, path) {
        (Some(name), _) => parse_format(name),
        (None, "-") => bail!("give --input-format for a table on standard input"),
        (None, path) => TableFormat::from_path(Path::new(path)).with_context(|| {
            format!("cannot tell the format of the {role} {path:?} from its name: give --{role}-format")
        }),
    }
}

fn parse_format(name: &str) -> Result<TableFormat> {
    TableFormat::from_name(name).with_context(|| {
        format!("unknown format {name:?}: expected votable, votable-binary2, csv, tsv, parquet or fits")
    })
}

fn read_input(path: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut plain)
            .with_context(|| format!("cannot decompress {path}"))?;
        bytes = plain;
    }
    Ok(bytes)
}

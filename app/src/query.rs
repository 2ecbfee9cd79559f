//! `skyglass query`: an ADQL query to any TAP service, the result to a file (like STILTS
//! tapquery).

use anyhow::{Context, Result, bail};
use clap::Args;
use skyglass_tap::{Query, TapService, Upload};
use skyglass_votable::TableFormat;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The ADQL query.
    pub adql: String,
    /// The TAP service: its base URL, or a known name (gaia, esasky, xmm, hst, vizier,
    /// simbad, gavo, irsa, mast, cadc).
    #[arg(long)]
    pub service: String,
    /// Run as an asynchronous job (for long queries), waiting for it.
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// A local table to query as TAP_UPLOAD.NAME: NAME=FILE (repeatable).
    #[arg(long, value_name = "NAME=FILE")]
    pub upload: Vec<String>,
    /// The most rows wanted (the service may cap it lower).
    #[arg(long)]
    pub maxrec: Option<u64>,
    /// Where the result goes (format from the extension); standard output (CSV) without.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The longest an asynchronous job may take, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Log in as this user first (to read their own and shared tables): through the
    /// service's TAP+ login form (ESA's archives, Skyglass), else HTTP Basic. The password
    /// is asked for without echo.
    #[arg(long)]
    pub user: Option<String>,
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long, requires = "user")]
    pub password_stdin: bool,
}

pub fn run(args: &QueryArgs) -> Result<()> {
    let mut service = TapService::new(skyglass_tap::resolve_service(&args.service))?;
    if let Some(user) = &args.user {
        let password = crate::users::password(args.password_stdin, &format!("password for {user}: "))?;
        service.log_in(user, &password)?;
    }
    let uploads = args
        .upload
        .iter()
        .map(|item| {
            let Some((name, file)) = item.split_once('=') else { bail!("--upload takes NAME=FILE, not {item:?}") };
            Ok(Upload::from_file(name.trim(), Path::new(file.trim()))?)
        })
        .collect::<Result<Vec<_>>>()?;
    let format = match &args.output {
        Some(path) => TableFormat::from_path(path)
            .with_context(|| format!("cannot tell the format of {} from its name", path.display()))?,
        None => TableFormat::Csv,
    };
    let query = Query { adql: &args.adql, maxrec: args.maxrec, uploads: &uploads };
    let answer = if args.asynchronous {
        let job = service.submit(&query)?;
        eprintln!("job {}", job.url);
        let phase = job.wait(Duration::from_secs(args.timeout))?;
        let answer = job.result();
        if phase == "COMPLETED" {
            let _ = job.delete();
        }
        answer?
    } else {
        service.sync(&query)?
    };
    let rows: usize = answer.table.batches.iter().map(|b| b.num_rows()).sum();
    if answer.overflow {
        eprintln!("warning: the result was cut at {rows} rows (MAXREC or the service's limit)");
    }
    let output = args.output.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string());
    crate::convert::write_output(&answer.table, format, &output)?;
    if args.output.is_some() {
        eprintln!("{rows} rows to {output}");
    }
    Ok(())
}
